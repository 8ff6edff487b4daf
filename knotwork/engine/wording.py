"""Client-readable sentences: why a trigger point is listed as a likely source to examine.

Every hypothesis carries one sentence a client could read, built from the atlas's plain region
names ("side of the neck", not ``neck-lateral``) and the side. The wording talks about where a
trigger point *commonly* or *sometimes* refers pain, never about a diagnosis.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from functools import cache


def lower_first(name: str) -> str:
    """ "Upper trapezius" -> "upper trapezius", but keep acronyms such as "TMJ" intact."""
    if len(name) > 1 and name[0].isupper() and not name[1].isupper():
        return name[0].lower() + name[1:]
    return name


def join_words(words: Sequence[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def muscle_on_side(muscle_name: str, side: str) -> str:
    """A muscle with its side in running text: "right upper trapezius", "upper trapezius on both sides"."""
    name = lower_first(muscle_name)
    if side in ("right", "left"):
        return f"{side} {name}"
    return f"{name} on both sides" if side == "both" else name


def cell_words(cells: Iterable[str], region_names: Mapping[str, str]) -> dict[str, tuple[str, str]]:
    """Cell -> (side, plain region name), built once per atlas for :func:`places`."""
    out: dict[str, tuple[str, str]] = {}
    for cell in cells:
        region, _, side = cell.partition(":")
        out[cell] = (side, region_names.get(region, region))
    return out


def places(cells: Sequence[str], words: Mapping[str, tuple[str, str]]) -> str:
    """ "the right temple and side of the neck and the crown of the head"."""
    if len(cells) == 1:  # the commonest zone in a small drawing
        side, name = words[cells[0]]
        return f"the {side} {name}" if side else f"the {name}"
    groups: dict[str, list[str]] = {}
    for cell in cells:
        side, name = words[cell]
        if side in groups:
            groups[side].append(name)
        else:
            groups[side] = [name]
    parts = []
    for side, names in groups.items():
        named = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        parts.append(f"the {side} {named}" if side else f"the {named}")
    return join_words(parts)


def intensities(cells: Sequence[str], intensity: Mapping[str, int]) -> str:
    return intensity_range([intensity[c] for c in cells])


def _range_text(low: int, high: int) -> str:
    return f"{low}/10" if low == high else f"{low}/10 to {high}/10"


_RANGES: tuple[tuple[str, ...], ...] = tuple(tuple(_range_text(lo, hi) for hi in range(11)) for lo in range(11))
"""Every range of valid intensities, worked out once: a shown row's zone asks for one of them."""


def intensity_range(values: Sequence[int]) -> str:
    """ "6/10", or "3/10 to 7/10"."""
    low, high = (values[0], values[0]) if len(values) == 1 else (min(values), max(values))
    if 0 <= low <= high <= 10:
        return _RANGES[low][high]
    return _range_text(low, high)


class PlaceWords:
    """:func:`places` for one atlas's cells, remembered: drawings of one body area keep naming the
    same few groups of cells. The memory is emptied when it grows past ``limit`` entries."""

    def __init__(self, words: Mapping[str, tuple[str, str]], limit: int = 20_000) -> None:
        self.words = words
        self.limit = limit
        self.memo: dict[tuple[str, ...], str] = {}

    def places(self, cells: tuple[str, ...]) -> str:
        text = self.memo.get(cells)
        if text is None:
            if len(self.memo) >= self.limit:
                self.memo.clear()
            text = self.memo[cells] = places(cells, self.words)
        return text


@cache
def _subject(muscle_name: str, side: str, several: bool) -> tuple[str, str]:
    """The sentence's subject and verb, the same for every drawing: worked out once per muscle and side."""
    where = "the " + muscle_on_side(muscle_name, side)
    # Several trigger points of one muscle share the row when together they explain the drawing best.
    return (f"Trigger points in {where}", "refer") if several else (f"A trigger point in {where}", "refers")


def nerve_name(nerve: str) -> str:
    """An atlas entrapment's nerve as a sentence names it: "Median nerve (between …)" -> "median nerve"."""
    name = nerve.split(" (", 1)[0]
    return name[:1].lower() + name[1:]


ZoneWords = tuple[str, str]
"""A zone's marked cells in words and their intensities: ("the right temple", "6/10")."""


def zone_words(cells: Sequence[str], words: Mapping[str, tuple[str, str]], intensity: Mapping[str, int]) -> ZoneWords | None:
    """What a sentence says about one zone's marked cells (``None`` when there are none)."""
    return (places(cells, words), intensities(cells, intensity)) if cells else None


def why_sentence(
    *,
    muscle_name: str,
    side: str,
    essential_hits: Sequence[str],
    several: bool = False,
    spillover_hits: Sequence[str],
    intensity: Mapping[str, int],
    words: Mapping[str, tuple[str, str]],
    symptom_names: Sequence[str] = (),
    assessment_reason: str | None = None,
) -> str:
    return why_from_words(
        muscle_name,
        side,
        several,
        zone_words(essential_hits, words, intensity),
        zone_words(spillover_hits, words, intensity),
        symptom_names,
        assessment_reason,
    )


def why_from_words(
    muscle_name: str,
    side: str,
    several: bool,
    essential: ZoneWords | None,
    spillover: ZoneWords | None,
    symptom_names: Sequence[str] = (),
    assessment_reason: str | None = None,
    nerve: ZoneWords | None = None,
    nerves: Sequence[str] = (),
) -> str:
    """:func:`why_sentence` from zone words already worked out: rows of one drawing that explain
    the same marks share them. ``nerve`` is the numb, tingling or burning marks the row explains
    through the skin territory of ``nerves``, which the muscle can entrap."""
    subject, refers = _subject(muscle_name, side, several)
    if essential:
        text = f"{subject} commonly {refers} pain to {essential[0]}, which you marked at {essential[1]}"
        if spillover:
            text += f", and sometimes to {spillover[0]} ({spillover[1]})"
    elif spillover:
        text = f"{subject} sometimes {refers} pain to {spillover[0]}, which you marked at {spillover[1]}"
    else:
        assert nerve, "a row explains at least one mark"
        text = ""
    if nerve:
        squeeze = f"the muscle can press on the {join_words([nerve_name(n) for n in nerves])}"
        feel = f"which fits the numbness, tingling or burning you marked in {nerve[0]} ({nerve[1]})"
        if text:
            text += f"; when tight, {squeeze}, {feel}"
        else:
            text = f"{subject[0].upper()}{subject[1:]}: when tight, {squeeze}, {feel}"
    if not symptom_names and not assessment_reason:
        return text + "."
    extras = []
    if symptom_names:
        extras.append(f"it is also linked with the {join_words([lower_first(s) for s in symptom_names])} you reported")
    if assessment_reason:
        extras.append(f"your assessment also pointed to this muscle ({assessment_reason})")
    return text + "; " + ", and ".join(extras) + "."
