"""Erasure (GDPR Art. 17) with the retention exception of Art. 17(3) and restriction (Art. 18).

What an erasure removes, and what it keeps (docs/security.md lists the same):

- removed: the client's name, preferred name, date of birth, email, phone, address and
  emergency contact; the portal login link; pending portal invitations; message threads with
  their attachments (correspondence, not the clinical record); a saved payment card (detached at
  the card provider; invoices and payments stay, as the law keeps them); the contact details the intake
  copied into its answers; the words of the client's directory reviews and the clinic's replies
  (either may name them) — the star ratings stay, anonymous, so a therapist's average does not
  shift;
- kept, processing-restricted: the clinical record a therapist must retain (intake answers about
  health, screening flags, pain drawings, consent signatures as proof of consent, assessments,
  episodes, visits, outcome scores, appointments) and the audit log. ``Client.restricted_at`` hides
  all of them from every normal view: ``get_client_for_user`` and every getter of a record that
  belongs to a client answer 404 (``clients.selectors.open_client``), and lists leave them out.
  Appointments stay on the schedule under the erased name, as the clinic's record of its time.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from knotwork.accounts.models import Invitation, Membership, User
from knotwork.audit.models import Action
from knotwork.audit.services import audit_record
from knotwork.clients.intake.services import DEMOGRAPHIC_ANSWERS
from knotwork.clients.models import Client, IntakeSubmission

IDENTIFIER_FIELDS = (
    "first_name",
    "last_name",
    "preferred_name",
    "date_of_birth",
    "email",
    "phone",
    "address",
    "emergency_contact_name",
    "emergency_contact_phone",
    "portal_user",
)


@dataclass(frozen=True)
class ErasureReport:
    fields_cleared: int
    threads_deleted: int
    invitations_deleted: int
    intake_answers_removed: int
    reviews_anonymised: int


@transaction.atomic
def client_erase(*, client: Client, membership: Membership, actor: User) -> ErasureReport:
    from knotwork.directory.models import Review
    from knotwork.messaging.models import Thread

    if Client.objects.filter(pk=client.pk, household__isnull=False).exists():
        # Out of the family first (its own locks, household before clients): an erased record
        # shares no package and shows up in no one's family panel.
        from knotwork.clients.family import family_unlink

        family_unlink(member=client, membership=membership)
    client = Client.objects.select_for_update().get(pk=client.pk)
    files = [
        a.file
        for t in Thread.objects.filter(client=client).prefetch_related("messages__attachments")
        for m in t.messages.all()
        for a in m.attachments.all()
    ]
    _, deleted = Thread.objects.filter(client=client).delete()
    threads = deleted.get(Thread._meta.label, 0)
    invitations, _ = Invitation.objects.filter(client=client).delete()
    from knotwork.billing import cardfile

    card = cardfile.saved_card(client)
    if card is not None:  # a saved card is detached at the card provider and forgotten here
        cardfile.card_remove(card=card, actor=actor, role=membership.role)
    removed = 0
    for intake in IntakeSubmission.objects.filter(client=client):
        kept = {k: v for k, v in intake.answers.items() if k not in DEMOGRAPHIC_ANSWERS}
        if len(kept) != len(intake.answers):
            removed += len(intake.answers) - len(kept)
            IntakeSubmission.objects.filter(pk=intake.pk).update(answers=kept)
    reviews = Review.objects.filter(client=client).update(
        text="", display=Review.Display.ANONYMOUS, display_name="", author=None, reply="", edited_at=None
    )
    now = timezone.now()
    Client.objects.filter(pk=client.pk).update(
        first_name="Erased",
        last_name=f"client {client.pk}",
        preferred_name="",
        date_of_birth=None,
        email="",
        phone="",
        address="",
        emergency_contact_name="",
        emergency_contact_phone="",
        portal_user=None,
        archived_at=client.archived_at or now,
        restricted_at=now,
        updated_at=now,
    )
    # Files go only once the rows are gone for good; a rolled-back erasure keeps them.
    transaction.on_commit(lambda: [f.storage.delete(f.name) for f in files if f.name])
    audit_record(
        action=Action.DELETE,
        obj=client,
        clinic=client.clinic,
        actor=actor,
        role=membership.role,
        detail={"erasure": True, "fields": list(IDENTIFIER_FIELDS), "threads": threads, "intake_answers": removed, "reviews": reviews},
    )
    return ErasureReport(len(IDENTIFIER_FIELDS), threads, invitations, removed, reviews)
