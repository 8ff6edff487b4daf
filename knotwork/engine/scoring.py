"""The ranking formula. docs/engine.md explains it with a worked example; keep the two in step.

A muscle's row (the patterns of its trigger points that together explain the drawing best; see
:mod:`knotwork.engine.core`) is scored by how closely the drawing matches the pain the row
predicts, as the cosine between two vectors over the body map's cells:

- the **drawing**: each marked cell's intensity (1-10), 0 elsewhere;
- the **prediction**: 1 on every cell of the row's essential zones (marked or not), and
  SPILLOVER_WEIGHT on each *marked* cell of its spillover zones. An unmarked spillover cell is
  left out: spillover is by definition often absent, so a large referral pattern is not
  penalised when the drawing covers its essential zone.

``cosine = (essential intensity + SPILLOVER_WEIGHT x spillover intensity)
/ (sqrt(essential cells + SPILLOVER_WEIGHT² x marked spillover cells) x sqrt(sum of squared
intensities))``.

So marks outside the row lower its score (they lengthen the drawing vector), essential cells
left unmarked lower it (they lengthen the prediction), and the drawing's shape matters as well
as its outline: pain drawn strongest in the essential zone and weaker in the spillover zone
fits better than the reverse.

``score`` = 100 x cosine x ``evidence``, where ``evidence`` = 1 + SYMPTOM_WEIGHT x supporting
symptoms the row's trigger points are known for (at most MAX_SYMPTOMS) + ASSESSMENT_WEIGHT if
the assessment implicated the muscle. Alarm symptoms (those of a red flag) never count.

Without extra evidence the score runs from 0 to 100 (a drawing that paints exactly a row's
essential zones at one intensity scores 100). It is a relative score for ordering likely
sources to examine, not a probability. Rows with equal scores are ordered by the muscle's
**prior** (how often active trigger points in it are found in people with such pain,
``rules/priors.yaml``), then its evidence level, then its id: the prior orders ties such as two
muscles with identical patterns, and is never a reason to rank a worse fit higher.
"""

from __future__ import annotations

from collections.abc import Iterable
from math import sqrt

SPILLOVER_WEIGHT = 0.5
SYMPTOM_WEIGHT = 0.1
MAX_SYMPTOMS = 2
ASSESSMENT_WEIGHT = 0.25

UNCOMMON_WEIGHT = 0.6
"""Multiplies the score of a referral pattern the source calls uncommon (``rules/priors.yaml``)."""

COVER_TARGET = 0.9
"""The cover stops once this share of the painted intensity is explained."""

WIDESPREAD_WPI = 7
"""WPI at which the answer leads with widespread pain (the ACR 2016 WPI threshold)."""
WIDESPREAD_MIN_MARKS = 5
WIDESPREAD_SHARE = 0.35
"""With at least WIDESPREAD_MIN_MARKS marks, a best muscle explaining less than this share of the
painted intensity also makes the answer lead with widespread pain."""

EVIDENCE_ORDER: dict[str, int] = {"studied": 0, "manual": 1, "limited": 2}
"""Tie-break only: with equal scores and priors, better-supported muscles come first."""

_SPILL_SQUARED = SPILLOVER_WEIGHT * SPILLOVER_WEIGHT


def fitted(e_int: int, s_int: int, s_cells: int, essential_size: int) -> float:
    """The cosine's numerator over the prediction's length; divide by :func:`drawing_norm` for the cosine."""
    return (e_int + SPILLOVER_WEIGHT * s_int) / sqrt(essential_size + _SPILL_SQUARED * s_cells)


def drawing_norm(intensities: Iterable[int]) -> float:
    """The drawing vector's length."""
    return sqrt(sum(w * w for w in intensities))


def evidence(symptom_matches: int, implicated: bool) -> float:
    return 1.0 + SYMPTOM_WEIGHT * min(symptom_matches, MAX_SYMPTOMS) + (ASSESSMENT_WEIGHT if implicated else 0.0)


def score(
    *,
    essential_intensity: int,
    spillover_intensity: int,
    spillover_cells: int,
    essential_size: int,
    intensities: Iterable[int],
    symptom_matches: int = 0,
    implicated: bool = False,
) -> float:
    """Score one row: its hits on one drawing (``intensities``: every marked cell's intensity)."""
    norm = drawing_norm(intensities)
    if norm <= 0 or essential_size + spillover_cells <= 0:
        return 0.0
    cosine = fitted(essential_intensity, spillover_intensity, spillover_cells, essential_size) / norm
    return 100.0 * cosine * evidence(symptom_matches, implicated)
