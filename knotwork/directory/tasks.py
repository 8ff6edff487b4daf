"""Background work for the directory: credential expiry reminders and the availability sweep.

Reminders are swept once a day (`knotwork send_credential_reminders`). A credential that expires
in 60 days or less gets the 60-day reminder, in 14 days or less the 14-day one; a credential first
verified inside the 14 days gets only the 14-day one. A unique row per credential, offset and
expiry date makes a second send impossible, even when two sweeps overlap; a renewed credential
(new expiry date) is reminded again.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta

from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django_tasks import task

from knotwork.accounts.models import Membership, Role
from knotwork.directory.models import Credential, CredentialReminder, CredentialStatus, TherapistProfile
from knotwork.directory.services import refresh_listing, refresh_stale_availability
from knotwork.lib.mail import send_email
from knotwork.lib.urls import absolute_url

log = logging.getLogger(__name__)

OFFSETS = (14, 60)  # smallest first: the nearest applicable reminder is the one that is due


def due_offset(days_left: int) -> int | None:
    """The reminder due with ``days_left`` days to go, if any."""
    if days_left <= 0:
        return None
    return next((offset for offset in OFFSETS if days_left <= offset), None)


def _recipients(credential: Credential) -> list[str]:
    profile = credential.profile
    owners = Membership.objects.active().filter(clinic_id=profile.clinic_id, role=Role.OWNER).select_related("user")
    emails = [profile.user.email] + [m.user.email for m in owners]
    return sorted({e for e in emails if e})


def due_credential_reminders(*, today: date | None = None) -> int:
    today = today or timezone.localdate()
    sent = 0
    candidates = Credential.objects.filter(
        status=CredentialStatus.VERIFIED, expires_on__gt=today, expires_on__lte=today + timedelta(days=max(OFFSETS))
    ).select_related("profile", "profile__user", "profile__clinic")
    for credential in candidates:
        assert credential.expires_on is not None  # the filter above
        offset = due_offset((credential.expires_on - today).days)
        if offset is None:
            continue
        try:
            with transaction.atomic():
                CredentialReminder.objects.create(credential=credential, offset_days=offset, expires_on=credential.expires_on)
        except IntegrityError:
            continue  # already sent for this expiry and offset
        body = render_to_string(
            "directory/email/credential_expiry.txt",
            {
                "credential": credential,
                "days": (credential.expires_on - today).days,
                "link": absolute_url(reverse("directory_credentials")),
            },
        )
        send_email(
            to=_recipients(credential),
            subject=f"Your {credential.get_kind_display().lower()} expires on {credential.expires_on:%-d %B %Y}",
            text=body,
            clinic=credential.profile.clinic,
        )
        sent += 1
    return sent


def refresh_expired(*, today: date | None = None) -> int:
    """Recompute search copies of profiles whose credentials lapsed recently (the copies store dates,
    so search is right without this; it keeps the stored NMT level honest)."""
    today = today or timezone.localdate()
    ids = set(
        Credential.objects.filter(expires_on__lte=today, expires_on__gte=today - timedelta(days=7)).values_list("profile_id", flat=True)
    )
    for profile in TherapistProfile.objects.filter(pk__in=ids).select_related("clinic"):
        refresh_listing(profile)
    return len(ids)


@task()
def send_credential_reminders() -> int:
    refresh_expired()
    return due_credential_reminders()


@task()
def refresh_directory_availability() -> int:
    return refresh_stale_availability()
