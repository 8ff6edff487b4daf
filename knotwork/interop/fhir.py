"""FHIR R4 export: one client (or one episode) as a ``collection`` Bundle.

Validated with ``fhir.resources`` 8.x, whose R4-family models live in ``fhir.resources.R4B``
(4.3.0; the installed package ships R5 as its default, R4B and STU3, no 4.0.1 package). For the
resources used here R4B and R4 have the same shape, so a bundle that validates against R4B is a
valid R4 bundle; we declare nothing R4B-only.

Entries carry stable ``urn:uuid`` full URLs (UUID 5 of the row's type and id) and reference each
other by them, so the same data always exports to the same bundle. Codes:

- NPRS: LOINC 72514-3. Every measure also carries a local code (``CS_MEASURE``), the only code
  for the others: we found no LOINC code we could verify for them.
- Body sites: the atlas region id in ``CS_REGION``; laterality as a component coded with SNOMED CT
  272741003 (Laterality) and 7771000 (left) / 24028007 (right) / 51440002 (both).
- Techniques and trigger points: ``CS_TECHNIQUE`` and ``CS_TRIGGER_POINT`` (atlas ids).
The local code systems sit under ``https://knotwork.invalid/fhir/`` (``.invalid`` never resolves:
these are identifiers, not addresses) and are described in docs/interop.md.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from knotwork.accounts.models import Clinic
from knotwork.atlas.loader import atlas
from knotwork.care.models import Episode, EpisodeStatus, TechniqueApplication, TriggerPointFinding, Visit
from knotwork.clients.models import Client, ConsentSignature, IntakeStatus, IntakeSubmission, PainDrawing
from knotwork.outcomes import scoring
from knotwork.outcomes.models import OutcomeResponse

BASE = "https://knotwork.invalid/fhir"
CS_MEASURE = f"{BASE}/CodeSystem/outcome-measure"
CS_REGION = f"{BASE}/CodeSystem/body-region"
CS_TECHNIQUE = f"{BASE}/CodeSystem/technique"
CS_TRIGGER_POINT = f"{BASE}/CodeSystem/trigger-point"
CS_FINDING = f"{BASE}/CodeSystem/finding"
SID_CLIENT = f"{BASE}/sid/client"
SID_USER = f"{BASE}/sid/user"
SID_CLINIC = f"{BASE}/sid/clinic"
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
LATERALITY = {"left": ("7771000", "Left"), "right": ("24028007", "Right"), "midline": ("51440002", "Right and left")}
GENDER = {"female": "female", "male": "male", "other": "other"}
_NS = uuid.UUID("7f4c6a9e-3b9e-4f0e-9a57-6b8f7f0c2d11")


def ref_of(kind: str, pk: object) -> str:
    return f"urn:uuid:{uuid.uuid5(_NS, f'{kind}/{pk}')}"


def _ref(kind: str, pk: object, display: str = "") -> dict[str, str]:
    return {"reference": ref_of(kind, pk), **({"display": display} if display else {})}


def _dt(value: datetime | date | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return value.isoformat()


def _entry(kind: str, pk: object, resource: dict[str, Any]) -> dict[str, Any]:
    resource = {"resourceType": kind, "id": str(uuid.uuid5(_NS, f"{kind}/{pk}")), **resource}
    return {"fullUrl": ref_of(kind, pk), "resource": _clean(resource)}


def _clean(value: Any) -> Any:
    """Drop empty values: FHIR forbids empty strings, lists and objects."""
    if isinstance(value, dict):
        cleaned = {k: _clean(v) for k, v in value.items()}
        return {k: v for k, v in cleaned.items() if v not in (None, "", [], {})}
    if isinstance(value, list):
        return [c for c in (_clean(v) for v in value) if c not in (None, "", [], {})]
    return value


def _region_concept(region_id: str, side: str = "") -> dict[str, Any]:
    region = atlas().region_by_id.get(region_id)
    name = region.name if region else region_id
    return {"coding": [{"system": CS_REGION, "code": region_id, "display": name}], "text": f"{name} ({side})" if side else name}


def _laterality(side: str) -> dict[str, Any] | None:
    if side not in LATERALITY:
        return None
    code, display = LATERALITY[side]
    return {"code": {"coding": [{"system": SNOMED, "code": "272741003", "display": "Laterality"}]},
            "valueCodeableConcept": {"coding": [{"system": SNOMED, "code": code, "display": display}]}}  # fmt: skip


# --- resources -------------------------------------------------------------------------------


def patient(client: Client) -> dict[str, Any]:
    telecom = [{"system": "email", "value": client.email}] if client.email else []
    if client.phone:
        telecom.append({"system": "phone", "value": client.phone})
    contact = []
    if client.emergency_contact_name:
        contact.append({"relationship": [{"text": "Emergency contact"}], "name": {"text": client.emergency_contact_name},
                        "telecom": [{"system": "phone", "value": client.emergency_contact_phone}]
                        if client.emergency_contact_phone else []})  # fmt: skip
    return _entry("Patient", client.pk, {
        "identifier": [{"system": SID_CLIENT, "value": str(client.pk)}], "active": client.archived_at is None,
        "name": [{"family": client.last_name, "given": [client.first_name], "text": client.full_name}],
        "telecom": telecom, "gender": GENDER.get(client.sex, "unknown"), "birthDate": _dt(client.date_of_birth),
        "address": [{"text": client.address}] if client.address else [], "contact": contact,
        "managingOrganization": _ref("Organization", client.clinic_id, client.clinic.name),
    })  # fmt: skip


def organization(clinic: Clinic) -> dict[str, Any]:
    address = {
        "line": [clinic.address] if clinic.address else [],
        "city": clinic.city,
        "postalCode": clinic.postcode,
        "country": clinic.country,
    }
    return _entry("Organization", clinic.pk, {
        "identifier": [{"system": SID_CLINIC, "value": str(clinic.pk)}], "name": clinic.name,
        "telecom": [{"system": "phone", "value": clinic.phone}] if clinic.phone else [], "address": [address],
    })  # fmt: skip


def practitioner(user: Any) -> dict[str, Any]:
    return _entry("Practitioner", user.pk, {"identifier": [{"system": SID_USER, "value": str(user.pk)}], "name": [{"text": str(user)}]})


def condition(episode: Episode, drawing: PainDrawing | None) -> dict[str, Any]:
    status = {"active": "active", "paused": "inactive", "discharged": "resolved"}[episode.status]
    sites = []
    if drawing is not None:
        seen: set[str] = set()
        for mark in sorted(drawing.marks, key=lambda m: -int(m.get("intensity", 0)))[:6]:
            region, _, side = str(mark.get("cell", "")).partition(":")
            if region and f"{region}:{side}" not in seen:
                seen.add(f"{region}:{side}")
                sites.append(_region_concept(region, side))
    return _entry("Condition", episode.pk, {
        "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": status}]},
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-category", "code": "problem-list-item"}]}],
        "code": {"text": episode.complaint}, "bodySite": sites, "subject": _ref("Patient", episode.client_id),
        "onsetDateTime": _dt(episode.started_on),
        "abatementDateTime": _dt(episode.ended_on) if episode.status == EpisodeStatus.DISCHARGED else None,
        "recordedDate": _dt(episode.created_at),
    })  # fmt: skip


def encounter(visit: Visit) -> dict[str, Any]:
    return _entry("Encounter", visit.pk, {
        "status": "finished" if visit.signed_at else "in-progress",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB", "display": "ambulatory"},
        "type": [{"text": "Neuromuscular therapy session"}], "subject": _ref("Patient", visit.client_id),
        "participant": [{"individual": _ref("Practitioner", visit.therapist_id, str(visit.therapist))}],
        "period": {"start": _dt(visit.started_at)}, "reasonReference": [_ref("Condition", visit.episode_id)],
        "serviceProvider": _ref("Organization", visit.clinic_id),
    })  # fmt: skip


def finding_observation(f: TriggerPointFinding) -> dict[str, Any]:
    tp = f.trigger_point
    region = tp.data.get("location", {}).get("region", "") if isinstance(tp.data, dict) else ""
    components = [c for c in [
        _laterality(f.side),
        {"code": {"coding": [{"system": CS_FINDING, "code": "status"}], "text": "Trigger point status"}, "valueString": f.status},
        {"code": {"coding": [{"system": CS_FINDING, "code": "familiar-pain"}]}, "valueBoolean": f.familiar_pain},
        {"code": {"coding": [{"system": CS_FINDING, "code": "local-twitch-response"}]}, "valueBoolean": f.twitch_response},
        {"code": {"coding": [{"system": CS_FINDING, "code": "tenderness"}]}, "valueInteger": f.tenderness}
        if f.tenderness is not None else None,
        {"code": {"coding": [{"system": CS_MEASURE, "code": "ppt"}], "text": "Pressure-pain threshold"},
         "valueQuantity": {"value": float(f.ppt_kg_cm2), "unit": "kg/cm2", "system": UCUM, "code": "kg/cm2"}}
        if f.ppt_kg_cm2 is not None else None,
    ] if c]  # fmt: skip
    site = _region_concept(region, f.side) if region else {"text": tp.muscle.name}
    site.setdefault("text", tp.muscle.name)
    return _entry("Observation", f"tp-{f.pk}", {
        "status": "final", "category": [{"coding": [{"system": OBS_CATEGORY, "code": "exam"}]}],
        "code": {"coding": [{"system": CS_TRIGGER_POINT, "code": tp.pk, "display": f"{tp.muscle.name}: {tp.name}"}],
                 "text": "Myofascial trigger point examination"},
        "subject": _ref("Patient", f.visit.client_id), "encounter": _ref("Encounter", f.visit_id),
        "effectiveDateTime": _dt(f.visit.started_at), "bodySite": site, "component": components,
    })  # fmt: skip


def procedure(t: TechniqueApplication) -> dict[str, Any]:
    return _entry("Procedure", t.pk, {
        "status": "completed", "code": {"coding": [{"system": CS_TECHNIQUE, "code": t.technique}], "text": t.technique.replace("-", " ")},
        "subject": _ref("Patient", t.visit.client_id), "encounter": _ref("Encounter", t.visit_id),
        "performedDateTime": _dt(t.created_at), "performer": [{"actor": _ref("Practitioner", t.visit.therapist_id)}],
        "bodySite": [{"text": f"{t.muscle.name} ({t.side})"}],
        "note": [{"text": f"Hold {t.hold_s} s x {t.reps}; pressure {t.pressure}/10; response: {t.get_response_display()}."}],
    })  # fmt: skip


def _measure_code(m: scoring.Measure | None, measure_id: str) -> dict[str, Any]:
    coding = (
        [{"system": LOINC, "code": m.loinc, "display": "Pain severity - 0-10 verbal numeric rating [Score] - Reported"}]
        if m and m.loinc
        else []
    )
    coding.append({"system": CS_MEASURE, "code": measure_id, "display": m.name if m else measure_id})
    return {"coding": coding, "text": m.name if m else measure_id}


def measure_observation(r: OutcomeResponse) -> dict[str, Any]:
    m = scoring.measures().get(r.measure)
    unit = "kg/cm2" if r.measure == "ppt" else "%" if r.measure in ("pain_extent", "odi") else "{score}"
    category = "exam" if r.measure == "ppt" else "survey"
    return _entry("Observation", f"m-{r.pk}", {
        "status": "final", "category": [{"coding": [{"system": OBS_CATEGORY, "code": category}]}],
        "code": _measure_code(m, r.measure), "subject": _ref("Patient", r.client_id), "focus": [_ref("Condition", r.episode_id)],
        "effectiveDateTime": _dt(r.taken_at), "valueQuantity": {"value": float(r.score), "unit": m.unit if m and m.unit else unit,
                                                                "system": UCUM, "code": unit},
        "derivedFrom": [_ref("QuestionnaireResponse", f"m-{r.pk}")],
        "method": {"text": r.scoring_rule} if r.scoring_rule else None,
    })  # fmt: skip


def _answer(value: Any) -> list[dict[str, Any]]:
    if value is None or value == "" or value == []:
        return []
    if isinstance(value, bool):
        return [{"valueBoolean": value}]
    if isinstance(value, int):
        return [{"valueInteger": value}]
    if isinstance(value, float):
        return [{"valueDecimal": value}]
    if isinstance(value, list):
        return [a for v in value for a in _answer(v if not isinstance(v, dict | list) else str(v))]
    return [{"valueString": str(value)}]


def measure_questionnaire_response(r: OutcomeResponse) -> dict[str, Any]:
    items = []
    for key, value in r.items.items():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            for n, row in enumerate(value):
                items.append({"linkId": f"{key}.{n}", "item": [{"linkId": f"{key}.{n}.{k}", "answer": _answer(v)} for k, v in row.items()]})
        else:
            items.append({"linkId": key, "answer": _answer(value)})
    return _entry("QuestionnaireResponse", f"m-{r.pk}", {
        "questionnaire": f"{BASE}/Questionnaire/{r.measure}|{r.measure_version}", "status": "completed",
        "subject": _ref("Patient", r.client_id), "authored": _dt(r.taken_at),
        "source": _ref("Patient", r.client_id) if r.source == "portal" else None, "item": items,
    })  # fmt: skip


def intake_questionnaire_response(i: IntakeSubmission) -> dict[str, Any]:
    items = []
    for key, entry in i.answers.items():
        if isinstance(entry, dict):
            items.append({"linkId": key, "text": str(entry.get("q", ""))[:500], "answer": _answer(entry.get("a"))})
    return _entry("QuestionnaireResponse", f"intake-{i.pk}", {
        "questionnaire": f"{BASE}/Questionnaire/intake|{i.form_version}",
        "status": "in-progress" if i.status == IntakeStatus.DRAFT else "completed",
        "subject": _ref("Patient", i.client_id), "authored": _dt(i.submitted_at or i.updated_at), "item": items,
    })  # fmt: skip


def document_reference(
    kind: str, pk: object, *, client_id: int, title: str, when: datetime, data: bytes, encounter_id: int | None = None
) -> dict[str, Any]:
    return _entry("DocumentReference", f"{kind}-{pk}", {
        "status": "current", "type": {"text": title}, "subject": _ref("Patient", client_id), "date": _dt(when),
        "description": title,
        "content": [{"attachment": {"contentType": "application/pdf", "data": base64.b64encode(data).decode(), "size": len(data),
                                    "hash": base64.b64encode(hashlib.sha1(data).digest()).decode(),  # noqa: S324  (FHIR defines Attachment.hash as SHA-1)
                                    "title": title, "creation": _dt(when)}}],
        "context": {"encounter": [_ref("Encounter", encounter_id)]} if encounter_id else None,
    })  # fmt: skip


# --- bundles ---------------------------------------------------------------------------------


def _visits(client: Client, episode: Episode | None) -> QuerySet[Visit]:
    qs = Visit.objects.filter(client=client) if episode is None else Visit.objects.filter(episode=episode)
    return (
        qs.select_related("therapist", "client", "clinic", "episode", "signed_by", "carried_from")
        .prefetch_related(
            Prefetch("findings", queryset=TriggerPointFinding.objects.select_related("trigger_point__muscle", "visit")),
            Prefetch("techniques", queryset=TechniqueApplication.objects.select_related("muscle", "trigger_point", "visit")),
            "addenda",
        )
        .order_by("started_at", "id")
    )


def bundle_for(client: Client, *, episode: Episode | None = None, documents: bool = True) -> dict[str, Any]:
    """The client's record (or one episode of it) as a FHIR R4 collection Bundle (a dict)."""
    from knotwork.care.documents import note_pdf
    from knotwork.clients.documents import consent_pdf

    episodes = (
        [episode] if episode else list(Episode.objects.filter(client=client).prefetch_related("drawings").order_by("started_on", "id"))
    )
    visits = list(_visits(client, episode))
    entries = [patient(client), organization(client.clinic)]
    therapists = {v.therapist_id: v.therapist for v in visits}
    entries += [practitioner(u) for u in therapists.values()]
    for ep in episodes:
        entries.append(condition(ep, ep.drawings.order_by("taken_at").first()))
    for v in visits:
        entries.append(encounter(v))
        entries += [finding_observation(f) for f in v.findings.all()]
        entries += [procedure(t) for t in v.techniques.all()]
        if documents and v.signed_at:
            entries.append(document_reference("visit-note", v.pk, client_id=client.pk, title="Signed visit note", when=v.signed_at,
                                              data=note_pdf(v).content, encounter_id=v.pk))  # fmt: skip
    responses = OutcomeResponse.objects.filter(client=client, episode__in=episodes).order_by("taken_at", "id")
    for r in responses:
        entries += [measure_observation(r), measure_questionnaire_response(r)]
    if episode is None:
        for i in IntakeSubmission.objects.filter(client=client).order_by("created_at", "id"):
            entries.append(intake_questionnaire_response(i))
        if documents:
            for sig in ConsentSignature.objects.filter(client=client).select_related("clinic", "client").order_by("signed_at", "id"):
                entries.append(document_reference("consent", sig.pk, client_id=client.pk, title=f"{sig.title} v{sig.version} (signed)",
                                                  when=sig.signed_at, data=consent_pdf(sig)))  # fmt: skip
    return {"resourceType": "Bundle", "id": str(uuid.uuid5(_NS, f"Bundle/{client.pk}/{episode.pk if episode else 'all'}")),
            "type": "collection", "timestamp": _dt(timezone.now()), "entry": entries}  # fmt: skip


def validate(bundle: dict[str, Any]) -> Any:
    """Parse the bundle with the R4-family models; raises pydantic's ValidationError when invalid."""
    from fhir.resources.R4B.bundle import Bundle

    return Bundle.model_validate(bundle)


def resource_types(entries: Iterable[dict[str, Any]]) -> set[str]:
    return {e["resource"]["resourceType"] for e in entries}
