"""Zone words remembered per set of cells (wording.PlaceWords) and the intensity-range table say
exactly what working them out afresh says."""

from __future__ import annotations

from itertools import combinations

from knotwork.engine.wording import PlaceWords, _range_text, intensity_range, places

WORDS = {"temple:right": ("right", "temple"), "jaw:right": ("right", "jaw"), "temple:left": ("left", "temple"), "sternum": ("", "sternum")}


def test_remembered_place_words_match_fresh_ones_and_the_memory_stays_bounded() -> None:
    memo = PlaceWords(WORDS, limit=3)
    groups = [c for n in (1, 2, 3) for c in combinations(sorted(WORDS), n)]
    for cells in groups * 2:  # the second round reads what the first remembered (or refilled)
        assert memo.places(cells) == places(cells, WORDS)
        assert len(memo.memo) <= 3


def test_every_intensity_range_reads_as_before() -> None:
    for values in ([6], [3, 7], [5, 5], [10, 1, 4], [0, 12]):  # 0 and 12 fall outside the table
        assert intensity_range(values) == _range_text(min(values), max(values))
    assert intensity_range([3, 7]) == "3/10 to 7/10" and intensity_range([6]) == "6/10"
