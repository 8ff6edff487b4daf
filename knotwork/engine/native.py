"""Which engine modules run compiled, and the check that lets them (see tools/build_engine.py).

Loaded by ``knotwork.engine`` before any other engine module. The compiled modules live in
``_native/`` beside the source; putting that folder first on the package's search path makes
``import knotwork.engine.core`` find the extension. It is done only when the manifest was written
for this interpreter and every source still has the hash the extensions were built from, so the
answer is always the source's: an edited module runs as Python until ``make engine`` rebuilds.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sysconfig
from collections.abc import MutableSequence
from pathlib import Path

SOURCE_DIR = Path(__file__).resolve().parent
NATIVE_DIR = SOURCE_DIR / "_native"
MANIFEST = "manifest.json"
GROUP = "knotwork.engine.native"
"""mypyc's name for the group; its shared runtime is the module ``knotwork.engine.native__mypyc``."""
COMPILED = ("vocabulary", "scoring", "wording", "conditions", "drawing", "red_flags", "lookalikes", "fibromyalgia", "core")
"""What one explain runs, compiled. The result and model dataclasses stay Python: other code builds and reads them."""

log = logging.getLogger(__name__)


def status(*, honour_env: bool = True) -> str:
    """``compiled``, or why the Python source runs: ``forced``, ``not built`` or ``out of date``.
    ``honour_env=False`` asks only whether the build matches the source (the build script does)."""
    if honour_env and os.environ.get("KNOTWORK_ENGINE", "").lower() == "python":
        return "forced"
    try:
        manifest = json.loads((NATIVE_DIR / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "not built"
    if not isinstance(manifest, dict) or manifest.get("ext_suffix") != sysconfig.get_config_var("EXT_SUFFIX"):
        return "not built"
    built = manifest.get("sources")
    if not isinstance(built, dict) or set(built) != set(COMPILED):
        return "out of date"
    for name in COMPILED:
        if hashlib.sha256((SOURCE_DIR / f"{name}.py").read_bytes()).hexdigest() != built[name]:
            return "out of date"
    return "compiled"


def activate(package_path: MutableSequence[str]) -> bool:
    """Put the compiled modules ahead of the source when they match it. True when they will run."""
    state = status()
    if state == "out of date":
        log.warning("The compiled engine is older than its source; running the Python engine. Run `make engine` to rebuild.")
    if state != "compiled":
        return False
    if str(NATIVE_DIR) not in package_path:
        package_path.insert(0, str(NATIVE_DIR))
    return True
