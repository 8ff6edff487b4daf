"""The reference deployment (Dockerfile, compose.yaml, Caddyfile, .dockerignore) is checked here by
reading the files, since the machines that run the suite cannot run containers: the services and
their health checks, the entry points, a non-root user, nothing secret written into compose.yaml,
and every variable it sets being one Knotwork reads."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
KNOTWORK_SERVICES = ("app1", "app2", "worker")
ALL_INTERFACES = "0.0.0.0"  # noqa: S104  (inside a container: reachable from Caddy's container)
# Names whose values are secrets: they must come from the env file, never from compose.yaml.
SECRET = re.compile(r"SECRET|PASSWORD|TOKEN|_KEYS?$|PRIVATE|^DATABASE_URL$|^STRIPE_|^TWILIO_AUTH", re.I)


def _compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(k): str(v) for k, v in env.items()}


def _command(service: dict[str, Any]) -> list[str]:
    cmd = service.get("command")
    return shlex.split(cmd) if isinstance(cmd, str) else [str(c) for c in cmd or []]


def _variables_knotwork_reads() -> set[str]:
    """Every environment variable the settings and the code read, by how they read them."""
    pattern = re.compile(
        r"""(?:env_(?:str|bool|int|list|choice)|os\.environ\.get|os\.environ\.setdefault|os\.getenv|os\.environ\[)\(?\s*["']([A-Z][A-Z0-9_]+)["']"""
    )
    names: set[str] = set()
    for path in [*(ROOT / "config").glob("*.py"), *(ROOT / "knotwork").rglob("*.py")]:
        names.update(pattern.findall(path.read_text(encoding="utf-8")))
    return names


def _dockerfile() -> list[tuple[str, str]]:
    """(instruction, arguments) pairs of the Dockerfile, continuation lines joined, comments dropped."""
    lines: list[str] = []
    pending = ""
    for raw in (ROOT / "Dockerfile").read_text().splitlines():
        if raw.strip().startswith("#"):
            continue
        if raw.rstrip().endswith("\\"):
            pending += raw.rstrip()[:-1] + " "
            continue
        lines.append(pending + raw)
        pending = ""
    out = []
    for line in lines:
        if line.strip():
            instruction, _, args = line.strip().partition(" ")
            out.append((instruction.upper(), args.strip()))
    return out


def _final_stage() -> list[tuple[str, str]]:
    steps = _dockerfile()
    last_from = max(i for i, (ins, _) in enumerate(steps) if ins == "FROM")
    return steps[last_from:]


def test_compose_runs_two_app_servers_a_worker_postgres_redis_and_caddy() -> None:
    services = _compose()["services"]
    assert set(services) == {"app1", "app2", "worker", "db", "redis", "caddy"}
    for name in ("app1", "app2"):
        assert _command(services[name])[:3] == ["knotwork", "run", "--no-worker"], name
        assert ALL_INTERFACES in _command(services[name])
    assert _command(services["worker"]) == ["knotwork", "worker"]
    for name in KNOTWORK_SERVICES:
        assert services[name]["build"] == "." and services[name]["image"] == "knotwork:latest", name
    assert services["db"]["image"].startswith("postgres:")
    assert services["redis"]["image"].startswith("redis:")
    assert services["caddy"]["image"].startswith("caddy:")


def test_every_service_has_a_health_check_and_starts_after_what_it_needs() -> None:
    services = _compose()["services"]
    for name, service in services.items():
        test = service.get("healthcheck", {}).get("test")
        assert test and test[0] in ("CMD", "CMD-SHELL"), f"{name} has no health check"
    for name in ("app1", "app2"):
        assert any("/healthz" in part for part in services[name]["healthcheck"]["test"]), name
    for name in KNOTWORK_SERVICES:
        needs = services[name]["depends_on"]
        assert needs["db"]["condition"] == needs["redis"]["condition"] == "service_healthy", name
    assert {"app1", "app2"} <= set(services["caddy"]["depends_on"])


def test_only_caddy_is_published_and_it_proxies_to_both_app_servers_with_buffering() -> None:
    services = _compose()["services"]
    assert [name for name, s in services.items() if s.get("ports")] == ["caddy"]
    assert "./Caddyfile:/etc/caddy/Caddyfile:ro" in services["caddy"]["volumes"]
    caddyfile = (ROOT / "Caddyfile").read_text()
    assert re.search(r"reverse_proxy\s+app1:8000\s+app2:8000\s*\{", caddyfile)
    for directive in ("request_buffers", "response_buffers", "health_uri /readyz", "max_size 32MB", "read_header", "read_body"):
        assert directive in caddyfile, directive


def test_knotwork_containers_run_read_only_with_a_writable_var_volume_and_tmp() -> None:
    services = _compose()["services"]
    for name in KNOTWORK_SERVICES:
        service = services[name]
        var = _environment(service)["KNOTWORK_VAR_DIR"]
        assert service["read_only"] is True, name
        assert "/tmp" in service["tmpfs"], name
        assert any(v.split(":")[1] == var for v in service["volumes"]), name
    # The same volume everywhere: uploads written through one app server are served by the other.
    assert len({tuple(services[n]["volumes"]) for n in KNOTWORK_SERVICES}) == 1


def test_compose_inlines_no_secret_they_come_from_env_files() -> None:
    services = _compose()["services"]
    for name, service in services.items():
        for key, value in _environment(service).items():
            switch = value in ("true", "false")  # KNOTWORK_REQUIRE_SECRET_KEY names a secret, but is a switch
            assert switch or not SECRET.search(key), f"{name} sets {key} in compose.yaml: put it in the env file"
    for name in KNOTWORK_SERVICES:
        assert services[name]["env_file"] == ".env", name
    assert services["db"]["env_file"] == "postgres.env"  # POSTGRES_PASSWORD
    text = (ROOT / "compose.yaml").read_text()
    assert not re.search(r"postgres(ql)?://[^/\s:]+:[^@\s$<]+@", text), "a database URL with a password is written in compose.yaml"
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".env", "*.env", ".venv", "var", ".git"} <= set(ignored)  # never copied into the image


def test_every_variable_compose_sets_for_knotwork_is_one_knotwork_reads() -> None:
    reads = _variables_knotwork_reads()
    assert {"DATABASE_URL", "CACHE_URL", "SECRET_KEY", "KNOTWORK_VAR_DIR"} <= reads  # the scan finds the settings
    services = _compose()["services"]
    for name in KNOTWORK_SERVICES:
        unknown = set(_environment(services[name])) - reads
        assert not unknown, f"{name} sets variables Knotwork never reads: {sorted(unknown)}"
    assert _environment(services["app1"])["CACHE_URL"].startswith("redis://redis:")
    dockerfile_env = {m.group(1) for ins, args in _final_stage() if ins == "ENV" for m in re.finditer(r"([A-Z][A-Z0-9_]*)=", args)}
    interpreter = {"PATH", "HOME", "PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED", "DJANGO_SETTINGS_MODULE"}
    assert dockerfile_env - interpreter <= reads, sorted(dockerfile_env - interpreter - reads)


def test_dockerfile_builds_from_pyproject_on_slim_python_311_with_engine_and_translations() -> None:
    steps = _dockerfile()
    assert ("ARG", "PYTHON_IMAGE=python:3.11-slim-bookworm") in steps
    assert [args.split()[0] for ins, args in steps if ins == "FROM"] == ["${PYTHON_IMAGE}", "${PYTHON_IMAGE}"]
    runs = " ".join(args for ins, args in steps if ins == "RUN")
    assert "pyproject.toml" in runs and "pip install --no-deps -e ." in runs
    assert "tools/build_engine.py" in runs and "status(honour_env=False)" in runs  # the compiled engine, checked
    assert "tools/compile_messages.py" in runs  # the .mo files, as the Makefile builds them


def test_dockerfile_runs_as_a_non_root_user_with_a_health_check_and_the_app_server_entry_point() -> None:
    final = _final_stage()
    users = [args for ins, args in final if ins == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    health = [args for ins, args in final if ins == "HEALTHCHECK"]
    assert len(health) == 1 and "/healthz" in health[0] and "CMD" in health[0]
    cmd = json.loads(next(args for ins, args in reversed(final) if ins == "CMD"))
    assert cmd[:3] == ["knotwork", "run", "--no-worker"] and ALL_INTERFACES in cmd
    assert ("VOLUME", '["/var/lib/knotwork"]') in final
    assert "KNOTWORK_VAR_DIR=/var/lib/knotwork" in " ".join(args for ins, args in final if ins == "ENV")


@pytest.mark.parametrize("name", ["compose.yaml", "Caddyfile", "Dockerfile", ".dockerignore"])
def test_deploy_files_exist_and_say_where_they_are_documented(name: str) -> None:
    text = (ROOT / name).read_text()
    assert text.strip()
    if name != ".dockerignore":
        assert "docs/operations.md" in text
