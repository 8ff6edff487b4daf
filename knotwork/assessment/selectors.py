"""Reads for assessments: access-checked fetches, the detail page, the ROM table, comparisons and
the muscles the findings implicate."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.http import Http404

from knotwork.accounts.models import Capability, Clinic, Membership
from knotwork.accounts.permissions import membership_for, require
from knotwork.assessment import angles, findings, norms
from knotwork.assessment.models import Assessment, MovementTest, NormPreference, Photo, PostureFinding, RomMeasurement
from knotwork.audit.models import Action
from knotwork.audit.services import audit_record
from knotwork.clients.models import Client
from knotwork.clients.selectors import OPEN_CLIENT, open_client

# --- access ----------------------------------------------------------------------------------


def _reach(user: Any, clinic_id: int, *, write: bool, clinic_scope: int | None) -> Membership:
    """Clinical access to a clinic's assessment data: another clinic (or a client) is a 404, front desk a 403."""
    if clinic_scope is not None and clinic_scope != clinic_id:
        raise Http404("No such record")
    membership = membership_for(user, clinic_id)
    return require(membership, Capability.EDIT_CLINICAL if write else Capability.VIEW_CLINICAL)


def get_assessment_for_user(
    user: Any, assessment_id: int, *, write: bool = False, audit: bool = True, clinic_id: int | None = None
) -> tuple[Assessment, Membership]:
    assessment = Assessment.objects.select_related("client", "clinic", "therapist").filter(pk=assessment_id, **OPEN_CLIENT).first()
    if assessment is None:
        raise Http404("No such assessment")
    membership = _reach(user, assessment.clinic_id, write=write, clinic_scope=clinic_id)
    if audit and not write:
        audit_record(action=Action.VIEW, obj=assessment, role=membership.role, detail={"client": assessment.client_id})
    return assessment, membership


def get_photo_for_user(
    user: Any, photo_id: int, *, write: bool = False, audit: bool = True, clinic_id: int | None = None
) -> tuple[Photo, Membership]:
    photos = Photo.objects.select_related("assessment__client", "assessment__clinic")
    photo = photos.filter(pk=photo_id, **open_client("assessment")).first()
    if photo is None:
        raise Http404("No such photo")
    membership = _reach(user, photo.assessment.clinic_id, write=write, clinic_scope=clinic_id)
    if audit and not write:
        audit_record(
            action=Action.VIEW,
            obj=photo,
            clinic=photo.assessment.clinic_id,
            role=membership.role,
            detail={"assessment": photo.assessment_id, "client": photo.assessment.client_id},
        )
    return photo, membership


def _get_child_for_user(model: Any, user: Any, pk: int, *, clinic_id: int | None = None) -> tuple[Any, Membership]:
    row = model.objects.select_related("assessment").filter(pk=pk, **open_client("assessment")).first()
    if row is None:
        raise Http404("No such record")
    return row, _reach(user, row.assessment.clinic_id, write=True, clinic_scope=clinic_id)


def get_finding_for_user(user: Any, pk: int, *, clinic_id: int | None = None) -> tuple[PostureFinding, Membership]:
    """For changes only: findings are read through their assessment."""
    return _get_child_for_user(PostureFinding, user, pk, clinic_id=clinic_id)


def get_rom_for_user(user: Any, pk: int, *, clinic_id: int | None = None) -> tuple[RomMeasurement, Membership]:
    return _get_child_for_user(RomMeasurement, user, pk, clinic_id=clinic_id)


def get_movement_test_for_user(user: Any, pk: int, *, clinic_id: int | None = None) -> tuple[MovementTest, Membership]:
    return _get_child_for_user(MovementTest, user, pk, clinic_id=clinic_id)


# --- lists and detail ------------------------------------------------------------------------


def assessments_for_client(client: Client) -> QuerySet[Assessment]:
    return (
        Assessment.objects.for_client(client)
        .select_related("therapist")
        .prefetch_related("findings", Prefetch("photos", queryset=Photo.objects.only("id", "assessment_id", "view")))
    )


def assessment_full(pk: int) -> Assessment:
    """One assessment with everything its page shows, in a fixed number of queries."""
    return (
        Assessment.objects.select_related("client", "therapist")
        .prefetch_related(
            "findings",
            "rom",
            "movement_tests",
            Prefetch("photos", queryset=Photo.objects.prefetch_related("landmarks", "measures")),
        )
        .get(pk=pk)
    )


def norm_set_for(clinic: Clinic | int, requested: str | None = None) -> norms.NormSet:
    """The norm set asked for on the page if it exists, else the clinic's choice, else the default (AAOS)."""
    n = norms.norms()
    if requested and requested in n.sets:
        return n.sets[requested]
    clinic_id: int = clinic.pk if isinstance(clinic, Clinic) else clinic
    chosen = NormPreference.objects.filter(clinic_id=clinic_id).values_list("norm_set", flat=True).first()
    return n.set_or_default(chosen)


# --- photo measures with their flags ---------------------------------------------------------


