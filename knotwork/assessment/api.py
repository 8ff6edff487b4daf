"""Assessments over the API, with the same access rules as the pages (clinical roles of the client's clinic)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponseBase
from ninja import Field, File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile

from knotwork.accounts.models import ApiToken
from knotwork.assessment import selectors, services
from knotwork.assessment.models import Assessment, Photo, PostureFinding, RomMeasurement
from knotwork.audit.models import Action
from knotwork.audit.services import audit_many, audit_record
from knotwork.clients.selectors import get_client_for_user
from knotwork.lib.api import PageParams, api_membership, clinic_time, page_of
from knotwork.lib.uploads import UploadRejected, private_image_response

router = Router(tags=["assessment"])

READ, WRITE = ApiToken.Scope.CLIENTS_READ, ApiToken.Scope.CLIENTS_WRITE


class PostureFindingOut(Schema):
    id: int
    kind: str
    side: str
    severity: str
    note: str


class PostureFindingIn(Schema):
    kind: PostureFinding.Kind
    side: Literal["", "left", "right", "both"] = ""
    severity: PostureFinding.Severity = PostureFinding.Severity.MILD
    note: str = Field("", max_length=500)


class PhotoMeasureOut(Schema):
    name: str
    value: float
    unit: str
    flags: list[str]


class PhotoOut(Schema):
    id: int
    view: str
    facing: int
    width: int
    height: int
    calibration_cm: float | None
    image_url: str
    landmarks: dict[str, list[float]]
    measures: list[PhotoMeasureOut]


class RomOut(Schema):
    id: int
    motion: str
    side: str
    mode: str
    degrees: int
    method: str
    pain: int | None
    end_feel: str
    note: str


class RomIn(Schema):
    motion: str = Field(..., max_length=40)
    side: Literal["", "left", "right"] = ""
    mode: RomMeasurement.Mode = RomMeasurement.Mode.ACTIVE
    degrees: int = Field(..., ge=-90, le=220)
    method: RomMeasurement.Method = RomMeasurement.Method.GONIOMETER
    pain: int | None = Field(None, ge=0, le=10)
    end_feel: RomMeasurement.EndFeel = RomMeasurement.EndFeel.NOT_TESTED
    note: str = Field("", max_length=300)


class MovementTestOut(Schema):
    id: int
    test: str
    side: str
    result: str
    note: str


class AssessmentSummary(Schema):
    id: int
    client_id: int
    taken_at: datetime
    position: str


class AssessmentOut(AssessmentSummary):
    note: str
    findings: list[PostureFindingOut]
    photos: list[PhotoOut]
    rom: list[RomOut]
    movement_tests: list[MovementTestOut]
    implicated_muscles: dict[str, str] = Field(..., description="muscle id → reason; the engine's context.implicated_muscles")


class AssessmentIn(Schema):
    taken_at: datetime | None = Field(None, description="default now; without an offset, the clinic's local time")
    position: Assessment.Position = Assessment.Position.STANDING
    note: str = Field("", max_length=5000)


class AssessmentPage(Schema):
    items: list[AssessmentSummary]
    count: int
    page: int
    page_size: int


class LandmarksIn(Schema):
    landmarks: dict[str, list[float]] = Field(..., description="landmark name → [x, y] in photo pixels, y pointing down")
    calibration_cm: float | None = Field(None, ge=1, le=1000)
    facing: Literal[1, -1] | None = None


def _photo_out(photo: Photo) -> dict[str, Any]:
    return {
        "id": photo.pk,
        "view": photo.view,
        "facing": photo.facing,
        "width": photo.width,
        "height": photo.height,
        "calibration_cm": float(photo.calibration_cm) if photo.calibration_cm is not None else None,
        "image_url": f"/api/assessments/photos/{photo.pk}/image",
        "landmarks": {lm.name: [lm.x, lm.y] for lm in photo.landmarks.all()},
        "measures": [
            {"name": r.id, "value": r.value, "unit": r.unit, "flags": [f.label for f in r.flags]} for r in selectors.measure_rows(photo)
        ],
    }


def _assessment_out(pk: int) -> dict[str, Any]:
    a = selectors.assessment_full(pk)
    return {
        "id": a.pk,
        "client_id": a.client_id,
        "taken_at": a.taken_at,
        "position": a.position,
        "note": a.note,
        "findings": list(a.findings.all()),
        "photos": [_photo_out(p) for p in a.photos.all()],
        "rom": list(a.rom.all()),
        "movement_tests": list(a.movement_tests.all()),
        "implicated_muscles": selectors.implicated_muscles_for_assessment(a),
    }


@router.get("/clients/{client_id}/assessments", response=AssessmentPage, url_name="assessment_list", summary="A client's assessments")
def list_assessments(request: HttpRequest, client_id: int, paging: Query[PageParams]):  # type: ignore[no-untyped-def]
    membership = api_membership(request, READ)
    client, _ = get_client_for_user(membership.user, client_id, clinical=True, clinic_id=membership.clinic_id)
    rows, counts = page_of(Assessment.objects.for_client(client), paging)
    audit_many(action=Action.LIST, objects=rows, clinic=membership.clinic, role=membership.role)
    return {"items": rows, **counts}


@router.post("/clients/{client_id}/assessments", response={201: AssessmentOut}, url_name="assessment_create", summary="Start an assessment")
def create_assessment(request: HttpRequest, client_id: int, payload: AssessmentIn):  # type: ignore[no-untyped-def]
    membership = api_membership(request, WRITE)
    client, _ = get_client_for_user(membership.user, client_id, write=True, clinical=True, clinic_id=membership.clinic_id)
    data = payload.dict()
    data["taken_at"] = clinic_time(data["taken_at"], client.clinic)
    assessment = services.assessment_create(client=client, membership=membership, data=data)
    return Status(201, _assessment_out(assessment.pk))


@router.get(
    "/clients/{client_id}/implicated-muscles",
    response=dict[str, str],
    url_name="assessment_implicated_muscles",
    summary="Muscles the client's latest assessment implicates, with reasons",
)
def implicated_muscles(request: HttpRequest, client_id: int):  # type: ignore[no-untyped-def]
    membership = api_membership(request, READ)
    client, _ = get_client_for_user(membership.user, client_id, clinical=True, clinic_id=membership.clinic_id)
    return selectors.implicated_muscles_for_client(client)


@router.get("/assessments/{assessment_id}", response=AssessmentOut, url_name="assessment_get", summary="One assessment with its measures")
def get_assessment(request: HttpRequest, assessment_id: int):  # type: ignore[no-untyped-def]
    membership = api_membership(request, READ)
    assessment, _ = selectors.get_assessment_for_user(membership.user, assessment_id, clinic_id=membership.clinic_id)
    return _assessment_out(assessment.pk)


@router.post(
    "/assessments/{assessment_id}/findings",
    response={201: PostureFindingOut},
    url_name="assessment_finding_create",
    summary="Add a posture finding",
)
def add_finding(request: HttpRequest, assessment_id: int, payload: PostureFindingIn):  # type: ignore[no-untyped-def]
    membership = api_membership(request, WRITE)
    assessment, _ = selectors.get_assessment_for_user(membership.user, assessment_id, write=True, clinic_id=membership.clinic_id)
    return Status(201, services.finding_add(assessment=assessment, membership=membership, data=payload.dict()))


@router.post("/assessments/{assessment_id}/rom", response={201: RomOut}, url_name="assessment_rom_create", summary="Add a ROM reading")
def add_rom(request: HttpRequest, assessment_id: int, payload: RomIn):  # type: ignore[no-untyped-def]
    membership = api_membership(request, WRITE)
    assessment, _ = selectors.get_assessment_for_user(membership.user, assessment_id, write=True, clinic_id=membership.clinic_id)
    return Status(201, services.rom_add(assessment=assessment, membership=membership, data=payload.dict()))


@router.post(
    "/assessments/{assessment_id}/photos",
    response={201: PhotoOut},
    url_name="assessment_photo_create",
    summary="Upload a posture photo (re-encoded; metadata removed)",
)
def upload_photo(  # type: ignore[no-untyped-def]
    request: HttpRequest,
    assessment_id: int,
    view: Form[Photo.ViewChoice],
    image: File[UploadedFile],
    facing: Form[Literal[1, -1] | None] = None,
):
    membership = api_membership(request, WRITE)
    assessment, _ = selectors.get_assessment_for_user(membership.user, assessment_id, write=True, clinic_id=membership.clinic_id)
    try:
        photo = services.photo_add(
            assessment=assessment, membership=membership, upload=image, name=image.name or "", view=view, facing=facing
        )
    except UploadRejected as exc:
        raise ValidationError({"image": str(exc)}) from exc
    return Status(201, _photo_out(photo))


@router.get(
    "/assessments/photos/{photo_id}", response=PhotoOut, url_name="assessment_photo_get", summary="A photo's landmarks and measures"
)
def get_photo(request: HttpRequest, photo_id: int):  # type: ignore[no-untyped-def]
    membership = api_membership(request, READ)
    photo, _ = selectors.get_photo_for_user(membership.user, photo_id, clinic_id=membership.clinic_id)
    return _photo_out(photo)


@router.get(
    "/assessments/photos/{photo_id}/image",
    url_name="assessment_photo_download",
    summary="The photo itself (JPEG)",
    openapi_extra={"responses": {200: {"description": "JPEG image", "content": {"image/jpeg": {}}}}},
)
def download_photo(request: HttpRequest, photo_id: int) -> HttpResponseBase:
    membership = api_membership(request, READ)
    photo, _ = selectors.get_photo_for_user(membership.user, photo_id, audit=False, clinic_id=membership.clinic_id)
    audit_record(
        action=Action.VIEW,
        obj=photo,
        clinic=photo.assessment.clinic_id,
        role=membership.role,
        detail={"file": "image", "client": photo.assessment.client_id},
    )
    return private_image_response(photo.image_name)


@router.put(
    "/assessments/photos/{photo_id}/landmarks",
    response=PhotoOut,
    url_name="assessment_landmarks_put",
    summary="Replace a photo's landmarks; measures are recomputed on the server",
)
def put_landmarks(request: HttpRequest, photo_id: int, payload: LandmarksIn):  # type: ignore[no-untyped-def]
    membership = api_membership(request, WRITE)
    photo, _ = selectors.get_photo_for_user(membership.user, photo_id, write=True, clinic_id=membership.clinic_id)
    points = services.parse_landmarks(photo, payload.landmarks)
    services.landmarks_save(photo=photo, membership=membership, points=points, calibration_cm=payload.calibration_cm, facing=payload.facing)
    return _photo_out(photo)
