"""The ranking formula. docs/engine.md explains it with a worked example; keep the two in step.

For one trigger point on one side (a *hypothesis*) and one drawing:

- ``coverage`` = (intensity of marked cells in its essential zone
  + SPILLOVER_WEIGHT x intensity of marked cells in its spillover zone) / total marked intensity.
  Rewards explaining the painted area, weighted by how much it hurts, and essential above
  spillover because nearly everyone with the trigger point feels the essential zone and only
  some feel the spillover.
- ``fit`` = (essential cells marked + SILENT_SPILLOVER_WEIGHT x spillover cells marked)
  / (essential cells + SILENT_SPILLOVER_WEIGHT x spillover cells).
  The share of the pattern the drawing actually shows: a pattern that predicts pain in many
  unmarked places fits worse. An unmarked spillover cell costs little because spillover is
  often absent.
- ``evidence`` = 1 + SYMPTOM_WEIGHT x (reported symptoms the trigger point is known for, at most
  MAX_SYMPTOMS) + ASSESSMENT_WEIGHT if the assessment implicated the muscle.
- ``score`` = 100 x coverage x fit ** FIT_EXPONENT x evidence.

Without extra evidence the score runs from 0 to 100 (a trigger point whose essential zone is
exactly the drawing scores 100 when it has no spillover). It is a relative score for ordering
likely sources to examine, not a probability. Ties are broken by the muscle's evidence level,
then by muscle id, trigger-point id and side, so the order never depends on dict order or on
the order of the data files.
"""

from __future__ import annotations

SPILLOVER_WEIGHT = 0.5
SILENT_SPILLOVER_WEIGHT = 0.1
FIT_EXPONENT = 0.5
SYMPTOM_WEIGHT = 0.1
MAX_SYMPTOMS = 2
ASSESSMENT_WEIGHT = 0.25

EVIDENCE_ORDER: dict[str, int] = {"studied": 0, "manual": 1, "limited": 2}
"""Tie-break only: with equal scores, better-supported patterns come first."""


def pattern_size(n_essential: int, n_spillover: int) -> float:
    """The denominator of ``fit``: how much pain the pattern predicts, in cell units."""
    return n_essential + SILENT_SPILLOVER_WEIGHT * n_spillover


def score(
    *,
    essential_intensity: int,
    spillover_intensity: int,
    essential_cells: int,
    spillover_cells: int,
    total_intensity: int,
    size: float,
    symptom_matches: int = 0,
    implicated: bool = False,
) -> float:
    """Score one hypothesis; arguments are the hits of one drawing on one pattern."""
    if total_intensity <= 0 or size <= 0:
        return 0.0
    coverage = (essential_intensity + SPILLOVER_WEIGHT * spillover_intensity) / total_intensity
    fit = (essential_cells + SILENT_SPILLOVER_WEIGHT * spillover_cells) / size
    evidence = 1.0 + SYMPTOM_WEIGHT * min(symptom_matches, MAX_SYMPTOMS) + (ASSESSMENT_WEIGHT if implicated else 0.0)
    return float(100.0 * coverage * fit**FIT_EXPONENT * evidence)
