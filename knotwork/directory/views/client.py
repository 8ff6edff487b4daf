"""Signed-in clients: appointments they may review, writing and editing a review; reporting a review."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from knotwork.bookings.models import Appointment
from knotwork.directory import selectors
from knotwork.directory.access import get_review_for_author
from knotwork.directory.forms import ReportForm, ReviewForm
from knotwork.directory.models import Review, ReviewStatus, TherapistProfile
from knotwork.directory.reviews import review_create, review_edit, review_report, review_window_problem, reviewable_appointments
from knotwork.directory.services import DirectoryError
from knotwork.directory.views._common import me


@login_required
def directory_my_reviews(request: HttpRequest) -> HttpResponse:
    due = list(reviewable_appointments(request.user))
    mine = list(Review.objects.filter(author=me(request)).select_related("profile", "profile__clinic").order_by("-created_at"))
    return render(request, "directory/my_reviews.html", {"due": due, "mine": mine, "now": timezone.now()})


def _appointment_for_author(request: HttpRequest, appointment_id: int) -> Appointment:
    """The appointment if it is this client's own; anyone else's is a 404."""
    appointment = (
        Appointment.objects.select_related("client", "clinic", "therapist", "service")
        .filter(pk=appointment_id, client__portal_user=me(request))
        .first()
    )
    if appointment is None:
        raise Http404("No such appointment")
    return appointment


@login_required
def directory_review_new(request: HttpRequest, appointment_id: int) -> HttpResponse:
    appointment = _appointment_for_author(request, appointment_id)
    profile = TherapistProfile.objects.filter(user_id=appointment.therapist_id, clinic_id=appointment.clinic_id).first()
    problem = review_window_problem(appointment, request.user) or ("" if profile else "This therapist has no directory page to review.")
    form = ReviewForm(request.POST or None)
    if request.method == "POST" and not problem and form.is_valid():
        try:
            review = review_create(appointment=appointment, author=me(request), data=form.cleaned_data)
        except DirectoryError as exc:
            form.add_error(None, exc.message)
        else:
            _thank(request, review)
            return redirect("directory_my_reviews")
    context = {"appointment": appointment, "profile": profile, "form": form, "problem": problem}
    return render(request, "directory/review_form.html", context, status=(409 if problem else 400) if request.method == "POST" else 200)


def _thank(request: HttpRequest, review: Review) -> None:
    if review.status == ReviewStatus.PUBLISHED:
        messages.success(request, "Thank you. Your review is public.")
    else:
        messages.warning(
            request,
            "Thank you. Your review mentions something we check first (contact details or strong language); "
            "a moderator will look at it soon.",
        )


@login_required
def directory_review_edit(request: HttpRequest, pk: int) -> HttpResponse:
    review = get_review_for_author(request.user, pk)
    form = ReviewForm.for_review(review, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            review_edit(review=review, author=me(request), data=form.cleaned_data)
        except DirectoryError as exc:
            form.add_error(None, exc.message)
        else:
            _thank(request, review)
            return redirect("directory_my_reviews")
    context = {"review": review, "appointment": review.appointment, "profile": review.profile, "form": form, "problem": ""}
    return render(request, "directory/review_form.html", context, status=400 if form.is_bound else 200)


@login_required
@require_POST
def directory_review_report(request: HttpRequest, pk: int) -> HttpResponse:
    review = Review.objects.select_related("profile", "profile__clinic").filter(pk=pk, status=ReviewStatus.PUBLISHED).first()
    if review is None:
        raise Http404("No such review")
    selectors.profile_for_visitor(request.user, review.profile_id)
    form = ReportForm(request.POST)
    try:
        if not form.is_valid():
            raise DirectoryError("Choose a reason.")
        review_report(review=review, reporter=me(request), reason=form.cleaned_data["reason"], note=form.cleaned_data["note"])
    except DirectoryError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Thank you. The platform team will look at this review. It stays visible until they decide.")
    return redirect(f"{selectors.profile_url(review.profile)}#review-{review.pk}")
