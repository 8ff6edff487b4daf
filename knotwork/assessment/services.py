"""Writes for assessments. Each one is atomic and audited (ids and field names only, never text)."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import IO, Any

from django.core.exceptions import ValidationError
from django.db import transaction

from knotwork.accounts.models import Capability, Membership
from knotwork.accounts.permissions import require
from knotwork.assessment import angles
from knotwork.assessment.models import Assessment, Landmark, Measure, MovementTest, NormPreference, Photo, PostureFinding, RomMeasurement
from knotwork.assessment.norms import norms
from knotwork.audit.models import Action
from knotwork.audit.services import audit_record
from knotwork.clients.models import Client
from knotwork.lib.uploads import PHOTO_POLICY, ImagePolicy, clean_image, delete_stored, store_image

PHOTOS_PER_CLIENT = 200


def _check_clinical(membership: Membership, clinic_id: int) -> None:
    require(membership, Capability.EDIT_CLINICAL)
    if membership.clinic_id != clinic_id:
        raise ValidationError("This record belongs to another clinic.")


@transaction.atomic
def assessment_create(*, client: Client, membership: Membership, data: Mapping[str, Any]) -> Assessment:
    _check_clinical(membership, client.clinic_id)
    assessment = Assessment(clinic_id=client.clinic_id, client=client, therapist=membership.user, **data)
    assessment.full_clean()
    assessment.save()
    audit_record(action=Action.CREATE, obj=assessment, role=membership.role, detail={"client": client.pk, "fields": sorted(data)})
    return assessment


@transaction.atomic
def assessment_update(*, assessment: Assessment, membership: Membership, data: Mapping[str, Any]) -> Assessment:
    _check_clinical(membership, assessment.clinic_id)
    for key, value in data.items():
        setattr(assessment, key, value)
    assessment.full_clean()
    assessment.save()
    audit_record(action=Action.UPDATE, obj=assessment, role=membership.role, detail={"fields": sorted(data)})
    return assessment


@transaction.atomic
def assessment_delete(*, assessment: Assessment, membership: Membership) -> None:
    _check_clinical(membership, assessment.clinic_id)
    files = [n for p in assessment.photos.all() for n in (p.image_name, p.thumbnail_name)]
    audit_record(
        action=Action.DELETE, obj=assessment, role=membership.role, detail={"client": assessment.client_id, "photos": len(files) // 2}
    )
    assessment.delete()
    transaction.on_commit(lambda: delete_stored(*files))


def _record_add(row: Any, *, assessment: Assessment, membership: Membership, label: str, check: Callable[[Any], None] | None = None) -> Any:
    """Validate and save one row of an assessment (a finding, a reading, a test) for a clinical role
    of its clinic, and audit it by its ``label`` field. ``check`` adds a rule ``full_clean`` cannot."""
    _check_clinical(membership, assessment.clinic_id)
    row.full_clean()
    if check is not None:
        check(row)
    row.save()
    audit_record(
        action=Action.CREATE,
        obj=row,
        clinic=assessment.clinic_id,
        role=membership.role,
        detail={"assessment": assessment.pk, label: getattr(row, label)},
    )
    return row


def _record_delete(row: Any, *, membership: Membership) -> None:
    """Delete one row of an assessment, audited, for clinical roles of its clinic."""
    _check_clinical(membership, row.assessment.clinic_id)
    audit_record(
        action=Action.DELETE, obj=row, clinic=row.assessment.clinic_id, role=membership.role, detail={"assessment": row.assessment_id}
    )
    row.delete()


@transaction.atomic
def finding_add(*, assessment: Assessment, membership: Membership, data: Mapping[str, Any]) -> PostureFinding:
    return _record_add(PostureFinding(assessment=assessment, **data), assessment=assessment, membership=membership, label="kind")


@transaction.atomic
def finding_delete(*, finding: PostureFinding, membership: Membership) -> None:
    _record_delete(finding, membership=membership)


def photo_add(
    *,
    assessment: Assessment,
    membership: Membership,
    upload: IO[bytes],
    name: str,
    view: str,
    facing: int | None = None,
    policy: ImagePolicy = PHOTO_POLICY,
) -> Photo:
    """Check, re-encode and store one posture photo. Raises UploadRejected or ValidationError; on any
    failure nothing stays in storage."""
    _check_clinical(membership, assessment.clinic_id)
    if view not in Photo.ViewChoice.values:
        raise ValidationError({"view": "Choose front, back, right side or left side."})
    if Photo.objects.filter(assessment=assessment, view=view).exists():
        raise ValidationError({"view": "This assessment already has a photo of that view. Delete it first to replace it."})
    if Photo.objects.filter(assessment__client_id=assessment.client_id).count() >= PHOTOS_PER_CLIENT:
        raise ValidationError(f"This client already has {PHOTOS_PER_CLIENT} photos; delete some before adding more.")
    image = clean_image(upload, name=name, policy=policy)
    stored = store_image(image, folder=f"assessment/{assessment.clinic_id}")
    try:
        with transaction.atomic():
            photo = Photo.objects.create(
                assessment=assessment,
                view=view,
                facing=facing if facing in (1, -1) else angles.default_anterior(angles.View(view)),
                image_name=stored.name,
                thumbnail_name=stored.thumbnail_name,
                width=image.width,
                height=image.height,
                byte_size=len(image.data),
                original_name=image.display_name,
                uploaded_by=membership.user,
            )
            audit_record(
                action=Action.CREATE,
                obj=photo,
                clinic=assessment.clinic_id,
                role=membership.role,
                detail={"assessment": assessment.pk, "view": view, "bytes": len(image.data)},
            )
    except Exception:
        # The row never existed: the files must not outlive it.
        delete_stored(stored.name, stored.thumbnail_name)
        raise
    return photo


@transaction.atomic
def photo_delete(*, photo: Photo, membership: Membership) -> None:
    _check_clinical(membership, photo.assessment.clinic_id)
    names = (photo.image_name, photo.thumbnail_name)
    audit_record(
        action=Action.DELETE,
        obj=photo,
        clinic=photo.assessment.clinic_id,
        role=membership.role,
        detail={"assessment": photo.assessment_id, "view": photo.view},
    )
    photo.delete()
    transaction.on_commit(lambda: delete_stored(*names))


def parse_landmarks(photo: Photo, raw: Any) -> dict[str, angles.Point]:
    """Validate landmarks sent by the browser or the API: known names for this view, numbers inside the photo."""
    if not isinstance(raw, Mapping):
        raise ValidationError({"landmarks": "Send an object mapping landmark names to [x, y]."})
    allowed = set(angles.landmarks_for_view(photo.view_enum))
    points: dict[str, angles.Point] = {}
    errors: dict[str, str] = {}
    for name, value in raw.items():
        if name not in allowed:
            errors[str(name)[:40]] = "not a landmark of this view"
            continue
        xy = value.get("xy") if isinstance(value, Mapping) else value
        if isinstance(value, Mapping) and "x" in value:
            xy = [value.get("x"), value.get("y")]
        if not (isinstance(xy, list | tuple) and len(xy) == 2 and all(isinstance(v, int | float) and not isinstance(v, bool) for v in xy)):
            errors[name] = "must be [x, y] in photo pixels"
            continue
        x, y = float(xy[0]), float(xy[1])
        if not (math.isfinite(x) and math.isfinite(y) and 0 <= x <= photo.width and 0 <= y <= photo.height):
            errors[name] = f"must lie inside the photo (0–{photo.width} × 0–{photo.height})"
            continue
        points[name] = angles.Point(round(x, 2), round(y, 2))
    if errors:
        raise ValidationError({f"landmarks.{k}": v for k, v in errors.items()})
    return points


@transaction.atomic
def landmarks_save(
    *,
    photo: Photo,
    membership: Membership,
    points: Mapping[str, angles.Point],
    calibration_cm: float | None = None,
    facing: int | None = None,
) -> angles.Computation:
    """Replace the photo's landmarks and recompute its measures on the server."""
    _check_clinical(membership, photo.assessment.clinic_id)
    if calibration_cm is not None and not (1 <= calibration_cm <= 1000):
        raise ValidationError({"calibration_cm": "Enter a length between 1 and 1000 cm."})
    photo.calibration_cm = calibration_cm  # type: ignore[assignment]
    if facing in (1, -1):
        photo.facing = facing
    photo.save(update_fields=["calibration_cm", "facing"])
    photo.landmarks.all().delete()
    Landmark.objects.bulk_create([Landmark(photo=photo, name=n, x=p.x, y=p.y) for n, p in points.items()])
    result = angles.compute(photo.view_enum, points, anterior=photo.facing, calibration_cm=calibration_cm)
    photo.measures.all().delete()
    Measure.objects.bulk_create([Measure(photo=photo, name=r.id, value=r.value, unit=r.unit) for r in result.results])
    audit_record(
        action=Action.UPDATE,
        obj=photo,
        clinic=photo.assessment.clinic_id,
        role=membership.role,
        detail={"landmarks": len(points), "measures": len(result.results)},
    )
    return result


