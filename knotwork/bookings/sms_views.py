"""Twilio's webhooks: delivery status of reminder texts, and replies (STOP / START).

Both are public addresses, so each request must carry Twilio's ``X-Twilio-Signature`` over
``SITE_URL`` + the path and the POST parameters, keyed by ``TWILIO_AUTH_TOKEN``. Without a valid
signature the answer is 403 and nothing is read or stored. Configure the number's "A message
comes in" webhook as ``{SITE_URL}/sms/inbound/``; the status address is sent with each message.
"""

from __future__ import annotations

import logging
import re

from django.db import transaction
from django.db.models import F, Func, Value
from django.db.models.functions import Replace
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from knotwork.audit.models import Action
from knotwork.audit.services import audit_record
from knotwork.bookings.models import ReminderLog, SmsStatus
from knotwork.bookings.sms import mask_number, twilio_signature_valid
from knotwork.clients.models import Client
from knotwork.lib.urls import absolute_url

log = logging.getLogger(__name__)

# Twilio's own keyword lists: it blocks the sender itself on these, so our flag follows suit.
STOP_WORDS = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "REVOKE"}
START_WORDS = {"START", "YES", "UNSTOP", "OPTIN"}
TWILIO_STATUSES = {
    "accepted": SmsStatus.SENT,
    "queued": SmsStatus.SENT,
    "sending": SmsStatus.SENT,
    "sent": SmsStatus.SENT,
    "delivered": SmsStatus.DELIVERED,
    "read": SmsStatus.DELIVERED,
    "undelivered": SmsStatus.UNDELIVERED,
    "failed": SmsStatus.FAILED,
}
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def _signed(request: HttpRequest) -> bool:
    # Twilio signs the address it called, which is the public one in SITE_URL, not whatever the
    # proxy in front of us calls itself.
    params = [(name, value) for name in request.POST for value in request.POST.getlist(name)]
    return twilio_signature_valid(absolute_url(request.get_full_path()), params, request.headers.get("X-Twilio-Signature", ""))


@csrf_exempt
@require_POST
def sms_status(request: HttpRequest) -> HttpResponse:
    if not _signed(request):
        return HttpResponseForbidden()
    message_id, reported = request.POST.get("MessageSid", ""), request.POST.get("MessageStatus", "")
    status = TWILIO_STATUSES.get(reported)
    if message_id and status:
        with transaction.atomic():
            entry = ReminderLog.objects.select_for_update().filter(sms_message_id=message_id).first()
            if entry is not None and entry.advance_sms(status):
                code = request.POST.get("ErrorCode", "")
                entry.sms_status, entry.sms_updated_at = status, timezone.now()
                entry.sms_error = f"twilio-{code}" if code.isdigit() else entry.sms_error
                entry.save(update_fields=["sms_status", "sms_error", "sms_updated_at"])
    return HttpResponse(status=204)


def _clients_with_number(number: str) -> list[Client]:
    """Client records whose phone is this E.164 number, written any common way: +44 7700 900555,
    0044…, or the national 07700 900555."""
    digits = re.sub(r"\D", "", number)
    if len(digits) < 7:
        return []
    stored: Func = Replace(F("phone"), Value(" "), Value(""))
    for char in "-().+":
        stored = Replace(stored, Value(char), Value(""))
    candidates = Client.objects.annotate(phone_digits=stored).filter(phone_digits__endswith=digits[-7:])
    found = []
    for client in candidates:
        mine = re.sub(r"\D", "", client.phone)
        if mine == digits or (mine.startswith("00") and mine[2:] == digits) or (mine.startswith("0") and digits.endswith(mine[1:])):
            found.append(client)
    return found


@csrf_exempt
@require_POST
def sms_inbound(request: HttpRequest) -> HttpResponse:
    """Honour STOP and START replies; anything else is left alone (and not stored: texts are not a
    clinical channel). Twilio sends its own confirmation reply to the standard keywords."""
    if not _signed(request):
        return HttpResponseForbidden()
    word = request.POST.get("Body", "").strip().rstrip(".!").upper()
    wanted = False if word in STOP_WORDS else True if word in START_WORDS else None
    if wanted is not None:
        number = request.POST.get("From", "")
        with transaction.atomic():
            changed = [c for c in _clients_with_number(number) if c.reminders_by_sms != wanted]
            for client in changed:
                Client.objects.filter(pk=client.pk).update(reminders_by_sms=wanted)
                audit_record(
                    action=Action.UPDATE,
                    obj=client,
                    role="sms",
                    detail={"field": "reminders_by_sms", "to": wanted, "via": "text reply"},
                )
        log.info("text reply from %s: reminders by text %s for %d record(s)", mask_number(number), "on" if wanted else "off", len(changed))
    return HttpResponse(EMPTY_TWIML, content_type="text/xml")
