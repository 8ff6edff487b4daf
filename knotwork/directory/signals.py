"""Cache invalidation only: a profile keeps a copy of its clinic's coordinates for the indexed
search, so a clinic that moves (or gains or loses a map position) refreshes its profiles."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_save
from django.dispatch import receiver

from knotwork.accounts.models import Clinic


@receiver(post_save, sender=Clinic, dispatch_uid="directory_clinic_moved")
def clinic_saved(sender: type[Clinic], instance: Clinic, created: bool, **kwargs: Any) -> None:
    if created or kwargs.get("raw"):
        return
    from knotwork.directory.models import TherapistProfile
    from knotwork.directory.services import refresh_listing

    for profile in TherapistProfile.objects.filter(clinic=instance).select_related("clinic"):
        profile.clinic = instance
        refresh_listing(profile)