@dataclass(frozen=True)
class MeasureRow:
    id: str
    label: str
    value: float
    unit: str
    meaning: str
    error: float
    flags: tuple[findings.Flag, ...]
    view: str


def measure_rows(photo: Photo) -> list[MeasureRow]:
    rows = []
    for m in photo.measures.all():
        d = angles.MEASURES.get(m.name)
        if d is None:
            continue
        flags = tuple(findings.flags_for(m.name, m.value, view_side=photo.side))
        rows.append(MeasureRow(m.name, d.label, m.value, m.unit, d.meaning, findings.measurement_error(m.name), flags, photo.view))
    order = list(angles.MEASURES)
    return sorted(rows, key=lambda r: order.index(r.id))


def photo_findings(assessment: Assessment) -> list[findings.FindingIn]:
    """Findings that photo measures raise (e.g. CVA < 50° → head forward), beside the checklist."""
    out = []
    for photo in assessment.photos.all():
        for row in measure_rows(photo):
            for flag in row.flags:
                if flag.finding:
                    out.append(findings.FindingIn(flag.finding, flag.side or ""))
    return out


# --- ROM table -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RomRow:
    reading: RomMeasurement
    comparison: norms.Comparison
    unverified_norm: bool


def _other_side(side: str) -> str:
    return {"left": "right", "right": "left"}.get(side, "")


def rom_table(assessment: Assessment, norm_set: norms.NormSet) -> list[RomRow]:
    """Each ROM reading with % of norm, % of the other side and change from the client's baseline
    (the same motion, side and mode in their earliest earlier assessment)."""
    readings = list(assessment.rom.all())
    by_key = {(r.motion, r.side, r.mode): r.degrees for r in readings}
    earlier = (
        RomMeasurement.objects.filter(assessment__client_id=assessment.client_id, assessment__taken_at__lt=assessment.taken_at)
        .order_by("assessment__taken_at", "id")
        .values_list("motion", "side", "mode", "degrees")
    )
    baseline: dict[tuple[str, str, str], int] = {}
    for motion, side, mode, degrees in earlier:
        baseline.setdefault((motion, side, mode), degrees)
    order = list(norms.norms().motions)
    rows = []
    for r in readings:
        comparison = norms.compare(
            motion=r.motion,
            degrees=r.degrees,
            norm_set=norm_set,
            other_side=by_key.get((r.motion, _other_side(r.side), r.mode)) if r.side in ("left", "right") else None,
            baseline=baseline.get((r.motion, r.side, r.mode)),
        )
        rows.append(RomRow(r, comparison, r.motion in norm_set.unverified))
    side_order = {"left": 1, "right": 2}
    return sorted(
        rows,
        key=lambda row: (
            order.index(row.reading.motion) if row.reading.motion in order else 999,
            side_order.get(row.reading.side, 0),
            row.reading.mode,
        ),
    )


def limited_motions(assessment: Assessment, norm_set: norms.NormSet) -> list[findings.LimitedMotion]:
    out = []
    for row in rom_table(assessment, norm_set):
        c, r = row.comparison, row.reading
        if not (c.below_norm or c.side_difference):
            continue
        side = f" to the {r.side}" if r.side in ("left", "right") else ""
        against = f"norm {c.norm}° {norm_set.short}" if c.below_norm else f"other side {c.other_side}°"
        out.append(
            findings.LimitedMotion(
                r.motion, f"Limited {r.get_mode_display().lower()} {r.motion_label.lower()}{side} ({r.degrees}°, {against})"
            )
        )
    return out


# --- implicated muscles ----------------------------------------------------------------------


def implicated_muscles_for_assessment(assessment: Assessment, norm_set: norms.NormSet | None = None) -> dict[str, str]:
    norm_set = norm_set or norm_set_for(assessment.clinic_id)
    checklist = [findings.FindingIn(f.kind, f.side) for f in assessment.findings.all()]
    tests = [findings.MovementTestIn(t.test, t.result, t.side) for t in assessment.movement_tests.all()]
    return findings.implicated_muscles(
        findings=[*checklist, *photo_findings(assessment)], limited=limited_motions(assessment, norm_set), tests=tests
    )


def implicated_muscles_for_client(client: Client) -> dict[str, str]:
    """muscle id → reason, from the client's most recent assessment (empty if there is none).

    The shape is the reasoning engine's ``context.implicated_muscles``; every id exists in the
    atlas. The caller must already have checked clinical access to ``client``.
    """
    latest = Assessment.objects.for_client(client).order_by("-taken_at", "-id").values_list("pk", flat=True).first()
    if latest is None:
        return {}
    return implicated_muscles_for_assessment(assessment_full(latest))


# --- comparison ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChangeRow:
    id: str
    label: str
    unit: str
    view: str
    before: float | None
    after: float | None
    change: float | None
    error: float
    beyond_error: bool


@dataclass
class PhotoPair:
    view: str
    label: str
    before: Photo | None
    after: Photo | None
    # Display sizes (px) chosen so both photos show at the same scale.
    sizes: dict[str, tuple[int, int]] = field(default_factory=dict)


