"""Who reaches which directory object. Another clinic's object is always a 404.

- A profile: staff of its clinic may read it; the therapist it belongs to may edit it; the clinic
  owner (MANAGE_STAFF) may approve or withdraw it.
- A credential: the therapist and the clinic owner; verifiers (platform staff) see every one.
- A review: its author (the client), staff of the clinic it is about, and platform staff.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404

from knotwork.accounts.models import Capability, Membership
from knotwork.accounts.permissions import membership_for, require
from knotwork.audit.models import Action
from knotwork.audit.services import audit_record
from knotwork.directory.models import Credential, Review, TherapistProfile


def is_platform_staff(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False) and (user.is_verifier or user.is_superuser))


def get_profile_for_user(user: Any, profile_id: int, *, write: bool = False, approve: bool = False) -> tuple[TherapistProfile, Membership]:
    profile = TherapistProfile.objects.select_related("clinic", "user").filter(pk=profile_id).first()
    if profile is None:
        raise Http404("No such profile")
    membership = require(membership_for(user, profile.clinic_id), Capability.VIEW_DEMOGRAPHICS)
    if approve:
        require(membership, Capability.MANAGE_STAFF)
    elif write and profile.user_id != user.pk and not membership.can(Capability.MANAGE_STAFF):
        raise PermissionDenied("Only the therapist (or the clinic owner) may change this profile.")
    return profile, membership


def get_credential_for_user(user: Any, credential_id: int, *, write: bool = False) -> tuple[Credential, Membership | None]:
    """The credential for its therapist, the clinic owner, or a verifier (who acts without a membership)."""
    credential = Credential.objects.select_related("profile", "profile__clinic", "profile__user").filter(pk=credential_id).first()
    if credential is None:
        raise Http404("No such credential")
    membership = membership_for(user, credential.profile.clinic_id)
    is_own = membership is not None and credential.profile.user_id == user.pk
    is_owner = membership is not None and membership.can(Capability.MANAGE_STAFF)
    if write:
        if not is_own:
            raise Http404("No such credential")
    elif not (is_own or is_owner or is_platform_staff(user)):
        raise Http404("No such credential")
    if not write:
        audit_record(
            action=Action.VIEW,
            obj=credential,
            clinic=credential.profile.clinic,
            role=membership.role if membership else "verifier",
            detail={"profile": credential.profile_id},
        )
    return credential, membership


def get_review_for_staff(user: Any, review_id: int) -> tuple[Review, Membership]:
    review = Review.objects.select_related("profile", "profile__clinic").filter(pk=review_id).first()
    if review is None:
        raise Http404("No such review")
    return review, require(membership_for(user, review.profile.clinic_id), Capability.VIEW_DEMOGRAPHICS)


def get_review_for_author(user: Any, review_id: int) -> Review:
    review = Review.objects.select_related("profile", "profile__clinic", "appointment").filter(pk=review_id).first()
    if review is None or not getattr(user, "is_authenticated", False) or review.author_id != user.pk:
        raise Http404("No such review")
    return review


def get_review_for_moderator(user: Any, review_id: int) -> tuple[Review, Membership | None]:
    """Platform staff, or the owner of the clinic the review is about."""
    review = Review.objects.select_related("profile", "profile__clinic").filter(pk=review_id).first()
    if review is None:
        raise Http404("No such review")
    if is_platform_staff(user):
        return review, membership_for(user, review.profile.clinic_id)
    return review, require(membership_for(user, review.profile.clinic_id), Capability.MANAGE_STAFF)