@transaction.atomic
def rom_add(*, assessment: Assessment, membership: Membership, data: Mapping[str, Any]) -> RomMeasurement:
    return _record_add(RomMeasurement(assessment=assessment, **data), assessment=assessment, membership=membership, label="motion")


@transaction.atomic
def rom_delete(*, reading: RomMeasurement, membership: Membership) -> None:
    _record_delete(reading, membership=membership)


@transaction.atomic
def movement_test_add(*, assessment: Assessment, membership: Membership, data: Mapping[str, Any]) -> MovementTest:
    def one_of_its_results(record: MovementTest) -> None:
        if record.definition is None or record.result not in record.definition.results:
            raise ValidationError({"result": "Choose one of this test's results."})

    record = MovementTest(assessment=assessment, **data)
    return _record_add(record, assessment=assessment, membership=membership, label="test", check=one_of_its_results)


@transaction.atomic
def movement_test_delete(*, record: MovementTest, membership: Membership) -> None:
    _record_delete(record, membership=membership)


@transaction.atomic
def norm_preference_set(*, membership: Membership, norm_set: str) -> NormPreference:
    require(membership, Capability.MANAGE_CLINIC)
    if norm_set not in norms().sets:
        raise ValidationError({"norm_set": "Choose one of the listed norm sets."})
    pref, _ = NormPreference.objects.update_or_create(clinic_id=membership.clinic_id, defaults={"norm_set": norm_set})
    audit_record(action=Action.UPDATE, obj=pref, clinic=membership.clinic_id, role=membership.role, detail={"norm_set": norm_set})
    return pref
