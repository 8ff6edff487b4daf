"""Sign-in, sign-out and failed sign-in attempts go into the platform audit chain."""

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from knotwork.audit.models import Action
from knotwork.audit.services import audit_record


@receiver(user_logged_in)
def _logged_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    audit_record(action=Action.LOGIN, object_type="accounts.user", object_id=user.pk, actor=user)


@receiver(user_logged_out)
def _logged_out(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is not None:
        audit_record(action=Action.LOGOUT, object_type="accounts.user", object_id=user.pk, actor=user)


@receiver(user_login_failed)
def _login_failed(sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any) -> None:
    # The attempted address is kept so an owner can see a guessing attack; never the password.
    audit_record(
        action=Action.LOGIN_FAILED,
        object_type="accounts.user",
        detail={"email": str(credentials.get("email") or credentials.get("username") or "")[:254]},
    )
