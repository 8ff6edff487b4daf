"""Measure the trigger-point engine over the shipped atlas. Prints figures; never fails on speed.

    .venv/bin/python benchmarks/engine.py [--n 4000] [--seed 7] [--profile 16-20]

Drawings are made the way clients draw: the size is uniform from 1 to 20 cells. Each drawing
starts from a random trigger point and side and takes cells from its essential zone (drawn
stronger) and spillover zone (weaker); while it is short of its size it grows into a
neighbouring source (another pattern that refers to a cell already drawn) and, now and then, a
stray cell anywhere, as real drawings are never tidy. A quarter carry a quality on some marks
and a few ticked symptoms; three in four come with the red-flag questions answered "no".
Results are reported per size bucket (1-5, 6-10, 11-15, 16-20).

The process is pinned to one core where the OS allows it. It runs the compiled engine when
`make engine` has built it for this source (the line after ``machine:`` says which);
``KNOTWORK_ENGINE=python`` measures the Python source instead. Targets (docs/engine.md): p99 < 1 ms
per explain and >= 5,000 drawings/s on one core, in every bucket. Figures vary with the machine
and its load (the first line printed names the machine): compare runs made side by side.
``--profile BUCKET`` prints a cProfile of the explains of one bucket instead of the figures.
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
from knotwork.engine import NATIVE, QUALITIES, Engine, PainDrawing, native  # noqa: E402
from knotwork.engine.model import Context, Mark  # noqa: E402
from knotwork.engine.red_flags import red_flag_questions  # noqa: E402

BUCKETS = ((1, 5), (6, 10), (11, 15), (16, 20))
NO_RED_FLAGS = {f.id: False for f in red_flag_questions()}
SYMPTOMS = ("headache", "stiffness", "dizziness", "tingling", "numbness", "cramps", "weakness")


def realistic_drawing(engine: Engine, rng: random.Random, size: int, by_cell: dict[str, list[int]], cells: list[str]) -> PainDrawing:
    patterns = engine.patterns
    picked: dict[str, int] = {}
    p = rng.choice(patterns)
    while len(picked) < size:
        zone = [(c, True) for c in sorted(p.essential)] + [(c, False) for c in sorted(p.spillover)]
        rng.shuffle(zone)
        for c, essential in zone:
            if len(picked) >= size:
                break
            picked.setdefault(c, rng.randint(4, 9) if essential else rng.randint(1, 6))
        if len(picked) < size and rng.random() < 0.15:
            picked.setdefault(rng.choice(cells), rng.randint(1, 5))
        # Grow into a neighbouring source: a pattern that refers to one of the cells drawn.
        p = patterns[rng.choice(by_cell.get(rng.choice(sorted(picked)), [rng.randrange(len(patterns))]))]
        if rng.random() < 0.1:
            p = rng.choice(patterns)
    with_quality = rng.random() < 0.25
    marks = tuple(
        Mark(cell=c, intensity=i, quality=rng.choice(QUALITIES) if with_quality and rng.random() < 0.5 else None) for c, i in picked.items()
    )
    symptoms = tuple(sorted(set(rng.sample(SYMPTOMS, rng.randint(1, 3))))) if rng.random() < 0.25 else ()
    # Most clinics ask the red-flag questions at intake: three drawings in four arrive with them
    # all answered "no", so the full answer (ranking, cover, wording) is what gets measured.
    context = Context(red_flags=NO_RED_FLAGS) if rng.random() < 0.75 else Context()
    return PainDrawing(marks=marks, symptoms=symptoms, context=context)


def drawings_by_bucket(engine: Engine, n: int, seed: int) -> dict[tuple[int, int], list[PainDrawing]]:
    rng = random.Random(seed)
    cells = sorted(engine.cells)
    by_cell = {c: [idx for idx, _ in post] for c, post in engine.postings.items()}
    out: dict[tuple[int, int], list[PainDrawing]] = {b: [] for b in BUCKETS}
    for _ in range(n):
        size = rng.randint(1, 20)
        bucket = next(b for b in BUCKETS if b[0] <= size <= b[1])
        out[bucket].append(realistic_drawing(engine, rng, size, by_cell, cells))
    return out


def measure(engine: Engine, drawings: list[PainDrawing]) -> dict[str, float]:
    perf = time.perf_counter
    latencies: list[float] = []
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
    q = statistics.quantiles(latencies, n=100)
    return {
        "p50": q[49],
        "p99": q[98],
        "max": max(latencies),
        "rate": len(drawings) / batch,
        "rate_dict": len(drawings) / batch_dict,
        "withheld": sum(1 for d in drawings if engine.explain(d).withheld) / len(drawings),
    }


def profile(engine: Engine, drawings: list[PainDrawing]) -> int:
    """Where the time of one bucket's explains goes, by function (profiling slows it several times)."""
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    profiler.enable()
    for d in drawings:
        engine.explain(d)
    profiler.disable()
    pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--n", type=int, default=4000, help="drawings in all, sizes uniform over 1-20 cells")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--profile", metavar="BUCKET", choices=[f"{lo}-{hi}" for lo, hi in BUCKETS], help="profile one bucket")
    args = parser.parse_args()
    try:
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
        pinned = "pinned to one core"
    except (AttributeError, OSError):
        pinned = "not pinned"

    t0 = time.perf_counter()
    atlas = load_atlas()
    t1 = time.perf_counter()
    engine = Engine(atlas)
    t2 = time.perf_counter()
    buckets = drawings_by_bucket(engine, args.n, args.seed)
    for ds in buckets.values():  # warm caches (rule tables, sentence helpers)
        for d in ds[:200]:
            engine.explain(d)
    if args.profile:
        return profile(engine, next(ds for (lo, hi), ds in buckets.items() if args.profile == f"{lo}-{hi}"))

    print(
        f"machine: {platform.machine()} {platform.processor() or ''} {os.cpu_count()} cores ({pinned}), Python {platform.python_version()}"
    )
    state = native.status()
    print("engine: compiled by mypyc" if NATIVE else f"engine: Python source (compiled engine {state}; `make engine` builds it)")
    print(
        f"atlas {atlas.version}: {len(atlas.muscles)} muscles, {len(atlas.trigger_points())} trigger points, "
        f"{len(engine.patterns)} side patterns, {len(engine.postings)} cells with postings"
    )
    print(f"load atlas: {(t1 - t0) * 1000:.1f} ms   build index: {(t2 - t1) * 1000:.1f} ms   drawings: {args.n} (seed {args.seed})")
    print(f"{'cells':>6} {'n':>5} {'p50 us':>7} {'p99 us':>7} {'max us':>7} {'explain/s':>10} {'+to_dict/s':>11} {'withheld':>9}")
    for (lo, hi), ds in buckets.items():
        f = measure(engine, ds)
        print(
            f"{lo:>2}-{hi:<3} {len(ds):>5} {f['p50'] * 1e6:>7.0f} {f['p99'] * 1e6:>7.0f} {f['max'] * 1e6:>7.0f} "
            f"{f['rate']:>10,.0f} {f['rate_dict']:>11,.0f} {f['withheld']:>9.0%}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
