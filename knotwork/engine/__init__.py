"""Knotwork's trigger-point reasoning engine. Pure Python: no Django imports, ever.

Given a pain drawing it first triages it (red flags, with emergencies ahead of everything and
the muscle list withheld until medical clearance), then ranks likely sources to examine (one
row per muscle, its best trigger points inside), picks the few that together explain the
drawing in palpation order, and runs the screens every result must carry (widespread pain and
the look-alikes that need a different action).

Typical use from the web side::

    from knotwork.engine import DrawingError, explain

    try:
        result = explain(request_json)          # validates, then ranks against the shipped atlas
    except DrawingError as exc:
        return Status(400, {"error": {"code": "invalid_drawing", "message": str(exc), "fields": exc.fields}})
    return result.to_dict()

The hot modules run compiled by mypyc when ``make engine`` has built them for this source
(see :mod:`knotwork.engine.native`); ``NATIVE`` says whether they do. The answers are the same.
"""

from knotwork.engine import native as _native

NATIVE = _native.activate(__path__)

from knotwork.engine.core import (  # noqa: E402
    DEFAULT_TOP,
    EMPTY_MESSAGE,
    NOTHING_MESSAGE,
    Engine,
    Pattern,
    default_engine,
    explain,
)
from knotwork.engine.drawing import (  # noqa: E402
    Context,
    DrawingError,
    Mark,
    PainDrawing,
    SymptomSeverity,
    parse_drawing,
)
from knotwork.engine.fibromyalgia import evaluate_fibromyalgia, fibromyalgia_verdict  # noqa: E402
from knotwork.engine.lookalikes import evaluate_lookalikes, lookalike_rules  # noqa: E402
from knotwork.engine.red_flags import (  # noqa: E402
    RedFlag,
    RedFlagError,
    evaluate_red_flags,
    red_flag_questions,
    red_flag_rules_version,
    triage,
)
from knotwork.engine.result import CoverStep, ExplainResult, Hypothesis, PainPattern, Screen, Triage, TriggerPointHit  # noqa: E402
from knotwork.engine.vocabulary import ALARM_SYMPTOMS, FINDING_IDS, QUALITIES, QUALITY_LABELS  # noqa: E402

__all__ = [
    "ALARM_SYMPTOMS",
    "DEFAULT_TOP",
    "EMPTY_MESSAGE",
    "NATIVE",
    "NOTHING_MESSAGE",
    "FINDING_IDS",
    "QUALITIES",
    "QUALITY_LABELS",
    "Context",
    "CoverStep",
    "DrawingError",
    "Engine",
    "ExplainResult",
    "Hypothesis",
    "Mark",
    "PainDrawing",
    "PainPattern",
    "Pattern",
    "RedFlag",
    "RedFlagError",
    "Screen",
    "SymptomSeverity",
    "Triage",
    "TriggerPointHit",
    "default_engine",
    "evaluate_fibromyalgia",
    "evaluate_lookalikes",
    "evaluate_red_flags",
    "explain",
    "fibromyalgia_verdict",
    "lookalike_rules",
    "parse_drawing",
    "red_flag_questions",
    "red_flag_rules_version",
    "triage",
]
