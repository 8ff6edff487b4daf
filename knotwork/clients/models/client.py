from __future__ import annotations

import re
from datetime import date

from django.conf import settings
from django.db import models
from django.db.models import F, Func, Q, Value
from django.db.models.functions import Replace
from django.db.models.lookups import IContains

from knotwork.accounts.models import Clinic
from knotwork.lib.crypto import EncryptedTextField


class ClientQuerySet(models.QuerySet["Client"]):
    def for_clinic(self, clinic: Clinic) -> ClientQuerySet:
        return self.filter(clinic=clinic)

    def active(self) -> ClientQuerySet:
        return self.filter(archived_at__isnull=True)

    def search(self, text: str) -> ClientQuerySet:
        """Every word must match a name, e-mail or phone (ignoring the phone's spaces, dashes and
        brackets); a word that reads as a date (2026-03-02, 2/3/2026 either way round) also matches
        the date of birth."""
        q = Q()
        for word in text.split()[:5]:
            match = Q(first_name__icontains=word) | Q(last_name__icontains=word) | Q(email__icontains=word) | Q(phone__icontains=word)
            digits = re.sub(r"[\s().-]", "", word)
            if len(digits) >= 4 and digits.lstrip("+").isdigit():
                match |= Q(IContains(_phone_digits(), digits))
            born = _dates_in(word)
            if born:
                match |= Q(date_of_birth__in=born)
            q &= match
        return self.filter(q)


def _phone_digits() -> Func:
    expression: Func = Replace(F("phone"), Value(" "), Value(""))
    for char in "-().":
        expression = Replace(expression, Value(char), Value(""))
    return expression


def _dates_in(word: str) -> list[date]:
    """The dates a typed word can mean: ISO (2026-03-02) or day and month either way round (2/3/2026)."""
    iso = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", word)
    parts = re.fullmatch(r"(\d{1,2})[/.](\d{1,2})[/.](\d{4})", word)
    if iso:
        candidates = [(int(iso[1]), int(iso[2]), int(iso[3]))]
    elif parts:
        a, b, year = int(parts[1]), int(parts[2]), int(parts[3])
        candidates = [(year, b, a), (year, a, b)]
    else:
        return []
    found = []
    for year, month, day in candidates:
        try:
            found.append(date(year, month, day))
        except ValueError:
            continue
    return found


class Household(models.Model):
    """A family at one clinic: the clients whose ``household`` is this row. Shareable packages
    bought by one member may pay for the others' sessions (docs/money.md, "Families"). A household
    never spans two clinics: knotwork.clients.family refuses it, and the database does too
    (migration 0009: a composite foreign key on PostgreSQL, triggers on SQLite)."""

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="households")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        # The target of the members' (household, clinic) foreign key on PostgreSQL.
        constraints = [models.UniqueConstraint(fields=["id", "clinic"], name="household_id_clinic_key")]

    def __str__(self) -> str:
        return f"Household {self.pk}"


class Client(models.Model):
    """A person receiving care at one clinic. The same person at two clinics is two records.

    Demographics are visible to front desk; ``clinical_alerts`` (allergies, precautions a
    therapist must see before touching the client) is clinical and is not.
    """

    class Sex(models.TextChoices):
        FEMALE = "female", "Female"
        MALE = "male", "Male"
        OTHER = "other", "Other / prefer to self-describe"
        UNDISCLOSED = "undisclosed", "Prefer not to say"

    class ReferralSource(models.TextChoices):
        """How a client came to the clinic: counted for new clients in the owner's practice report."""

        DIRECTORY = "directory", "Knotwork's therapist directory"
        SEARCH = "search", "Web search or map"
        FRIEND = "friend", "A friend or family member"
        CLINICIAN = "clinician", "A doctor, physiotherapist or other clinician"
        SOCIAL = "social", "Social media"
        EMPLOYER = "employer", "Employer, insurer or sports club"
        OTHER = "other", "Something else"

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="clients")
    portal_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="client_records"
    )
    first_name = models.CharField(max_length=80)
    last_name = models.CharField(max_length=80)
    preferred_name = models.CharField(max_length=80, blank=True)
    date_of_birth = models.DateField(null=True, blank=True)
    sex = models.CharField(max_length=12, choices=Sex.choices, default=Sex.UNDISCLOSED)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    address = models.CharField(max_length=250, blank=True)
    emergency_contact_name = models.CharField(max_length=120, blank=True)
    emergency_contact_phone = models.CharField(max_length=40, blank=True)
    # Reminder channels the client agreed to. Text messages are opt-in; confirmations and changes
    # to a booking are always e-mailed, since they are the booking itself rather than a reminder.
    reminders_by_email = models.BooleanField("e-mail reminders", default=True)
    reminders_by_sms = models.BooleanField("text message reminders", default=False)
    referral_source = models.CharField(
        "how they heard about the clinic", max_length=12, choices=ReferralSource.choices, blank=True, help_text="Optional."
    )
    clinical_alerts = EncryptedTextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    archived_at = models.DateTimeField(null=True, blank=True)
    # Set by an erasure request (knotwork.clients.erasure): identifiers are gone and the clinical
    # records kept under a retention duty are processing-restricted, hidden from every normal view.
    restricted_at = models.DateTimeField(null=True, blank=True)
    # Family link (knotwork.clients.family): set and cleared only by family_link / family_unlink.
    household = models.ForeignKey(Household, on_delete=models.PROTECT, null=True, blank=True, related_name="members")

    objects = ClientQuerySet.as_manager()

    class Meta:
        ordering = ["last_name", "first_name", "id"]
        indexes = [models.Index(fields=["clinic", "last_name", "first_name"], name="client_clinic_name_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["clinic", "portal_user"], condition=Q(portal_user__isnull=False), name="one_record_per_portal_user"
            ),
        ]

    def __str__(self) -> str:
        return self.full_name

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def age_on(self, day: date) -> int | None:
        if not self.date_of_birth:
            return None
        dob = self.date_of_birth
        return day.year - dob.year - ((day.month, day.day) < (dob.month, dob.day))
