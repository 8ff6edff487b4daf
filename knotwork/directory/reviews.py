"""Reviews: who may write one, writing and editing it, replies, moderation and reports.

The rules, from closed-loop review systems (docs/directory.md):

- only the client of a **completed** appointment reviews it, once, within 90 days of its end;
- text that the first-pass filter flags waits for a person; other reviews go public at once;
- the clinic can approve held text but never remove a review: only platform staff remove, and
  only for abuse, privacy or a review that should not exist. A therapist reports; they cannot hide;
- the author may edit for 7 days; the therapist replies once, in public.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from knotwork.accounts.models import Membership, User
from knotwork.audit.models import Action
from knotwork.audit.services import audit_record
from knotwork.bookings.models import Appointment, AppointmentStatus
from knotwork.directory.models import Review, ReviewReport, ReviewStatus, TherapistProfile
from knotwork.directory.moderation import describe, screen
from knotwork.directory.services import DirectoryError, refresh_listing

RATING_FIELDS = ("overall", "communication", "pressure_respected", "results")


def reviewable_appointments(user: Any, *, now: datetime | None = None) -> QuerySet[Appointment]:
    """Completed appointments of the signed-in client, in the last 90 days, not yet reviewed, with a
    therapist who has a directory profile at that clinic."""
    if not getattr(user, "is_authenticated", False):
        return Appointment.objects.none()
    now = now or timezone.now()
    profiles = TherapistProfile.objects.filter(user_id=OuterRef("therapist_id"), clinic_id=OuterRef("clinic_id"))
    return (
        Appointment.objects.filter(
            client__portal_user=user,
            client__archived_at__isnull=True,
            status=AppointmentStatus.COMPLETED,
            ends_at__gte=now - Review.REVIEW_WINDOW,
            ends_at__lte=now,
            review__isnull=True,
        )
        .filter(Exists(profiles))
        .select_related("clinic", "therapist", "service", "client")
        .order_by("-starts_at")
    )


def review_window_problem(appointment: Appointment, user: Any, *, now: datetime | None = None) -> str:
    """Why ``user`` may not review ``appointment`` (empty if they may)."""
    now = now or timezone.now()
    client = appointment.client
    if client is None or client.portal_user_id != getattr(user, "pk", None) or client.archived_at is not None:
        return "Only the client who had this appointment can review it."
    if appointment.status != AppointmentStatus.COMPLETED:
        return "Only a completed appointment can be reviewed."
    if appointment.ends_at > now:
        return "You can review this appointment once it has taken place."
    if appointment.ends_at < now - Review.REVIEW_WINDOW:
        return "Reviews are open for 90 days after an appointment; this one is older."
    if Review.objects.filter(appointment=appointment).exists():
        return "You have already reviewed this appointment."
    return ""


def _display_name(appointment: Appointment) -> str:
    client = appointment.client
    first = (client.preferred_name or client.first_name).strip().split(" ")[0][:30] if client else ""
    initial = (client.last_name.strip()[:1].upper() + ".") if client and client.last_name.strip() else ""
    return f"{first} {initial}".strip()


def _apply_text(review: Review, text: str) -> None:
    review.text = text.strip()
    review.flags = screen(review.text) if review.text else []
    review.status = ReviewStatus.PENDING if review.flags else ReviewStatus.PUBLISHED


@transaction.atomic
def review_create(*, appointment: Appointment, author: User, data: dict[str, Any], now: datetime | None = None) -> Review:
    now = now or timezone.now()
    locked = Appointment.objects.select_for_update(of=("self",)).select_related("client", "clinic").get(pk=appointment.pk)
    problem = review_window_problem(locked, author, now=now)
    if problem:
        raise DirectoryError(problem, status=409 if "already" in problem else 422)
    profile = TherapistProfile.objects.select_related("clinic").filter(user_id=locked.therapist_id, clinic_id=locked.clinic_id).first()
    if profile is None:
        raise DirectoryError("This therapist has no directory page to review.")
    review = Review(
        appointment=locked,
        profile=profile,
        client=locked.client,
        author=author,
        display=data.get("display", Review.Display.FIRST_NAME),
        display_name=_display_name(locked),
        created_at=now,
        **{f: data[f] for f in RATING_FIELDS},
    )
    _apply_text(review, data.get("text", ""))
    review.full_clean(exclude=["appointment", "profile", "client", "author"])
    try:
        with transaction.atomic():
            review.save()
    except IntegrityError as exc:  # a second tab got there first
        raise DirectoryError("You have already reviewed this appointment.", status=409) from exc
    refresh_listing(profile)
    audit_record(
        action=Action.CREATE, obj=review, clinic=profile.clinic, role="client", detail={"appointment": locked.pk, "flags": review.flags}
    )
    return review


@transaction.atomic
def review_edit(*, review: Review, author: User, data: dict[str, Any], now: datetime | None = None) -> Review:
    now = now or timezone.now()
    if review.author_id != author.pk:
        raise DirectoryError("Only the author can change this review.", status=403)
    if now > review.editable_until():
        raise DirectoryError("Reviews can be changed for 7 days after they are written.")
    if review.status == ReviewStatus.REMOVED:
        raise DirectoryError("This review was removed by the moderators and cannot be changed.")
    for field in RATING_FIELDS:
        setattr(review, field, data[field])
    review.display = data.get("display", review.display)
    _apply_text(review, data.get("text", ""))
    review.edited_at = now
    review.full_clean(exclude=["appointment", "profile", "client", "author"])
    review.save()
    refresh_listing(review.profile)
    audit_record(action=Action.UPDATE, obj=review, clinic=review.profile.clinic, role="client", detail={"flags": review.flags})
    return review


@transaction.atomic
def review_reply(*, review: Review, actor: User, membership: Membership, text: str) -> Review:
    """The therapist answers once, in public. A reply that names contact details is refused outright:
    a clinic must never disclose anything about a client."""
    locked = Review.objects.select_for_update().select_related("profile", "profile__clinic").get(pk=review.pk)
    if locked.profile.user_id != actor.pk:
        raise DirectoryError("Only the therapist reviewed can reply.", status=403)
    if locked.reply or locked.replied_at:
        raise DirectoryError("You have already replied to this review.", status=409)
    text = text.strip()
    if not text:
        raise DirectoryError("Write a reply first.", field="reply", status=400)
    if len(text) > 1500:
        raise DirectoryError("Keep the reply under 1,500 characters.", field="reply", status=400)
    flags = screen(text)
    if flags:
        raise DirectoryError(f"Replies are public: remove {describe(flags)} and try again.", field="reply", status=400)
    locked.reply, locked.replied_at, locked.replied_by = text, timezone.now(), actor
    locked.save(update_fields=["reply", "replied_at", "replied_by"])
    audit_record(action=Action.UPDATE, obj=locked, clinic=locked.profile.clinic, role=membership.role, detail={"step": "reply"})
    return locked


@transaction.atomic
def review_moderate(*, review: Review, actor: User, decision: str, note: str, platform: bool, role: str) -> Review:
    """Publish a held review (owner or platform staff) or remove one (platform staff only)."""
    locked = Review.objects.select_for_update().select_related("profile", "profile__clinic").get(pk=review.pk)
    if decision == "publish":
        locked.status = ReviewStatus.PUBLISHED
    elif decision == "remove":
        if not platform:
            raise DirectoryError("A clinic cannot remove reviews. Report it, and the platform team will look.", status=403)
        if not note.strip():
            raise DirectoryError("Say why the review is removed.", field="note", status=400)
        locked.status = ReviewStatus.REMOVED
    else:
        raise DirectoryError("Choose publish or remove.", field="decision", status=400)
    locked.moderation_note, locked.moderated_by, locked.moderated_at = note.strip()[:300], actor, timezone.now()
    locked.save(update_fields=["status", "moderation_note", "moderated_by", "moderated_at"])
    ReviewReport.objects.filter(review=locked, resolved_at__isnull=True).update(
        resolved_at=timezone.now(), resolved_by=actor, outcome="removed" if decision == "remove" else "kept"
    )
    refresh_listing(locked.profile)
    audit_record(action=Action.UPDATE, obj=locked, clinic=locked.profile.clinic, actor=actor, role=role, detail={"step": decision})
    return locked


@transaction.atomic
def report_dismiss(*, review: Review, actor: User) -> int:
    """Platform staff keep the review: its open reports are closed."""
    closed = ReviewReport.objects.filter(review=review, resolved_at__isnull=True).update(
        resolved_at=timezone.now(), resolved_by=actor, outcome="kept"
    )
    audit_record(action=Action.UPDATE, obj=review, clinic=review.profile.clinic, actor=actor, role="verifier", detail={"step": "keep"})
    return closed


@transaction.atomic
def review_report(*, review: Review, reporter: User, reason: str, note: str) -> ReviewReport:
    if reason not in ReviewReport.Reason.values:
        raise DirectoryError("Choose a reason.", field="reason", status=400)
    if review.status != ReviewStatus.PUBLISHED:
        raise DirectoryError("Only published reviews can be reported.")
    try:
        with transaction.atomic():
            report = ReviewReport.objects.create(review=review, reporter=reporter, reason=reason, note=note.strip()[:500])
    except IntegrityError as exc:
        raise DirectoryError("You have already reported this review; the platform team will look at it.", status=409) from exc
    audit_record(action=Action.CREATE, obj=report, clinic=review.profile.clinic, detail={"review": review.pk, "reason": reason})
    return report
