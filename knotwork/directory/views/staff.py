"""Clinic staff: a therapist's own profile and credentials; the owner's approvals and review queue."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from knotwork.accounts.models import Capability, Membership
from knotwork.audit.models import Action
from knotwork.audit.services import audit_many
from knotwork.directory import selectors
from knotwork.directory.access import get_credential_for_user, get_profile_for_user, get_review_for_staff
from knotwork.directory.forms import CredentialForm, PhotoForm, ProfileForm, ReplyForm
from knotwork.directory.models import Credential, TherapistProfile
from knotwork.directory.reviews import review_reply
from knotwork.directory.services import (
    DirectoryError,
    clean_document,
    credential_delete,
    credential_save,
    profile_approve,
    profile_for_therapist,
    profile_photo_remove,
    profile_photo_set,
    profile_update,
)
from knotwork.directory.views._common import me
from knotwork.lib.uploads import UploadRejected, limit_upload_size, private_image_response, too_large_message
from knotwork.lib.views import staff_view

PHOTO_MAX = 20 * 1024 * 1024
DOCUMENT_MAX = 10 * 1024 * 1024


def _own_profile(request: HttpRequest, membership: Membership) -> TherapistProfile | None:
    return TherapistProfile.objects.select_related("clinic", "user").filter(user_id=me(request).pk, clinic=membership.clinic).first()


@staff_view(Capability.VIEW_CLINICAL)
def directory_my_profile(request: HttpRequest, membership: Membership) -> HttpResponse:
    profile = _own_profile(request, membership) or TherapistProfile(
        user=me(request),
        clinic=membership.clinic,
        display_name=me(request).full_name,
    )
    form = ProfileForm.for_profile(profile, request.POST or None)
    if request.method == "POST" and form.is_valid():
        profile = profile_for_therapist(user=me(request), clinic=membership.clinic)
        profile_update(profile=profile, data=form.values(), membership=membership)
        messages.success(
            request,
            "Profile saved."
            + ("" if profile.is_listed or not profile.is_published else " The clinic owner approves it before it goes public."),
        )
        return redirect("directory_my_profile")
    credentials = list(Credential.objects.filter(profile=profile)) if profile.pk else []
    context = {"profile": profile, "form": form, "photo_form": PhotoForm(), "credentials": credentials}
    return render(request, "directory/my_profile.html", context, status=400 if form.is_bound else 200)


@limit_upload_size(PHOTO_MAX)
@require_POST
@staff_view(Capability.VIEW_CLINICAL)
def directory_my_photo(request: HttpRequest, membership: Membership) -> HttpResponse:
    profile = profile_for_therapist(user=me(request), clinic=membership.clinic)
    if request.POST.get("remove"):
        profile_photo_remove(profile=profile, membership=membership)
        messages.success(request, "Photo removed.")
        return redirect("directory_my_profile")
    upload = request.FILES.get("photo")
    if getattr(request, "upload_too_large", False) or upload is None:
        messages.error(request, too_large_message(PHOTO_MAX) if getattr(request, "upload_too_large", False) else "Choose a photo first.")
        return redirect("directory_my_profile")
    try:
        profile_photo_set(profile=profile, upload=upload, name=upload.name or "", membership=membership)
    except UploadRejected as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Photo updated.")
    return redirect("directory_my_profile")


@staff_view(Capability.VIEW_CLINICAL)
def directory_my_photo_preview(request: HttpRequest, membership: Membership, size: str) -> HttpResponseBase:
    profile = _own_profile(request, membership)
    name = {"large": getattr(profile, "photo_name", ""), "small": getattr(profile, "photo_thumb_name", "")}.get(size)
    if not name:
        return HttpResponse(status=404)
    return private_image_response(name)


def _credential_form_save(
    request: HttpRequest, membership: Membership, form: CredentialForm, profile: TherapistProfile, credential: Credential | None
) -> bool:
    """Validate the form and the upload together, so a bad file keeps everything typed."""
    if getattr(request, "upload_too_large", False):
        form.add_error("document", too_large_message(DOCUMENT_MAX))
    if not form.is_valid():
        return False
    upload = request.FILES.get("document")
    try:
        document = clean_document(upload, name=upload.name or "") if upload else None
        credential_save(profile=profile, data=form.cleaned_data, document=document, membership=membership, credential=credential)
    except UploadRejected as exc:
        form.add_error("document", str(exc))
        return False
    except DirectoryError as exc:
        form.add_error(exc.field or None, exc.message)
        return False
    return True


@limit_upload_size(DOCUMENT_MAX)
@staff_view(Capability.VIEW_CLINICAL)
def directory_credentials(request: HttpRequest, membership: Membership) -> HttpResponse:
    profile = (
        profile_for_therapist(user=me(request), clinic=membership.clinic) if request.method == "POST" else _own_profile(request, membership)
    )
    form = CredentialForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and profile is not None and _credential_form_save(request, membership, form, profile, None):
        messages.success(request, "Sent for verification. You will see the decision here.")
        return redirect("directory_credentials")
    credentials = list(Credential.objects.filter(profile=profile).order_by("kind", "-submitted_at")) if profile else []
    return render(
        request,
        "directory/credentials.html",
        {"profile": profile, "form": form, "credentials": credentials},
        status=400 if form.is_bound else 200,
    )


@limit_upload_size(DOCUMENT_MAX)
@staff_view(Capability.VIEW_CLINICAL)
def directory_credential_edit(request: HttpRequest, membership: Membership, pk: int) -> HttpResponse:
    credential, _ = get_credential_for_user(request.user, pk, write=True)
    form = CredentialForm.for_credential(credential, request.POST or None, request.FILES or None)
    if request.method == "POST" and _credential_form_save(request, membership, form, credential.profile, credential):
        messages.success(request, "Saved. Changed details go back to the verifier.")
        return redirect("directory_credentials")
    return render(request, "directory/credential_edit.html", {"credential": credential, "form": form}, status=400 if form.is_bound else 200)


@require_POST
@staff_view(Capability.VIEW_CLINICAL)
def directory_credential_delete(request: HttpRequest, membership: Membership, pk: int) -> HttpResponse:
    credential, _ = get_credential_for_user(request.user, pk, write=True)
    credential_delete(credential=credential, membership=membership)
    messages.success(request, "Credential removed.")
    return redirect("directory_credentials")


@login_required
def directory_credential_document(request: HttpRequest, pk: int) -> HttpResponseBase:
    """The uploaded document, for its therapist, the clinic owner and verifiers; always a download."""
    credential, _ = get_credential_for_user(request.user, pk)
    response = private_image_response(credential.document_name, content_type=credential.document_type or "application/octet-stream")
    response["Content-Disposition"] = (
        f'attachment; filename="credential-{credential.pk}.{"pdf" if "pdf" in credential.document_type else "jpg"}"'
    )
    return response


# --- the clinic owner --------------------------------------------------------------------------


@staff_view(Capability.MANAGE_STAFF)
def directory_clinic(request: HttpRequest, membership: Membership) -> HttpResponse:
    profiles = list(TherapistProfile.objects.filter(clinic=membership.clinic).select_related("user").prefetch_related("credentials"))
    held = selectors.with_flag_text(list(selectors.held_reviews(clinic_id=membership.clinic_id)))
    reported = list(selectors.reported_reviews(clinic_id=membership.clinic_id))
    audit_many(action=Action.LIST, objects=held + reported, clinic=membership.clinic, role=membership.role)
    context = {"profiles": profiles, "held": held, "reported": reported}
    return render(request, "directory/clinic.html", context)


@require_POST
@staff_view(Capability.MANAGE_STAFF)
def directory_profile_approve(request: HttpRequest, membership: Membership, pk: int) -> HttpResponse:
    profile, membership = get_profile_for_user(request.user, pk, approve=True)
    approve = request.POST.get("approve") == "1"
    profile_approve(profile=profile, approve=approve, actor=me(request), membership=membership)
    if approve and not profile.is_listed:
        messages.warning(request, "Approved. It goes public once the therapist publishes it and the clinic has a map position.")
    else:
        messages.success(request, "Profile approved and public." if approve else "Profile taken down.")
    return redirect("directory_clinic")


@require_POST
@staff_view(Capability.VIEW_CLINICAL)
def directory_review_reply(request: HttpRequest, membership: Membership, pk: int) -> HttpResponse:
    review, membership = get_review_for_staff(request.user, pk)
    form = ReplyForm(request.POST)
    try:
        if not form.is_valid():
            raise DirectoryError("Write a reply of up to 1,500 characters.", field="reply")
        review_reply(review=review, actor=me(request), membership=membership, text=form.cleaned_data["reply"])
    except DirectoryError as exc:
        messages.error(request, exc.message)
        request.session["directory_reply_draft"] = {"review": review.pk, "text": request.POST.get("reply", "")[:1500]}
    else:
        messages.success(request, "Your reply is public.")
    return redirect(f"{selectors.profile_url(review.profile)}#review-{review.pk}")
