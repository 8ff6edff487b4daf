"""Changes to a person's sign-in factors (authenticator app, passkeys, recovery codes) go into the
platform audit chain, like sign-ins do (knotwork/audit/signals.py).

allauth announces each change with its own signals; one receiver per signal covers every
authenticator type, so a new type is audited without touching this module.
"""

from __future__ import annotations

from typing import Any

from allauth.mfa.models import Authenticator
from allauth.mfa.signals import authenticator_added, authenticator_removed, authenticator_reset
from django.db.models.signals import pre_delete
from django.dispatch import receiver

from knotwork.audit.models import Action
from knotwork.audit.services import audit_record

# Django clears an instance's primary key when it deletes the row, before allauth announces the
# removal; the id is kept here so the audit row still names the authenticator that went.
_REMOVED_PK = "_knotwork_removed_pk"


def _record(change: str, user: Any, authenticator: Authenticator) -> None:
    audit_record(
        action=Action.MFA,
        object_type="mfa.authenticator",
        object_id=authenticator.pk or getattr(authenticator, _REMOVED_PK, ""),
        actor=user,
        detail={"change": change, "type": authenticator.type},
    )


@receiver(pre_delete, sender=Authenticator, dispatch_uid="knotwork_authenticator_pk")
def _keep_pk(sender: Any, instance: Authenticator, **kwargs: Any) -> None:
    setattr(instance, _REMOVED_PK, instance.pk)


@receiver(authenticator_added, dispatch_uid="knotwork_authenticator_added")
def _added(sender: Any, user: Any, authenticator: Authenticator, **kwargs: Any) -> None:
    _record("added", user, authenticator)


@receiver(authenticator_removed, dispatch_uid="knotwork_authenticator_removed")
def _removed(sender: Any, user: Any, authenticator: Authenticator, **kwargs: Any) -> None:
    _record("removed", user, authenticator)


@receiver(authenticator_reset, dispatch_uid="knotwork_authenticator_reset")
def _reset(sender: Any, user: Any, authenticator: Authenticator, **kwargs: Any) -> None:
    # Recovery codes regenerated: the old set stops working.
    _record("reset", user, authenticator)
