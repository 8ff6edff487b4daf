from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext

from knotwork.accounts.models import ApiToken, Clinic, Invitation, Membership, Role, User
from knotwork.audit.models import Action
from knotwork.audit.services import audit_record
from knotwork.lib.mail import send_email
from knotwork.lib.urls import absolute_url


@dataclass(frozen=True)
class IssuedInvitation:
    invitation: Invitation
    url: str


@transaction.atomic
def invitation_create(*, clinic: Clinic, email: str, invited_by: User, role: str = "", client: Any = None) -> IssuedInvitation:
    """Invite a staff member (with ``role``) or a client (with ``client``) and email them the link."""
    email = email.strip().lower()
    if client is None and role not in Role.values:
        raise ValidationError({"role": "Choose a role."})
    if client is None and Membership.objects.filter(clinic=clinic, user__email=email, is_active=True).exists():
        raise ValidationError({"email": "This person is already a member of the clinic."})
    if client is not None and client.portal_user_id:
        raise ValidationError({"email": "This client already has a portal login."})
    # A new invitation replaces any pending one for the same person and purpose.
    Invitation.objects.pending().filter(clinic=clinic, email=email, client=client).update(revoked_at=timezone.now())
    raw, token_hash = Invitation.new_token()
    invitation = Invitation.objects.create(
        clinic=clinic,
        email=email,
        kind=Invitation.Kind.CLIENT if client is not None else Invitation.Kind.STAFF,
        role="" if client is not None else role,
        client=client,
        token_hash=token_hash,
        invited_by=invited_by,
        expires_at=timezone.now() + Invitation.VALID_FOR,
    )
    url = absolute_url(reverse("invitation_accept", args=[raw]))
    audit_record(action=Action.INVITE, obj=invitation, clinic=clinic, detail={"kind": invitation.kind, "role": role})
    from knotwork.clients.language import client_translation

    # A client's invitation to the portal in their language (staff: the clinic's, English).
    with client_translation(client):
        subject = gettext("You are invited to %(clinic)s on Knotwork") % {"clinic": clinic.name}
        body = "\n\n".join(
            [
                gettext("%(name)s invited you to join %(clinic)s on Knotwork.") % {"name": invited_by.display_name, "clinic": clinic.name},
                gettext("Open this link within 7 days to accept:") + f"\n{url}",
                gettext("If you did not expect this, you can ignore this email."),
            ]
        )
    transaction.on_commit(lambda: send_email(to=email, subject=subject, text=body, clinic=clinic))
    return IssuedInvitation(invitation=invitation, url=url)


def invitation_for_token(raw: str) -> Invitation | None:
    return Invitation.objects.pending().select_related("clinic", "client").filter(token_hash=Invitation.hash_token(raw)).first()


@transaction.atomic
def invitation_accept(*, invitation: Invitation, user: User) -> None:
    """Make ``user`` a member (staff invitation) or the portal login of the client record."""
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.status != "pending":
        raise ValidationError(f"This invitation is {invitation.status}.")
    if user.email.lower() != invitation.email.lower():
        raise ValidationError("This invitation was sent to a different email address. Sign in with that address.")
    if invitation.kind == Invitation.Kind.STAFF:
        Membership.objects.update_or_create(user=user, clinic=invitation.clinic, defaults={"role": invitation.role, "is_active": True})
    else:
        client = invitation.client
        assert client is not None
        if client.portal_user_id and client.portal_user_id != user.pk:
            raise ValidationError("This client record already has a portal login.")
        client.portal_user = user
        client.save(update_fields=["portal_user", "updated_at"])
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    audit_record(action=Action.ACCEPT, obj=invitation, clinic=invitation.clinic, actor=user)


@transaction.atomic
def invitation_revoke(*, invitation: Invitation) -> None:
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    audit_record(action=Action.REVOKE, obj=invitation, clinic=invitation.clinic)


@transaction.atomic
def membership_deactivate(*, membership: Membership, actor: User) -> None:
    if membership.user_id == actor.pk:
        raise ValidationError("You cannot remove yourself.")
    if (
        membership.role == Role.OWNER
        and not Membership.objects.active().filter(clinic=membership.clinic, role=Role.OWNER).exclude(pk=membership.pk).exists()
    ):
        raise ValidationError("A clinic needs at least one owner.")
    membership.is_active = False
    membership.save(update_fields=["is_active"])
    audit_record(action=Action.REVOKE, obj=membership, clinic=membership.clinic)


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    secret: str  # shown to the user once, never stored


@transaction.atomic
def api_token_create(*, user: User, clinic: Clinic, name: str, scopes: list[str], expires_in_days: int | None = 90) -> IssuedToken:
    unknown = sorted(set(scopes) - set(ApiToken.Scope.values))
    if unknown or not scopes:
        raise ValidationError({"scopes": f"Unknown scope(s): {', '.join(unknown)}" if unknown else "Choose at least one scope."})
    prefix = secrets.token_hex(4)
    secret = secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        clinic=clinic,
        name=name.strip()[:80] or "Token",
        prefix=prefix,
        secret_hash=ApiToken.hash_secret(secret),
        scopes=sorted(set(scopes)),
        expires_at=timezone.now() + timedelta(days=expires_in_days) if expires_in_days else None,
    )
    audit_record(action=Action.CREATE, obj=token, clinic=clinic, detail={"scopes": token.scopes})
    return IssuedToken(token=token, secret=f"kw_{prefix}_{secret}")


def api_token_authenticate(raw: str) -> ApiToken | None:
    try:
        kw, prefix, secret = raw.split("_", 2)
    except ValueError:
        return None
    if kw != "kw" or not prefix or not secret:
        return None
    token = ApiToken.objects.usable().select_related("user", "clinic").filter(prefix=prefix).first()
    if token is None or not secrets.compare_digest(token.secret_hash, ApiToken.hash_secret(secret)):
        return None
    if not token.user.is_active:
        return None
    # Record use at most once a minute: a busy integration should not write on every call.
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token


@transaction.atomic
def api_token_revoke(*, token: ApiToken) -> None:
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    audit_record(action=Action.REVOKE, obj=token, clinic=token.clinic)
