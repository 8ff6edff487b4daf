"""`knotwork explain` and `knotwork eval`: Django management commands that hand argv to the engine untouched."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import ManagementUtility, call_command
from django.core.management.base import CommandError


def run(*args: str) -> int:
    """Run a command the way the `knotwork` console script does; returns the exit status."""
    try:
        ManagementUtility(["knotwork", *args]).execute()
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


class ExplainCommandTests:
    def test_it_prints_a_readable_table_of_likely_sources(self, capsys):
        assert run("explain", "temple:right=7", "neck-posterior-upper:right=5", "--top", "5") == 0
        out = capsys.readouterr().out
        assert out.startswith("NOT ASKED: ")  # the triage comes first
        assert "\nRed flags: NOT ASKED" in out
        assert "Likely sources to examine (best first):" in out
        assert "Check these first" in out
        assert "not a diagnosis" in out
        ranked = [line for line in out.splitlines() if re.match(r"\s*\d+\s+\d+\.\d\s+right\s", line)]
        assert len(ranked) == 5

    def test_json_prints_the_engine_output_contract(self, capsys):
        assert run("explain", "temple:right=7", "neck-lateral:right=5/aching", "--json", "--top", "3") == 0
        body = json.loads(capsys.readouterr().out)
        assert {"hypotheses", "cover", "screens", "atlas_version"} <= set(body)
        assert len(body["hypotheses"]) == 3 and body["screens"][0]["id"] == "red-flags"

    def test_options_django_would_claim_reach_the_engine(self, capsys):
        # --top, --json and a leading option are the engine's, not Django's; --settings is still Django's.
        # a before-treatment flag refers out and still lists the likely sources (an urgent one would withhold them)
        args = ("explain", "--json", "temple:left=4", "--settings", "config.settings_test", "--red-flag", "unexplained-weight-loss")
        assert run(*args) == 0
        body = json.loads(capsys.readouterr().out)
        assert body["hypotheses"][0]["side"] == "left"
        assert body["screens"][0]["verdict"] == "refer out" and body["triage"]["level"] == "before-treatment"

    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (["temple:up=7"], "unknown cell 'temple:up'"),
            (["temple:right"], "is not a mark"),
            (["temple:right=loud"], "whole number"),
            (["temple:right=7", "--top", "0"], "--top must be at least 1"),
            (["temple:right=7", "--bogus"], "unrecognized arguments"),
            (["--drawing", "/nonexistent/drawing.json"], "cannot read"),
        ],
    )
    def test_bad_input_exits_2_with_one_clear_line_on_stderr(self, capsys, args, message):
        assert run("explain", *args) == 2
        captured = capsys.readouterr()
        assert message in captured.err
        assert captured.err.startswith("error: ") and "Traceback" not in captured.err
        assert captured.out == ""

    def test_help_exits_0(self, capsys):
        assert run("explain", "--help") == 0
        assert "CELL=INTENSITY" in capsys.readouterr().out

    def test_call_command_works_too(self):
        out = StringIO()
        call_command("explain", "temple:right=7", "--json", stdout=out)
        assert json.loads(out.getvalue())["hypotheses"]
        with pytest.raises(CommandError) as raised:
            call_command("explain", "temple:up=7", stdout=StringIO(), stderr=StringIO())
        assert raised.value.returncode == 2


class EvalCommandTests:
    def test_atlas_prints_recall_and_the_self_consistency_shares(self, capsys):
        assert run("eval", "--atlas") == 0
        out = capsys.readouterr().out
        assert "mean recall@k" in out
        assert "own muscle first:" in out and "within top 3:" in out and "%" in out

    def test_a_missing_vignette_file_exits_2(self, capsys):
        assert run("eval", "/nonexistent/vignettes.yaml") == 2
        assert "cannot read" in capsys.readouterr().err


class ConsoleScriptTests:
    def test_the_knotwork_console_command_preserves_the_exit_status(self):
        knotwork = Path(sys.executable).with_name("knotwork")
        if not knotwork.exists():
            pytest.skip("the knotwork console script is not installed in this environment")
        env = {"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "config.settings_test"}
        ok = subprocess.run([knotwork, "explain", "temple:right=7", "--json"], capture_output=True, text=True, env=env, check=False)
        assert ok.returncode == 0, ok.stderr
        assert json.loads(ok.stdout)["hypotheses"]
        bad = subprocess.run([knotwork, "explain", "temple:up=7"], capture_output=True, text=True, env=env, check=False)
        assert bad.returncode == 2
        assert bad.stderr.strip() == "error: marks[0].cell: unknown cell 'temple:up'"
