"""Compile the trigger-point engine's hot modules to C with mypyc (``make engine``).

    .venv/bin/python tools/build_engine.py [--clean]

The engine stays plain typed Python; mypyc turns the same source into a C extension that runs
the ranking about 1.4x faster (docs/engine.md, Performance). The extensions go to
``knotwork/engine/_native/`` (not tracked) with a manifest of the SHA-256 of every source they
were built from. ``knotwork.engine`` loads them only when every hash still matches the source
beside it and they were built for this interpreter; otherwise it runs the Python source, so an
edited module can never run stale compiled code. ``KNOTWORK_ENGINE=python`` forces the Python
source. A machine without a C compiler keeps the pure engine: this script says so and exits 0.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import sysconfig
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["KNOTWORK_ENGINE"] = "python"  # importing the package must not load what is about to be replaced

from knotwork.engine.native import COMPILED, GROUP, MANIFEST, NATIVE_DIR, SOURCE_DIR  # noqa: E402
from knotwork.engine.native import status as native_status  # noqa: E402


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build(force: bool) -> int:
    if not force and native_status(honour_env=False) == "compiled":
        (NATIVE_DIR / MANIFEST).touch()  # so make sees the target newer than the sources it checked
        print("engine: compiled engine is up to date")
        return 0
    try:
        from mypyc.build import mypycify
        from setuptools import Distribution
    except ImportError as exc:
        print(f"engine: not compiled ({exc.name} is not installed); the Python engine runs", file=sys.stderr)
        return 0
    if not (sysconfig.get_config_var("CC") and shutil.which(str(sysconfig.get_config_var("CC")).split()[0])):
        print("engine: not compiled (no C compiler); the Python engine runs", file=sys.stderr)
        return 0
    sources = [SOURCE_DIR / f"{name}.py" for name in COMPILED]
    hashes = {path.stem: digest(path) for path in sources}
    os.chdir(ROOT)  # mypy reads the project's configuration and cache from here
    with tempfile.TemporaryDirectory(prefix="knotwork-engine-") as tmp:
        work = Path(tmp)
        extensions = mypycify([str(p.relative_to(ROOT)) for p in sources], opt_level="3", group_name=GROUP, target_dir=str(work / "c"))
        # A bare Distribution: no setup.py or pyproject.toml is read, only these extensions built.
        dist = Distribution({"name": "knotwork-engine-native", "ext_modules": extensions})
        dist.script_args = ["--quiet", "build_ext"]
        dist.parse_command_line()
        command = dist.get_command_obj("build_ext")
        command.build_lib = str(work / "lib")  # type: ignore[attr-defined]
        command.build_temp = str(work / "obj")  # type: ignore[attr-defined]
        dist.run_commands()
        built = work / "lib" / Path(*GROUP.split(".")[:-1])
        shutil.rmtree(NATIVE_DIR, ignore_errors=True)
        NATIVE_DIR.mkdir()
        for ext in built.glob("*" + str(sysconfig.get_config_var("EXT_SUFFIX"))):
            shutil.copy2(ext, NATIVE_DIR / ext.name)
    manifest = {"ext_suffix": sysconfig.get_config_var("EXT_SUFFIX"), "sources": hashes}
    (NATIVE_DIR / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"engine: compiled {', '.join(COMPILED)} into {NATIVE_DIR.relative_to(ROOT)}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clean", action="store_true", help="remove the compiled engine (the Python engine runs)")
    parser.add_argument("--force", action="store_true", help="rebuild even when the compiled engine matches the source")
    args = parser.parse_args()
    if args.clean:
        shutil.rmtree(NATIVE_DIR, ignore_errors=True)
        return 0
    return build(args.force)


if __name__ == "__main__":
    sys.exit(main())
