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


def _engine_imports(path: Path) -> set[str]:
    """Engine modules a module imports anywhere in its code, type-checking-only imports included:
    a cycle hidden behind ``if TYPE_CHECKING:`` or a late import is still a cycle."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("knotwork.engine"):
            if node.module == "knotwork.engine":  # from knotwork.engine import scoring
                found |= {f"knotwork.engine.{a.name}" for a in node.names}
            else:
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("knotwork.engine.")}
    return found


class StructureTests:
    def test_the_engine_modules_import_each_other_without_a_cycle(self):
        modules = {f"knotwork.engine.{p.stem}": p for p in ENGINE_DIR.glob("*.py") if p.stem != "__init__"}
        graph = {name: {m for m in _engine_imports(path) if m in modules and m != name} for name, path in modules.items()}
        state: dict[str, int] = {}

        def visit(name: str, trail: list[str]) -> None:
            state[name] = 1
            for dep in graph[name]:
                assert state.get(dep) != 1, "import cycle: " + " -> ".join([*trail, name, dep])
                if dep not in state:
                    visit(dep, [*trail, name])
            state[name] = 2

        for name in sorted(graph):
            if name not in state:
                visit(name, [])

    def test_the_vocabulary_module_depends_on_no_other_engine_module(self):
        # Only the rule data's folder (knotwork/engine/rules), which holds no code but its path.
        assert _engine_imports(ENGINE_DIR / "vocabulary.py") == {"knotwork.engine.rules"}
