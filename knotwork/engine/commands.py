"""Command-line entry points: ``knotwork explain`` and ``knotwork eval``.

Both take ``argv`` without the program name and return an exit status, so the ``knotwork``
console command can dispatch to them and tests can call them directly. Bad input prints one
clear line to stderr and returns 2; no traceback reaches the user.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, NoReturn, TextIO

import yaml

from knotwork.atlas.loader import AtlasDataError, load_atlas
from knotwork.engine.core import DEFAULT_TOP, Engine, default_engine
from knotwork.engine.drawing import DrawingError
from knotwork.engine.evaluation import (
    VignetteError,
    evaluate_safety,
    evaluate_vignettes,
    format_safety_report,
    format_self_consistency,
    format_vignette_report,
    load_safety_cases,
    load_vignettes,
    self_consistency,
)
from knotwork.engine.red_flags import red_flag_questions as engine_red_flags
from knotwork.engine.result import ExplainResult
from knotwork.engine.vocabulary import QUALITIES

USAGE_ERROR = 2


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    # argparse exits the process on a usage error; callers of *_main expect a return code.
    def error(self, message: str) -> NoReturn:
        raise _UsageError(message)


def _fail(message: str, err: TextIO) -> int:
    print(f"error: {message}", file=err)
    return USAGE_ERROR


def _engine(atlas_dir: str | None) -> Engine:
    return Engine(load_atlas(Path(atlas_dir))) if atlas_dir else default_engine()


def _mark(token: str) -> dict[str, Any]:
    """``temple:right=7`` or ``palm:left=5/tingling`` -> a mark of the drawing contract."""
    cell, sep, rest = token.partition("=")
    if not sep or not cell:
        raise _UsageError(f"{token!r} is not a mark; write CELL=INTENSITY, e.g. temple:right=7")
    value, _, quality = rest.partition("/")
    try:
        intensity = int(value)
    except ValueError:
        raise _UsageError(f"{token!r}: intensity must be a whole number from 1 to 10") from None
    mark: dict[str, Any] = {"cell": cell, "intensity": intensity}
    if quality:
        mark["quality"] = quality
    return mark


def _read_drawing(path: str) -> dict[str, Any]:
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise _UsageError(f"cannot read {path}: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)  # YAML is a superset of JSON: either works
    except yaml.YAMLError as exc:
        raise _UsageError(f"{path} is not valid JSON or YAML: {exc}") from None
    if not isinstance(data, dict):
        raise _UsageError(f"{path} must hold a drawing object with marks, symptoms and context")
    return data


def explain_main(argv: list[str], out: TextIO | None = None, err: TextIO | None = None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    parser = _Parser(
        prog="knotwork explain",
        description="List likely trigger-point sources to examine for a pain drawing.",
        epilog=f"Qualities: {', '.join(QUALITIES)}. Example: knotwork explain temple:right=7 neck-lateral:right=5 --symptom headache",
    )
    parser.add_argument("marks", nargs="*", metavar="CELL=INTENSITY[/QUALITY]", help="a marked cell, e.g. temple:right=7")
    parser.add_argument(
        "--drawing", metavar="FILE", help="read a drawing (JSON or YAML; - for stdin); marks given on the command line are added to it"
    )
    parser.add_argument("--symptom", action="append", default=[], metavar="S", help="a reported symptom id (repeatable)")
    parser.add_argument(
        "--red-flag",
        action="append",
        default=None,
        metavar="ID",
        help="a red-flag question answered yes; giving any means all others were answered no",
    )
    parser.add_argument(
        "--cleared",
        action="store_true",
        help="a physician has cleared the client despite a red flag: show the likely sources again",
    )
    parser.add_argument("--top", type=int, default=DEFAULT_TOP, metavar="N", help=f"hypotheses to list (default {DEFAULT_TOP})")
    parser.add_argument("--json", action="store_true", help="print the engine output contract as JSON")
    parser.add_argument("--atlas", metavar="DIR", help="use the atlas data in DIR instead of the shipped one")
    try:
        args = parser.parse_args(argv)
        if args.top < 1:
            raise _UsageError("--top must be at least 1")
        data = _read_drawing(args.drawing) if args.drawing else {}
        data.setdefault("marks", [])
        if not isinstance(data["marks"], list):
            raise _UsageError("the drawing's marks must be a list")
        data["marks"] = [*data["marks"], *(_mark(t) for t in args.marks)]
        if args.symptom:
            data["symptoms"] = [*(data.get("symptoms") or []), *args.symptom]
        if args.red_flag is not None or args.cleared:
            context = dict(data.get("context") or {})
            if args.red_flag is not None:
                context["red_flags"] = args.red_flag
            if args.cleared:
                context["medical_clearance"] = True
            data["context"] = context
        engine = _engine(args.atlas)
        result = engine.explain(data, top=args.top)
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    except (_UsageError, DrawingError, AtlasDataError) as exc:
        return _fail(str(exc), err)
    if args.json:
        json.dump(result.to_dict(), out, indent=2, ensure_ascii=False)
        out.write("\n")
    else:
        out.write(render_table(result, engine))
    return 0


def render_table(result: ExplainResult, engine: Engine) -> str:
    """The human-readable explain output: triage first, then the ranking, the cover and every screen."""
    lines: list[str] = []
    tri = result.triage
    if tri is not None:
        lines.append(f"{tri.level.upper()}: {tri.headline}")
        for action in tri.actions:
            lines.append(f"  - {action}")
    rf = result.screens[0]
    lines.append(f"Red flags: {rf.verdict.upper()} - {rf.details.get('summary', '')}")
    questions = {f.id: f.question for f in engine_red_flags()}
    for rid in tri.ask_first if tri else ():
        lines.append(f"  ask first: {questions[rid]}")
    if result.pattern is not None and result.pattern.statement and result.pattern.lead == "widespread":
        lines.append("")
        lines.append(result.pattern.statement)
    if result.withheld:
        lines.append(
            f"{result.withheld} likely muscle source(s) withheld until medical clearance is recorded "
            "(add --cleared once a physician has cleared the client)."
        )
    elif result.message:
        lines.append(result.message)
    if result.hypotheses:
        lines.append("")
        lines.append("Likely sources to examine (best first):")
        lines.append(f"{'#':>3}  {'score':>5}  {'side':<7} {'muscle (best trigger point)':<46} {'explains':>8}  unexplained")
        for i, h in enumerate(result.hypotheses, 1):
            unexplained = ", ".join(h.unexplained) or "-"
            lines.append(
                f"{i:>3}  {h.score:>5.1f}  {h.side:<7} {h.muscle + ' (' + h.trigger_point + ')':<46} {h.explains:>8.0%}  {unexplained}"
            )
            lines.append(f"{'':>5}{h.why}")
    if result.cover:
        lines.append("")
        lines.append("Check these first (in palpation order):")
        for i, c in enumerate(result.cover, 1):
            lines.append(f"{i:>3}. {c.side} {c.muscle} ({c.trigger_point}): adds {', '.join(c.adds)} (explains {c.cumulative:.0%})")
    lines.append("")
    lines.append("Screens:")
    for s in result.screens:
        summary = s.details.get("summary") or " ".join(s.details.get("refer_because", [])) or ""
        lines.append(f"  - {s.title}: {s.verdict}" + (f" - {summary}" if summary else ""))
        for reason in s.details.get("reasons", []):
            lines.append(f"      {reason}")
        for cand in s.details.get("candidates", []):
            tell = " ".join(t["text"] for t in cand["tell_apart"])
            lines.append(f"      {cand['name']} [{cand.get('action', '')}]: {tell}")
    lines.append("")
    lines.append(f"Atlas {result.atlas_version}. These are likely sources to examine, not a diagnosis.")
    return "\n".join(lines) + "\n"


def eval_main(argv: list[str], out: TextIO | None = None, err: TextIO | None = None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    parser = _Parser(
        prog="knotwork eval",
        description="Measure the engine: ranking recall on clinical vignettes, safety cases, and atlas self-consistency. "
        "Exits 1 when a safety case fails.",
    )
    parser.add_argument("files", nargs="*", metavar="FILE", help="vignette and safety-case YAML files (default: the shipped set)")
    parser.add_argument("--atlas", action="store_true", help="also run the atlas self-consistency check")
    parser.add_argument("--atlas-dir", metavar="DIR", help="use the atlas data in DIR instead of the shipped one")
    try:
        args = parser.parse_args(argv)
        engine = _engine(args.atlas_dir)
        paths = [Path(f) for f in args.files] if args.files else None
        report = evaluate_vignettes(engine, load_vignettes(paths))
        safety = evaluate_safety(engine, load_safety_cases(paths))
    except SystemExit as exc:
        return int(exc.code or 0)
    except (_UsageError, VignetteError, AtlasDataError) as exc:
        return _fail(str(exc), err)
    if report.outcomes:
        out.write(format_vignette_report(report) + "\n")
    if safety.outcomes:
        out.write("\n" + format_safety_report(safety) + "\n")
    if args.atlas:
        for whole in (False, True):
            out.write("\n" + format_self_consistency(self_consistency(engine, whole=whole)) + "\n")
    return 0 if all(o.passed for o in safety.outcomes) else 1
