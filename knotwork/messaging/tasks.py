"""Message notifications. The e-mail says only that a message is waiting, with a link: never who
wrote it about what, and never the text.

Who hears of a client's message follows the thread's kind (read when the task runs, so a thread
made clinical meanwhile is not announced to the front desk): an admin thread goes to the owner and
the front desk; a clinical one to the client's therapists, or before any appointment to the owner."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext
from django_tasks import task

from knotwork.accounts.models import Membership, Role
from knotwork.bookings.models import Appointment
from knotwork.clients.language import client_translation
from knotwork.lib.mail import send_email
from knotwork.lib.urls import absolute_url
from knotwork.messaging.models import Message, Thread, thread_capability


def _staff_recipients(message: Message) -> list[str]:
    thread = message.thread
    # Nobody hears of a thread their role cannot open.
    members = [
        m for m in Membership.objects.active().filter(clinic=thread.clinic).select_related("user") if m.can(thread_capability(thread.kind))
    ]
    if thread.kind == Thread.Kind.ADMIN:
        chosen = [m.user.email for m in members if m.role in (Role.OWNER, Role.FRONT_DESK)]
    else:
        # The client's therapists; before a first appointment, the owner.
        therapist_ids = set(Appointment.objects.filter(client=thread.client).values_list("therapist_id", flat=True))
        chosen = [m.user.email for m in members if m.user_id in therapist_ids]
        if not chosen:
            chosen = [m.user.email for m in members if m.role == Role.OWNER]
    return sorted(set(chosen) - {message.sender.email if message.sender else ""})


@task()
def notify_new_message(message_id: int) -> None:
    message = Message.objects.select_related("thread__client__portal_user", "thread__clinic", "sender").filter(pk=message_id).first()
    if message is None:
        return
    thread = message.thread
    if message.from_client:
        recipients = _staff_recipients(message)
    else:
        portal = thread.client.portal_user
        recipients = [portal.email] if portal else []
    link = absolute_url(reverse("thread_detail", args=[thread.pk]))
    # Staff read it in the clinic's language (English), a client in their own.
    with client_translation(None if message.from_client else thread.client):
        clinic = thread.clinic.name
        text = gettext("You have a new message in your %(clinic)s conversation.") % {"clinic": clinic}
        text += "\n\n" + gettext("Read it here (sign-in needed): %(link)s") % {"link": link} + f"\n\n{clinic}\n"
        subject = gettext("You have a new message")
    for to in recipients:
        send_email(to=to, subject=subject, text=text, clinic=thread.clinic)
