"""Platform staff: the verification queue and review moderation (the clinic owner moderates too)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from knotwork.audit.models import Action
from knotwork.audit.services import audit_many
from knotwork.directory import selectors
from knotwork.directory.access import get_credential_for_user, get_review_for_moderator, is_platform_staff
from knotwork.directory.forms import DecisionForm, ModerateForm
from knotwork.directory.models import Credential
from knotwork.directory.reviews import report_dismiss, review_moderate
from knotwork.directory.services import DirectoryError, credential_decide
from knotwork.directory.views._common import me, platform_view
from knotwork.lib.views import paginate


@platform_view
def directory_verify_queue(request: HttpRequest) -> HttpResponse:
    page = paginate(request, selectors.verification_queue())
    return render(request, "directory/verify_queue.html", {"page": page})


@platform_view
def directory_verify(request: HttpRequest, pk: int) -> HttpResponse:
    credential, _ = get_credential_for_user(request.user, pk)
    form = DecisionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            credential_decide(
                credential=credential,
                decision=form.cleaned_data["decision"],
                reason=form.cleaned_data["reason"],
                actor=me(request),
            )
        except DirectoryError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, f"Decision recorded for “{credential.title}”.")
            return redirect("directory_verify_queue")
    others = Credential.objects.filter(profile=credential.profile).exclude(pk=credential.pk).order_by("kind")
    context = {"credential": credential, "form": form, "others": others}
    return render(request, "directory/verify.html", context, status=400 if form.is_bound else 200)


@platform_view
def directory_moderation(request: HttpRequest) -> HttpResponse:
    held = selectors.with_flag_text(list(selectors.held_reviews()[:100]))
    reported = list(selectors.reported_reviews()[:100])
    audit_many(action=Action.LIST, objects=held + reported, clinic=None, role="verifier")
    return render(request, "directory/moderation.html", {"held": held, "reported": reported})


@login_required
@require_POST
def directory_review_moderate(request: HttpRequest, pk: int) -> HttpResponse:
    review, membership = get_review_for_moderator(request.user, pk)
    platform = is_platform_staff(request.user)
    form = ModerateForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose what to do with the review.")
    else:
        decision, note = form.cleaned_data["decision"], form.cleaned_data["note"]
        try:
            if decision == "keep":
                if not platform:
                    raise PermissionDenied("Only the platform team closes reports.")
                report_dismiss(review=review, actor=me(request))
            else:
                role = "verifier" if platform else membership.role if membership else ""
                review_moderate(review=review, actor=me(request), decision=decision, note=note, platform=platform, role=role)
        except DirectoryError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(
                request, {"publish": "Review published.", "remove": "Review removed.", "keep": "Review kept; reports closed."}[decision]
            )
    return redirect("directory_moderation" if platform else "directory_clinic")
