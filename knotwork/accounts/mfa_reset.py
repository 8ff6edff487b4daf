"""Resetting someone's sign-in factors when they have lost all of them (phone, passkeys and
recovery codes), done by an operator from the command line: ``knotwork mfa-reset``.

Every authenticator of the person is removed in one transaction and each removal is audited with
the operator's reason, through the same receivers as a removal in the pages
(:mod:`knotwork.accounts.signals`). The person then signs in with their password and, being
staff, is sent to enrol a new factor before they can open any client record.
"""

from __future__ import annotations

from allauth.mfa.models import Authenticator
from allauth.mfa.signals import authenticator_removed
from django.db import transaction

from knotwork.accounts.models import User
from knotwork.audit.models import Action
from knotwork.audit.services import audit_record


class MfaResetError(ValueError):
    pass


def mfa_reset(*, email: str, reason: str, operator: str) -> list[str]:
    """Remove every sign-in factor of the account with ``email``; returns the types removed."""
    reason = " ".join(reason.split())
    if len(reason) < 10:
        raise MfaResetError("Give the reason in a few words (at least 10 characters), e.g. how the person's identity was checked.")
    user = User.objects.filter(email__iexact=email.strip()).first()
    if user is None:
        raise MfaResetError(f"No account has the e-mail address {email.strip()!r}.")
    with transaction.atomic():
        authenticators = list(Authenticator.objects.select_for_update().filter(user=user).order_by("pk"))
        if not authenticators:
            raise MfaResetError(f"{user.email} has no sign-in factors to reset.")
        audit_record(
            action=Action.MFA,
            obj=user,
            actor=None,
            detail={"change": "reset by an operator", "operator": operator[:80], "reason": reason[:200], "count": len(authenticators)},
        )
        for authenticator in authenticators:
            authenticator.delete()
            authenticator_removed.send(sender=Authenticator, request=None, user=user, authenticator=authenticator)
    return [a.type for a in authenticators]
