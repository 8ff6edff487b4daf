"""Translation catalogues for tests that read Spanish or French pages.

`make test` compiles the catalogues before the suite; a bare pytest run gets them here, and
Django's cached translations are dropped when a catalogue was rebuilt so the fresh one is read.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from django.utils.translation import trans_real

ROOT = Path(__file__).resolve().parents[2]


def tool(name: str) -> ModuleType:
    """``tools/<name>.py`` loaded as a module (the tools are scripts, not a package)."""
    module_name = f"knotwork_tools_{name}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, ROOT / "tools" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


def compile_catalogues() -> None:
    """Compile any catalogue newer than its .mo, and make Django read the new ones."""
    if tool("compile_messages").compile_all():
        trans_real._translations = {}  # type: ignore[attr-defined]
        trans_real._default = None  # type: ignore[attr-defined]
