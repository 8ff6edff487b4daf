"""Load the shipped reference data (atlas, engine, libraries, forms) before a server process takes requests.

Each of these is parsed from YAML once per process and cached. Without a warm-up the first request
in every new server worker pays for all of them (about two seconds); config/asgi.py (and wsgi.py) call
``warm_reference_data()`` when a worker loads the application. Nothing here touches the database.
"""

from __future__ import annotations

from knotwork.assessment.findings import posture_policy, rules
from knotwork.assessment.norms import norms
from knotwork.atlas.bodymap import cell_labels, cell_order, geometry, view_shapes
from knotwork.atlas.loader import atlas
from knotwork.care.forms import muscle_choices, trigger_point_choices
from knotwork.care.library import library, self_care_slugs, techniques
from knotwork.clients.intake.definition import standard_form
from knotwork.engine import red_flag_questions
from knotwork.engine.core import default_engine
from knotwork.engine.lookalikes import lookalike_rules


def warm_reference_data() -> None:
    for load in (atlas, geometry, cell_order, cell_labels, default_engine, lookalike_rules, red_flag_questions, techniques,
                 library, self_care_slugs, muscle_choices, trigger_point_choices, standard_form, norms, rules, posture_policy):  # fmt: skip
        load()
    for view in geometry()["views"]:
        view_shapes(view)
    # One explain builds the rule indexes the red flags and look-alikes read for every drawing.
    default_engine().explain({"marks": [{"cell": "temple:right", "intensity": 1}]})
