"""The cover: the few trigger points that together explain the drawing, in palpation order.

Finding the smallest set of patterns that covers a weighted set of cells is weighted set cover,
which is NP-hard; Knotwork uses the classic greedy approximation, which is within a log factor
of optimal and, for drawings of a handful of cells, usually optimal in practice.

Each step takes the candidate that explains the most *not yet explained* painted intensity,
counting a cell in its essential zone twice and a cell in its spillover zone once, because an
essential hit is the stronger lead at the table. Ties go to the larger essential gain, then to
the better-ranked hypothesis. It stops once 90 % of the painted intensity is explained, or when
no trigger point in the atlas explains any of what is left.

The order in which steps are taken is the palpation order: the first trigger point is the one
that, on its own, would account for the most of what the client drew, so checking it first
gives the quickest answer to "is this the source?".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

TARGET_SHARE = 0.9


@dataclass(frozen=True)
class CoverCandidate:
    key: int
    essential: frozenset[str]
    spillover: frozenset[str]


def greedy_cover(
    intensity: Mapping[str, int],
    candidates: Sequence[CoverCandidate],
    target: float = TARGET_SHARE,
) -> list[tuple[CoverCandidate, tuple[str, ...], int]]:
    """Pick candidates (best ranked first in ``candidates``) until ``target`` of the intensity is explained.

    Returns ``(candidate, newly explained cells, explained intensity so far)`` per step.
    """
    total = sum(intensity.values())
    # Integer tenths avoid a float comparison deciding whether 90 % was reached.
    goal_tenths = round(target * 10 * total)
    left = dict(intensity)
    explained = 0
    steps: list[tuple[CoverCandidate, tuple[str, ...], int]] = []
    pool = list(candidates)
    while left and explained * 10 < goal_tenths:
        best: CoverCandidate | None = None
        best_key = (0, 0)
        for cand in pool:
            ess = sum(left[c] for c in cand.essential if c in left)
            spill = sum(left[c] for c in cand.spillover if c in left)
            key = (2 * ess + spill, ess)
            if key > best_key:
                best, best_key = cand, key
        if best is None:
            break
        adds = tuple(c for c in intensity if c in left and (c in best.essential or c in best.spillover))
        for c in adds:
            explained += left.pop(c)
        steps.append((best, adds, explained))
        pool.remove(best)
    return steps
