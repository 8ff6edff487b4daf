from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from knotwork.accounts.models import Capability, Membership
from knotwork.assessment import angles, selectors, services
from knotwork.assessment.forms import (
    AssessmentForm,
    CompareForm,
    FindingForm,
    LandmarkForm,
    MovementTestForm,
    NormSetForm,
    PhotoUploadForm,
    RomForm,
)
from knotwork.assessment.models import Photo
from knotwork.atlas.loader import atlas
from knotwork.audit.models import Action
from knotwork.audit.services import audit_record
from knotwork.clients.selectors import get_client_for_user
from knotwork.lib.uploads import PHOTO_POLICY, UploadRejected, limit_upload_size, private_image_response, too_large_message
from knotwork.lib.views import staff_view


def _errors_to_form(form: Any, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errs in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errs)
    else:
        form.add_error(None, exc.messages)


def _detail(request: HttpRequest, assessment_id: int, membership: Membership, *, status: int = 200, **forms: Any) -> HttpResponse:
    assessment = selectors.assessment_full(assessment_id)
    muscles = atlas().muscle_by_id
    implicated = [(muscles[m], why) for m, why in selectors.implicated_muscles_for_assessment(assessment).items() if m in muscles]
    photos = {p.view: p for p in assessment.photos.all()}
    context = {
        "assessment": assessment,
        "client": assessment.client,
        "can_edit": membership.can(Capability.EDIT_CLINICAL),
        "views": [(value, label, photos.get(value)) for value, label in Photo.ViewChoice.choices],
        "measures": {p.view: selectors.measure_rows(p) for p in photos.values()},
        "implicated": implicated,
        "finding_form": forms.get("finding_form") or FindingForm(),
        "photo_form": forms.get("photo_form") or PhotoUploadForm(),
        "test_form": forms.get("test_form") or MovementTestForm(),
    }
    return render(request, "assessment/detail.html", context, status=status)


@login_required
def assessment_new(request: HttpRequest, client_id: int) -> HttpResponse:
    client, membership = get_client_for_user(request.user, client_id, write=True, clinical=True)
    assert membership is not None  # clinical writes always come through a membership
    form = AssessmentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        assessment = services.assessment_create(client=client, membership=membership, data=form.cleaned_data)
        messages.success(request, "Assessment started. Add posture findings, photos and range of motion.")
        return redirect("assessment_detail", assessment.pk)
    return render(request, "assessment/form.html", {"form": form, "client": client, "assessment": None}, status=400 if form.errors else 200)


@login_required
def assessment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    assessment, membership = selectors.get_assessment_for_user(request.user, pk)
    return _detail(request, assessment.pk, membership)


@login_required
def assessment_edit(request: HttpRequest, pk: int) -> HttpResponse:
    assessment, membership = selectors.get_assessment_for_user(request.user, pk, write=True)
    form = AssessmentForm(request.POST or None, instance=assessment)
    if request.method == "POST" and form.is_valid():
        services.assessment_update(assessment=assessment, membership=membership, data=form.cleaned_data)
        messages.success(request, "Changes saved.")
        return redirect("assessment_detail", assessment.pk)
    context = {"form": form, "client": assessment.client, "assessment": assessment}
    return render(request, "assessment/form.html", context, status=400 if form.errors else 200)


@login_required
@require_POST
def assessment_delete(request: HttpRequest, pk: int) -> HttpResponse:
    assessment, membership = selectors.get_assessment_for_user(request.user, pk, write=True)
    client_id = assessment.client_id
    services.assessment_delete(assessment=assessment, membership=membership)
    messages.success(request, "Assessment deleted.")
    return redirect("client_detail", client_id)


@login_required
@require_POST
def finding_add(request: HttpRequest, pk: int) -> HttpResponse:
    assessment, membership = selectors.get_assessment_for_user(request.user, pk, write=True)
    form = FindingForm(request.POST)
    if form.is_valid():
        try:
            services.finding_add(assessment=assessment, membership=membership, data=form.cleaned_data)
        except ValidationError as exc:
            _errors_to_form(form, exc)
        else:
            messages.success(request, "Finding added.")
            return redirect(reverse("assessment_detail", args=[pk]) + "#posture")
    return _detail(request, pk, membership, status=400, finding_form=form)


@login_required
@require_POST
def finding_delete(request: HttpRequest, pk: int) -> HttpResponse:
    finding, membership = selectors.get_finding_for_user(request.user, pk)
    services.finding_delete(finding=finding, membership=membership)
    messages.success(request, "Finding removed.")
    return redirect(reverse("assessment_detail", args=[finding.assessment_id]) + "#posture")


@limit_upload_size(PHOTO_POLICY.max_bytes)
@login_required
@require_POST
def photo_upload(request: HttpRequest, pk: int) -> HttpResponse:
    assessment, membership = selectors.get_assessment_for_user(request.user, pk, write=True)
    form = PhotoUploadForm(request.POST, request.FILES)
    if getattr(request, "upload_too_large", False):
        form.add_error("image", too_large_message(PHOTO_POLICY.max_bytes))
    elif form.is_valid():
        upload = form.cleaned_data["image"]
        try:
            photo = services.photo_add(
                assessment=assessment,
                membership=membership,
                upload=upload,
                name=upload.name,
                view=form.cleaned_data["view"],
                facing=form.cleaned_data["facing"],
            )
        except UploadRejected as exc:
            form.add_error("image", str(exc))
        except ValidationError as exc:
            _errors_to_form(form, exc)
        else:
            messages.success(request, "Photo added. Place the landmarks for the measures you need.")
            return redirect("assessment_photo", photo.pk)
    return _detail(request, pk, membership, status=400, photo_form=form)


@login_required
def photo_landmarks(request: HttpRequest, pk: int) -> HttpResponse:
    write = request.method == "POST"
    photo, membership = selectors.get_photo_for_user(request.user, pk, write=write)
    form = LandmarkForm(request.POST or None, initial={"facing": photo.facing, "calibration_cm": photo.calibration_cm})
    if write and form.is_valid():
        try:
            points = services.parse_landmarks(photo, form.cleaned_data["landmarks"])
            cm = form.cleaned_data["calibration_cm"]
            services.landmarks_save(
                photo=photo,
                membership=membership,
                points=points,
                calibration_cm=float(cm) if cm is not None else None,
                facing=form.cleaned_data["facing"],
            )
        except ValidationError as exc:
            form.add_error(None, exc.messages)
        else:
            if not request.htmx:  # type: ignore[attr-defined]
                messages.success(request, "Landmarks saved and measures recomputed.")
                return redirect("assessment_photo", photo.pk)
    context = _landmark_context(photo, form, membership)
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "assessment/_measures.html", context)
    return render(request, "assessment/landmarks.html", context, status=400 if form.errors else 200)


def _landmark_context(photo: Photo, form: LandmarkForm, membership: Membership) -> dict[str, Any]:
    placed = {lm.name: [lm.x, lm.y] for lm in photo.landmarks.all()}
    computed = {m.name for m in photo.measures.all()}
    measures = angles.measures_for_view(photo.view_enum)
    chosen = [d.id for d in measures if d.id in computed] or [measures[0].id]
    return {
        "photo": photo,
        "assessment": photo.assessment,
        "client": photo.assessment.client,
        "form": form,
        "can_edit": membership.can(Capability.EDIT_CLINICAL),
        "measure_defs": [(d, d.id in chosen, " ".join(d.landmarks)) for d in measures],
        "landmarks": [(n, angles.landmark_label(n)) for n in angles.landmarks_for_view(photo.view_enum)],
        "placed": placed,
        "rows": selectors.measure_rows(photo),
        "saved": form.is_bound and not form.errors,
    }


def _serve(request: HttpRequest, pk: int, *, thumbnail: bool) -> HttpResponseBase:
    photo, membership = selectors.get_photo_for_user(request.user, pk, audit=False)
    audit_record(
        action=Action.VIEW,
        obj=photo,
        clinic=photo.assessment.clinic_id,
        role=membership.role,
        detail={"file": "thumbnail" if thumbnail else "image", "client": photo.assessment.client_id},
    )
    return private_image_response(photo.thumbnail_name if thumbnail else photo.image_name)


@login_required
def photo_image(request: HttpRequest, pk: int) -> HttpResponseBase:
    return _serve(request, pk, thumbnail=False)


@login_required
def photo_thumbnail(request: HttpRequest, pk: int) -> HttpResponseBase:
    return _serve(request, pk, thumbnail=True)


@login_required
@require_POST
def photo_delete(request: HttpRequest, pk: int) -> HttpResponse:
    photo, membership = selectors.get_photo_for_user(request.user, pk, write=True)
    assessment_id = photo.assessment_id
    services.photo_delete(photo=photo, membership=membership)
    messages.success(request, "Photo deleted.")
    return redirect(reverse("assessment_detail", args=[assessment_id]) + "#photos")


@login_required
def rom_table(request: HttpRequest, pk: int) -> HttpResponse:
    write = request.method == "POST"
    assessment, membership = selectors.get_assessment_for_user(request.user, pk, write=write)
    form = RomForm(request.POST or None)
    if write and form.is_valid():
        try:
            services.rom_add(assessment=assessment, membership=membership, data=form.cleaned_data)
        except ValidationError as exc:
            _errors_to_form(form, exc)
        else:
            messages.success(request, "Reading added.")
            return redirect(reverse("assessment_rom", args=[pk]) + f"?norms={request.GET.get('norms', '')}")
    norm_set = selectors.norm_set_for(assessment.clinic_id, request.GET.get("norms"))
    assessment = selectors.assessment_full(assessment.pk)
    context = {
        "assessment": assessment,
        "client": assessment.client,
        "form": form,
        "norm_set": norm_set,
        "rows": selectors.rom_table(assessment, norm_set),
        "norm_sets": selectors.norms.norms().sets.values(),
        "errors_by_region": selectors.norms.norms().error,
        "can_edit": membership.can(Capability.EDIT_CLINICAL),
    }
    return render(request, "assessment/rom.html", context, status=400 if form.errors else 200)


@login_required
@require_POST
def rom_delete(request: HttpRequest, pk: int) -> HttpResponse:
    reading, membership = selectors.get_rom_for_user(request.user, pk)
    services.rom_delete(reading=reading, membership=membership)
    messages.success(request, "Reading removed.")
    return redirect("assessment_rom", reading.assessment_id)


@login_required
@require_POST
def movement_test_add(request: HttpRequest, pk: int) -> HttpResponse:
    assessment, membership = selectors.get_assessment_for_user(request.user, pk, write=True)
    form = MovementTestForm(request.POST)
    if form.is_valid():
        try:
            services.movement_test_add(assessment=assessment, membership=membership, data=form.movement_data())
        except ValidationError as exc:
            _errors_to_form(form, exc)
        else:
            messages.success(request, "Movement test recorded.")
            return redirect(reverse("assessment_detail", args=[pk]) + "#tests")
    return _detail(request, pk, membership, status=400, test_form=form)


@login_required
@require_POST
def movement_test_delete(request: HttpRequest, pk: int) -> HttpResponse:
    record, membership = selectors.get_movement_test_for_user(request.user, pk)
    services.movement_test_delete(record=record, membership=membership)
    messages.success(request, "Movement test removed.")
    return redirect(reverse("assessment_detail", args=[record.assessment_id]) + "#tests")


@login_required
def assessment_compare(request: HttpRequest, client_id: int) -> HttpResponse:
    client, membership = get_client_for_user(request.user, client_id, clinical=True)
    form = CompareForm(request.GET or None)
    options = list(selectors.assessments_for_client(client))
    context: dict[str, Any] = {"client": client, "form": form, "options": options}
    if form.is_valid():
        ids = {a.pk for a in options}
        if not {form.cleaned_data["a"], form.cleaned_data["b"]} <= ids:
            form.add_error(None, "Choose two assessments of this client.")
        else:
            before, after = sorted((selectors.assessment_full(form.cleaned_data[k]) for k in "ab"), key=lambda a: (a.taken_at, a.pk))
            audit_record(
                action=Action.VIEW, obj=after, role=getattr(membership, "role", ""), detail={"compare_with": before.pk, "client": client.pk}
            )
            context.update(
                before=before,
                after=after,
                pairs=selectors.photo_pairs(before, after),
                overlays={p.pk: selectors.overlay(p) for a in (before, after) for p in a.photos.all()},
                measures=selectors.measure_changes(before, after),
                rom=selectors.rom_changes(before, after),
            )
    return render(request, "assessment/compare.html", context, status=400 if form.errors else 200)


@staff_view(Capability.VIEW_CLINICAL)
def norm_preference(request: HttpRequest, *, membership: Membership) -> HttpResponse:
    current = selectors.norm_set_for(membership.clinic)
    form = NormSetForm(request.POST or None, initial={"norm_set": current.id})
    if request.method == "POST" and form.is_valid():
        services.norm_preference_set(membership=membership, norm_set=form.cleaned_data["norm_set"])
        messages.success(request, "Norm set saved.")
        return redirect("assessment_norms")
    sets = selectors.norms.norms().sets.values()
    context = {
        "form": form,
        "current": current,
        "sets": sets,
        "can_manage": membership.can(Capability.MANAGE_CLINIC),
        "motions": selectors.norms.norms().motions.values(),
        "error_source": selectors.norms.norms().error_source,
        "errors": selectors.norms.norms().error,
        "default_id": selectors.norms.norms().default_set,
    }
    return render(request, "assessment/norms.html", context, status=400 if form.errors else 200)
