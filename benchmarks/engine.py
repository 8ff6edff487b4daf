"""Measure the trigger-point engine over the shipped atlas. Prints figures; never fails on speed.

    .venv/bin/python benchmarks/engine.py [--n 10000] [--seed 7]

Drawings are made realistic rather than uniform: each starts from a random trigger point and
side, takes 1-8 cells from its essential and spillover zones (essential ones drawn stronger),
and with some probability adds a cell from a second pattern that shares a cell with the first
(a neighbouring source) or a random stray cell, as real drawings are never tidy.

Targets: p99 < 1 ms per explain in-process, >= 5,000 drawings/s on one core.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from knotwork.atlas.loader import load_atlas  # noqa: E402
from knotwork.engine import Engine, PainDrawing  # noqa: E402
from knotwork.engine.drawing import Mark  # noqa: E402


def realistic_drawings(engine: Engine, n: int, seed: int) -> list[PainDrawing]:
    rng = random.Random(seed)
    patterns = engine.patterns
    cells = sorted(engine.cells)
    by_cell = {c: [idx for idx, _ in post] for c, post in engine.postings.items()}
    qualities = [None, None, None, "aching", "burning", "sharp", "tingling", "numbness", "throbbing"]
    out: list[PainDrawing] = []
    for _ in range(n):
        p = rng.choice(patterns)
        zone = [(c, True) for c in sorted(p.essential)] + [(c, False) for c in sorted(p.spillover)]
        rng.shuffle(zone)
        size = rng.randint(1, 8)
        picked: dict[str, int] = {}
        for c, essential in zone[:size]:
            picked[c] = rng.randint(4, 9) if essential else rng.randint(1, 6)
        if len(picked) < size and rng.random() < 0.5:
            # A neighbouring source: another pattern that refers to one of the cells already drawn.
            neighbour = patterns[rng.choice(by_cell[rng.choice(sorted(picked))])]
            for c in sorted(neighbour.essential | neighbour.spillover):
                if len(picked) >= size:
                    break
                picked.setdefault(c, rng.randint(2, 8))
        if rng.random() < 0.3 and len(picked) < 8:
            picked.setdefault(rng.choice(cells), rng.randint(1, 5))
        out.append(PainDrawing(marks=tuple(Mark(cell=c, intensity=i, quality=rng.choice(qualities)) for c, i in picked.items())))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    t0 = time.perf_counter()
    atlas = load_atlas()
    t1 = time.perf_counter()
    engine = Engine(atlas)
    t2 = time.perf_counter()
    drawings = realistic_drawings(engine, args.n, args.seed)
    marks = [len(d.marks) for d in drawings]

    for d in drawings[:500]:  # warm caches (rule tables, sentence helpers)
        engine.explain(d)

    latencies: list[float] = []
    perf = time.perf_counter
    for d in drawings:
        s = perf()
        engine.explain(d)
        latencies.append(perf() - s)
    start = perf()
    for d in drawings:
        engine.explain(d)
    batch = perf() - start
    start = perf()
    for d in drawings:
        engine.explain(d).to_dict()
    batch_dict = perf() - start
    start = perf()
    for d in drawings:
        engine.rank(d)
    batch_rank = perf() - start

    latencies.sort()
    q = statistics.quantiles(latencies, n=100)
    print(f"machine: {platform.machine()} {platform.processor() or ''} {os.cpu_count()} cores, Python {platform.python_version()}")
    print(
        f"atlas {atlas.version}: {len(atlas.muscles)} muscles, {len(atlas.trigger_points())} trigger points, "
        f"{len(engine.patterns)} side patterns, {len(engine.postings)} cells with postings"
    )
    print(f"load atlas: {(t1 - t0) * 1000:.1f} ms   build index: {(t2 - t1) * 1000:.1f} ms")
    print(f"drawings: {args.n} (seed {args.seed}), marks per drawing mean {statistics.mean(marks):.1f}, max {max(marks)}")
    print(
        f"explain latency: p50 {q[49] * 1e6:.0f} us   p90 {q[89] * 1e6:.0f} us   p99 {q[98] * 1e6:.0f} us   "
        f"max {latencies[-1] * 1e6:.0f} us"
    )
    print(
        f"throughput: explain {args.n / batch:,.0f} drawings/s   explain+to_dict {args.n / batch_dict:,.0f} "
        f"drawings/s   rank only {args.n / batch_rank:,.0f} drawings/s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