def _scale(photo: Photo) -> float | None:
    marks = {lm.name: angles.Point(lm.x, lm.y) for lm in photo.landmarks.all()}
    return angles.px_per_cm(marks, float(photo.calibration_cm) if photo.calibration_cm else None)


def photo_pairs(before: Assessment, after: Assessment, *, height: int = 460) -> list[PhotoPair]:
    """Photos of the same view side by side. With both calibrated, 1 cm is the same size on screen;
    otherwise both are drawn at the same height, which matches when the camera set-up did."""
    by_view_a = {p.view: p for p in before.photos.all()}
    by_view_b = {p.view: p for p in after.photos.all()}
    pairs = []
    for value, label in Photo.ViewChoice.choices:
        a, b = by_view_a.get(value), by_view_b.get(value)
        if not a and not b:
            continue
        pair = PhotoPair(value, str(label), a, b)
        scales = {"before": _scale(a) if a else None, "after": _scale(b) if b else None}
        if a and b and scales["before"] and scales["after"]:
            # Pixels per cm on screen: pick the one that makes the taller photo `height` high.
            cm_tall = max(a.height / scales["before"], b.height / scales["after"])
            screen_px_per_cm = height / cm_tall
            for key, shown in (("before", a), ("after", b)):
                k = screen_px_per_cm / scales[key]  # type: ignore[operator]
                pair.sizes[key] = (round(shown.width * k), round(shown.height * k))
        else:
            for key, maybe in (("before", a), ("after", b)):
                if maybe:
                    pair.sizes[key] = (round(maybe.width * height / maybe.height), height)
        pairs.append(pair)
    return pairs


def measure_changes(before: Assessment, after: Assessment) -> list[ChangeRow]:
    def values(a: Assessment) -> dict[tuple[str, str], tuple[float, str]]:
        return {(p.view, m.name): (m.value, m.unit) for p in a.photos.all() for m in p.measures.all()}

    va, vb = values(before), values(after)
    order = list(angles.MEASURES)
    rows = []
    for key in sorted(set(va) | set(vb), key=lambda k: (order.index(k[1]) if k[1] in order else 999, k[0])):
        view, name = key
        d = angles.MEASURES.get(name)
        x, y = va.get(key), vb.get(key)
        change = round(y[0] - x[0], 2) if x and y else None
        error = findings.measurement_error(name)
        rows.append(
            ChangeRow(
                id=name,
                label=d.label if d else name,
                unit=(x or y or (0.0, ""))[1],
                view=str(Photo.ViewChoice(view).label) if view in Photo.ViewChoice.values else view,
                before=x[0] if x else None,
                after=y[0] if y else None,
                change=change,
                error=error,
                beyond_error=bool(x and y and findings.change_exceeds_error(name, x[0], y[0])),
            )
        )
    return rows


def rom_changes(before: Assessment, after: Assessment) -> list[ChangeRow]:
    va = {(r.motion, r.side, r.mode): r for r in before.rom.all()}
    vb = {(r.motion, r.side, r.mode): r for r in after.rom.all()}
    n = norms.norms()
    order = list(n.motions)
    rows = []
    for key in sorted(set(va) | set(vb), key=lambda k: (order.index(k[0]) if k[0] in order else 999, k[1], k[2])):
        x, y = va.get(key), vb.get(key)
        motion = n.motions.get(key[0])
        label = (motion.label if motion else key[0]) + (f", {key[1]}" if key[1] else "") + f" ({key[2]})"
        change = y.degrees - x.degrees if x and y else None
        error = n.error_for(key[0]) if motion else 0
        rows.append(
            ChangeRow(
                key[0],
                label,
                "°",
                "",
                x.degrees if x else None,
                y.degrees if y else None,
                change,
                error,
                change is not None and abs(change) > error,
            )
        )
    return rows


# --- landmark overlay ------------------------------------------------------------------------


@dataclass(frozen=True)
class Overlay:
    points: list[tuple[str, str, float, float]]
    lines: list[tuple[float, float, float, float]]
    r: float


def overlay(photo: Photo) -> Overlay:
    """Landmarks and the segments each computed measure is drawn from, in photo pixels."""
    marks = {lm.name: lm for lm in photo.landmarks.all()}
    lines: set[tuple[float, float, float, float]] = set()
    for m in photo.measures.all():
        d = angles.MEASURES.get(m.name)
        if d is None:
            continue
        names = d.landmarks
        # Two or three points form a path; four are two separate lines (acromion line, ASIS line).
        pairs = [(names[0], names[1]), (names[2], names[3])] if len(names) == 4 else list(zip(names, names[1:], strict=False))
        for a, b in pairs:
            if a in marks and b in marks:
                lines.add((marks[a].x, marks[a].y, marks[b].x, marks[b].y))
    points = [(n, angles.landmark_label(n), lm.x, lm.y) for n, lm in marks.items()]
    return Overlay(points, sorted(lines), r=max(photo.width, photo.height) / 140)
