"""Client-readable sentences: why a trigger point is listed as a likely source to examine.

Every hypothesis carries one sentence a client could read, built from the atlas's plain region
names ("side of the neck", not ``neck-lateral``) and the side. The wording talks about where a
trigger point *commonly* or *sometimes* refers pain, never about a diagnosis.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def lower_first(name: str) -> str:
    """ "Upper trapezius" -> "upper trapezius", but keep acronyms such as "TMJ" intact."""
    if len(name) > 1 and name[0].isupper() and not name[1].isupper():
        return name[0].lower() + name[1:]
    return name


def join_words(words: Sequence[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def places(cells: Sequence[str], region_names: Mapping[str, str]) -> str:
    """ "the right temple and side of the neck and the crown of the head"."""
    groups: dict[str, list[str]] = {}
    for cell in cells:
        region, _, side = cell.partition(":")
        groups.setdefault(side, []).append(region_names.get(region, region))
    parts = []
    for side, names in groups.items():
        parts.append(f"the {side} {join_words(names)}" if side else f"the {join_words(names)}")
    return join_words(parts)


def intensities(cells: Sequence[str], intensity: Mapping[str, int]) -> str:
    values = sorted({intensity[c] for c in cells})
    if len(values) == 1:
        return f"{values[0]}/10"
    return f"{values[0]}/10 to {values[-1]}/10"


def why_sentence(
    *,
    muscle_name: str,
    side: str,
    essential_hits: Sequence[str],
    spillover_hits: Sequence[str],
    intensity: Mapping[str, int],
    region_names: Mapping[str, str],
    symptom_names: Sequence[str] = (),
    assessment_reason: str | None = None,
) -> str:
    where = f"the {side} {lower_first(muscle_name)}" if side in ("right", "left") else f"the {lower_first(muscle_name)}"
    if essential_hits:
        text = (
            f"A trigger point in {where} commonly refers pain to {places(essential_hits, region_names)}, "
            f"which you marked at {intensities(essential_hits, intensity)}"
        )
        if spillover_hits:
            text += f", and sometimes to {places(spillover_hits, region_names)} ({intensities(spillover_hits, intensity)})"
    else:
        text = (
            f"A trigger point in {where} sometimes refers pain to {places(spillover_hits, region_names)}, "
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
