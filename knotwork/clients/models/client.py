from __future__ import annotations

from datetime import date

from django.conf import settings
from django.db import models
from django.db.models import Q

from knotwork.accounts.models import Clinic
from knotwork.lib.crypto import EncryptedTextField


class ClientQuerySet(models.QuerySet["Client"]):
    def for_clinic(self, clinic: Clinic) -> ClientQuerySet:
        return self.filter(clinic=clinic)

    def active(self) -> ClientQuerySet:
        return self.filter(archived_at__isnull=True)

    def search(self, text: str) -> ClientQuerySet:
        q = Q()
        for word in text.split()[:5]:
            q &= Q(first_name__icontains=word) | Q(last_name__icontains=word) | Q(email__icontains=word) | Q(phone__icontains=word)
        return self.filter(q)


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
    clinical_alerts = EncryptedTextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    archived_at = models.DateTimeField(null=True, blank=True)
    # Set by an erasure request (knotwork.clients.erasure): identifiers are gone and the clinical
    # records kept under a retention duty are processing-restricted, hidden from every normal view.
    restricted_at = models.DateTimeField(null=True, blank=True)

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
