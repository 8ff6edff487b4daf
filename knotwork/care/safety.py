"""Screening flags enforced at the treatment table. Pure Python (no Django).

A technique *involves* screening technique ids (``data/techniques.yaml``). Against a client's
open flags a planned application is:

- **blocked** when a refer-out flag is open (do not treat today), when a flag forbids a
  technique it involves, or when a local contraindication names the treated cell (a local
  flag's own ``forbids`` say what not to do *there*: the whole area is off limits here);
- **cautioned** when a flag cautions a technique it involves, or when a precaution names the
  treated cell. Each caution must be acknowledged before the application is logged.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from knotwork.atlas.bodymap import cell_places
from knotwork.care.library import Technique


class FlagLike(Protocol):
    pk: int | None
    flag_class: str
    title: str
    forbids: list[str]
    cautions: list[str]
    regions: list[str]


@dataclass(frozen=True)
class Concern:
    flag_id: int
    title: str
    reason: str


@dataclass(frozen=True)
class Verdict:
    blocked: tuple[Concern, ...]
    cautions: tuple[Concern, ...]

    @property
    def allowed(self) -> bool:
        return not self.blocked

    @property
    def caution_ids(self) -> list[int]:
        return sorted({c.flag_id for c in self.cautions})


def check_technique(technique: Technique, cells: Sequence[str], flags: Iterable[FlagLike], names: dict[str, str]) -> Verdict:
    """What the open ``flags`` say about ``technique`` applied to body ``cells``.

    ``names`` maps screening technique ids to their names, for the reasons shown to the therapist.
    """
    blocked: list[Concern] = []
    cautions: list[Concern] = []
    involved = set(technique.involves)
    where = set(cells)
    for f in flags:
        fid = int(f.pk or 0)
        if f.flag_class == "refer_out":
            blocked.append(Concern(fid, f.title, "Refer-out flag: do not treat until it is cleared."))
            continue
        if f.flag_class == "local":
            # A local contraindication concerns its own cells only; elsewhere the client is treated as usual.
            if area := where & set(f.regions):
                blocked.append(Concern(fid, f.title, f"Local contraindication: do not treat {cell_places(area)}."))
            continue
        if hit := sorted(involved & set(f.forbids)):
            blocked.append(Concern(fid, f.title, f"This flag forbids {_names(hit, names)}, which {technique.name.lower()} involves."))
        if hit := sorted(involved & set(f.cautions)):
            cautions.append(Concern(fid, f.title, f"Use {_names(hit, names)} with care."))
        if f.flag_class == "precaution" and where & set(f.regions) and involved:
            cautions.append(Concern(fid, f.title, "The treated area is one this precaution names."))
    return Verdict(blocked=tuple(blocked), cautions=tuple(cautions))


def _names(ids: list[str], names: dict[str, str]) -> str:
    return ", ".join(names.get(i, i).lower() for i in ids)
