from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import knotwork.engine

ENGINE_DIR = Path(knotwork.engine.__file__).resolve().parent


class PurityTests:
    def test_no_engine_module_imports_django(self):
        for path in ENGINE_DIR.rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                names = []
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module:
                    names = [node.module]
                assert not any(n.split(".")[0] == "django" for n in names), path

    def test_importing_and_running_the_engine_loads_no_django(self):
        code = (
            "import sys\n"
            "from knotwork.engine import explain\n"
            "explain({'marks': [{'cell': 'temple:right', 'intensity': 5}]})\n"
            "assert not [m for m in sys.modules if m.split('.')[0] == 'django'], 'django was imported'\n"
        )
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)  # noqa: S603
        assert done.returncode == 0, done.stderr
