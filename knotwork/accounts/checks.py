"""Knotwork's own deployment checks, run by `knotwork check --deploy` beside Django's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.db.utils import DatabaseError


@register(Tags.security, deploy=True)
def knotwork_deploy_checks(app_configs: Any, **kwargs: Any) -> list[Error | Warning]:
    problems: list[Error | Warning] = []
    if not settings.KNOTWORK_REQUIRE_MFA:
        problems.append(Error("Two-factor sign-in for staff is switched off.", hint="Unset KNOTWORK_REQUIRE_MFA.", id="knotwork.E001"))
    if not (settings.SESSION_COOKIE_SECURE and settings.CSRF_COOKIE_SECURE):
        problems.append(
            Error("Session and CSRF cookies are not marked Secure.", hint="Serve over HTTPS and set SITE_URL=https://…", id="knotwork.E002")
        )
    if settings.EMAIL_BACKEND.endswith(("console.EmailBackend", "locmem.EmailBackend")):
        problems.append(Warning("Email is not delivered (console or memory backend).", hint="Set EMAIL_BACKEND=smtp.", id="knotwork.W003"))
    stale = [po for path in settings.LOCALE_PATHS for po in sorted(Path(path).glob("*/LC_MESSAGES/*.po")) if _not_compiled(po)]
    if stale:
        problems.append(
            Warning(
                f"Translation catalogues are not compiled, so clients see English: {', '.join(str(p) for p in stale)}.",
                hint="Run `python tools/compile_messages.py` (make run and make test do it).",
                id="knotwork.W005",
            )
        )
    try:
        from knotwork.accounts.models import Clinic

        if Clinic.objects.filter(is_demo=True).exists():
            problems.append(
                Error(
                    "The database holds demo data (demo clinic and logins with known passwords).",
                    hint="Use a fresh database for real clinics.",
                    id="knotwork.E004",
                )
            )
    except DatabaseError:
        pass  # not migrated yet: nothing to check
    return problems


def _not_compiled(po: Path) -> bool:
    mo = po.with_suffix(".mo")
    return not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime
