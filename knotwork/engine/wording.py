"""Client-readable sentences: why a trigger point is listed as a likely source to examine.

Every hypothesis carries one sentence a client could read, built from the atlas's plain region
names ("side of the neck", not ``neck-lateral``) and the side. The wording talks about where a
trigger point *commonly* or *sometimes* refers pain, never about a diagnosis.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence


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
    groups: dict[str, list[str]] = {}
    for cell in cells:
        side, name = words[cell]
        groups.setdefault(side, []).append(name)
    parts = []
    for side, names in groups.items():
        parts.append(f"the {side} {join_words(names)}" if side else f"the {join_words(names)}")
    return join_words(parts)


def intensities(cells: Sequence[str], intensity: Mapping[str, int]) -> str:
    values = [intensity[c] for c in cells]
    low, high = min(values), max(values)
    return f"{low}/10" if low == high else f"{low}/10 to {high}/10"


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
    where = "the " + muscle_on_side(muscle_name, side)
    # Several trigger points of one muscle share the row when together they explain the drawing best.
    subject, refers = (f"Trigger points in {where}", "refer") if several else (f"A trigger point in {where}", "refers")
    if essential_hits:
        text = (
            f"{subject} commonly {refers} pain to {places(essential_hits, words)}, "
            f"which you marked at {intensities(essential_hits, intensity)}"
        )
        if spillover_hits:
            text += f", and sometimes to {places(spillover_hits, words)} ({intensities(spillover_hits, intensity)})"
    else:
        text = (
            f"{subject} sometimes {refers} pain to {places(spillover_hits, words)}, "
            f"which you marked at {intensities(spillover_hits, intensity)}"
        )
    extras = []
    if symptom_names:
        extras.append(f"it is also linked with the {join_words([lower_first(s) for s in symptom_names])} you reported")
    if assessment_reason:
        extras.append(f"your assessment also pointed to this muscle ({assessment_reason})")
    if extras:
        text += "; " + ", and ".join(extras)
    return text + "."
