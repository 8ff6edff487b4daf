"""What a US superbill adds to a receipt or statement: the clinic's tax id and place of service, each
practitioner's NPI, the ICD-10 codes of the episodes the treatments belong to (lettered A, B, …
as a claim form points at them), and a CPT code per service.

Codes are checked for form where they are typed (``knotwork.lib.claim_codes``): the CPT code and
modifier on the service, the ICD-10 codes on the care episode, the NPI on the therapist's
directory profile, the place of service on the clinic. A line prints its service's code as it is
now (invoice lines keep no copy of it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from string import ascii_uppercase

from knotwork.accounts.models import Clinic
from knotwork.billing.models import InvoiceLine
from knotwork.care.models import Episode, Visit
from knotwork.clients.models import Client
from knotwork.directory.models import TherapistProfile
from knotwork.lib.claim_codes import MAX_DIAGNOSES

POINTERS_PER_LINE = 4  # a claim line points at up to four diagnoses
PLACES_OF_SERVICE = {
    "02": "Telehealth provided other than in patient's home",
    "10": "Telehealth provided in patient's home",
    "11": "Office",
    "12": "Home",
    "22": "On campus - outpatient hospital",
    "49": "Independent clinic",
}


@dataclass
class Claim:
    """The superbill's codes for a set of invoice lines."""

    diagnoses: list[tuple[str, str, str]] = field(default_factory=list)  # (letter, code, description)
    pointers: dict[int, str] = field(default_factory=dict)  # line id -> "AB"
    npi: dict[int, str] = field(default_factory=dict)  # therapist id -> NPI

    def cpt(self, line: InvoiceLine) -> str:
        service = line.service
        if service is None or not service.cpt_code:
            return "-"
        return service.cpt_code + (f"-{service.cpt_modifier}" if service.cpt_modifier else "")


def place_of_service(clinic: Clinic) -> str:
    code = clinic.place_of_service
    return f"{code} ({PLACES_OF_SERVICE[code]})" if code in PLACES_OF_SERVICE else code


def claim_for(lines: Sequence[InvoiceLine], client: Client, clinic_id: int) -> Claim:
    """Diagnoses, pointers and NPIs for ``lines`` (loaded with ``invoice`` and ``service``).

    A line's episode is that of the visit charted for the invoice's appointment; a line with no
    charted visit takes the client's episodes open on its date.
    """
    claim = Claim()
    appointments = {line.invoice.appointment_id for line in lines if line.invoice.appointment_id}
    charted = dict(Visit.objects.filter(appointment_id__in=appointments).values_list("appointment_id", "episode_id"))
    episodes = list(Episode.objects.filter(client=client).order_by("started_on", "id"))
    letters: dict[str, str] = {}
    for line in lines:
        if line.invoice.appointment_id in charted:
            mine = [e for e in episodes if e.pk == charted[line.invoice.appointment_id]]
        elif line.service_date:
            day = line.service_date
            mine = [e for e in episodes if e.started_on <= day and (e.ended_on is None or e.ended_on >= day)]
        else:
            mine = []
        pointers = []
        for episode in mine:
            for d in episode.diagnosis_codes or []:
                code = d.get("code", "")
                if code and code not in letters and len(letters) < MAX_DIAGNOSES:
                    letters[code] = ascii_uppercase[len(letters)]
                    claim.diagnoses.append((letters[code], code, d.get("description", "")))
                if code in letters and letters[code] not in pointers:
                    pointers.append(letters[code])
        claim.pointers[line.pk] = "".join(pointers[:POINTERS_PER_LINE])
    therapists = {line.therapist_id for line in lines if line.therapist_id}
    profiles = TherapistProfile.objects.filter(clinic_id=clinic_id, user_id__in=therapists).exclude(npi="")
    claim.npi = dict(profiles.values_list("user_id", "npi"))
    return claim


def wanted(clinic: Clinic, asked: str | None) -> bool:
    """A superbill when the user asks for one (``?superbill=1``), else when the clinic prints them
    by default; ``?superbill=0`` asks for the plain receipt."""
    if asked in ("1", "on", "true"):
        return True
    if asked in ("0", "off", "false"):
        return False
    return clinic.us_superbill
