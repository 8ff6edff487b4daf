"""The engine's rule data: red flags, look-alikes, examination findings and prevalence priors (YAML).

``DIR`` is this folder. The modules that read it may run compiled from another folder (see
:mod:`knotwork.engine.native`), so they find their data here rather than beside themselves.
"""

from pathlib import Path

DIR = Path(__file__).resolve().parent
