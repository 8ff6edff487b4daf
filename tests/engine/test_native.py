"""The compiled engine (tools/build_engine.py) runs only when it matches its source, and answers alike.

``make test`` builds it first, so the suite runs the compiled modules; the same answers from the
Python source are worked out in a child process with ``KNOTWORK_ENGINE=python``.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

import knotwork.engine
from knotwork.engine import native

ROOT = Path(__file__).resolve().parents[2]

ANSWERS = """
import json, sys
from knotwork.engine import NATIVE, DrawingError, default_engine
from tests.engine.test_fast_paths import random_drawings
engine = default_engine()
out = []
for d in random_drawings(engine, 600, 11):
    try:
        out.append(engine.explain(d, top=None).to_dict())
    except DrawingError as exc:
        out.append({"error": str(exc)})
json.dump({"native": NATIVE, "answers": out}, sys.stdout, sort_keys=True)
"""


def answers(mode: str) -> dict[str, object]:
    env = {**os.environ, "KNOTWORK_ENGINE": mode}
    done = subprocess.run([sys.executable, "-c", ANSWERS], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return dict(json.loads(done.stdout))


def test_the_suite_runs_the_compiled_engine() -> None:
    assert native.status() == "compiled", "the compiled engine is not built for this source: run `make engine`"
    assert knotwork.engine.NATIVE
    assert Path(knotwork.engine.core.__file__ or "").parent == native.NATIVE_DIR


def test_compiled_and_python_engines_give_the_same_answers() -> None:
    compiled, python = answers("compiled"), answers("python")
    assert compiled["native"] is True and python["native"] is False
    assert compiled["answers"] == python["answers"]
    assert len(python["answers"]) == 600  # type: ignore[arg-type]


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A source folder with a manifest that matches it."""
    monkeypatch.delenv("KNOTWORK_ENGINE", raising=False)
    (tmp_path / "_native").mkdir()
    for name in native.COMPILED:
        (tmp_path / f"{name}.py").write_text(f"# {name}\n")
    sources = {name: hashlib.sha256(f"# {name}\n".encode()).hexdigest() for name in native.COMPILED}
    manifest = {"ext_suffix": sysconfig.get_config_var("EXT_SUFFIX"), "sources": sources}
    (tmp_path / "_native" / native.MANIFEST).write_text(json.dumps(manifest))
    monkeypatch.setattr(native, "SOURCE_DIR", tmp_path)
    monkeypatch.setattr(native, "NATIVE_DIR", tmp_path / "_native")
    return tmp_path


def test_a_matching_build_goes_first_on_the_package_path(tree: Path) -> None:
    path = [str(tree)]
    assert native.status() == "compiled"
    assert native.activate(path) is True
    assert path == [str(tree / "_native"), str(tree)]


def test_an_edited_source_runs_as_python(tree: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tree / "core.py").write_text("# core, edited\n")
    path = [str(tree)]
    assert native.status() == "out of date"
    assert native.activate(path) is False
    assert path == [str(tree)]
    assert "make engine" in caplog.text


def test_a_build_for_another_interpreter_or_none_is_not_used(tree: Path) -> None:
    manifest = tree / "_native" / native.MANIFEST
    data = json.loads(manifest.read_text())
    manifest.write_text(json.dumps({**data, "ext_suffix": ".cpython-399-x86_64-linux-gnu.so"}))
    assert native.status() == "not built"
    manifest.write_text("{not json")
    assert native.status() == "not built"
    manifest.unlink()
    assert native.status() == "not built"
    assert native.activate([str(tree)]) is False


def test_the_python_engine_can_be_forced(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KNOTWORK_ENGINE", "python")
    assert native.status() == "forced"
    assert native.activate([str(tree)]) is False
