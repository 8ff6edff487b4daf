"""Episodes of care and their versioned treatment plans."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from knotwork.accounts.models import Capability
from knotwork.accounts.permissions import require
from knotwork.bookings.selectors import get_appointment_for_user
from knotwork.care import selectors, services
from knotwork.care.forms import DiagnosisForm, EpisodeForm, EpisodeStatusForm, PlanForm
from knotwork.care.views.common import add_errors, form_status
from knotwork.clients.intake.selectors import get_clinical_client
from knotwork.lib.claim_codes import diagnoses_text
from knotwork.lib.views import paginate


@login_required
def episode_new(request: HttpRequest, client_id: int) -> HttpResponse:
    client, membership = get_clinical_client(request.user, client_id, write=request.method == "POST")
    form = EpisodeForm(request.POST or None, client=client, initial={"started_on": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            episode = services.episode_create(membership=membership, client=client, complaint=d["complaint"], started_on=d["started_on"],
                                              goals_note=d["goals_note"], drawing_ids=[x.pk for x in d["drawings"]],
                                              diagnosis_codes=d["diagnosis_codes"])  # fmt: skip
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(request, "Episode started. Set its plan next.")
            return redirect("plan_edit", client.pk, episode.pk)
    return render(request, "care/episode_form.html", {"client": client, "form": form}, status=form_status(form))


@login_required
def episode_detail(request: HttpRequest, client_id: int, episode_id: int) -> HttpResponse:
    episode, membership = selectors.get_episode_for_user(request.user, episode_id)
    if episode.client_id != client_id:
        return redirect("episode_detail", episode.client_id, episode.pk)
    plans = list(episode.plans.order_by("-version"))
    context = {
        "client": episode.client, "episode": episode, "membership": membership, "plan": plans[0] if plans else None,
        "older_plans": plans[1:], "page": paginate(request, selectors.visit_history(episode.client).filter(episode=episode)),
        "drawings": episode.drawings.order_by("-taken_at"), "status_form": EpisodeStatusForm(initial={"status": episode.status}),
        "diagnosis_form": DiagnosisForm(initial={"diagnosis_codes": diagnoses_text(episode.diagnosis_codes)}),
        "can_edit": membership.can(Capability.EDIT_CLINICAL), "stage_labels": dict(services.Stage.choices),
        "muscle_names": dict(selectors.muscle_names()),
    }  # fmt: skip
    return render(request, "care/episode.html", context)


@require_POST
@login_required
def episode_status(request: HttpRequest, client_id: int, episode_id: int) -> HttpResponse:
    episode, membership = selectors.get_episode_for_user(request.user, episode_id, write=True)
    form = EpisodeStatusForm(request.POST)
    if form.is_valid():
        services.episode_set_status(membership=membership, episode=episode, status=form.cleaned_data["status"])
        messages.success(request, f"Episode is now {episode.get_status_display().lower()}.")
    else:
        messages.error(request, "Choose a valid status.")
    return redirect("episode_detail", episode.client_id, episode.pk)


@require_POST
@login_required
def episode_diagnoses(request: HttpRequest, client_id: int, episode_id: int) -> HttpResponse:
    episode, membership = selectors.get_episode_for_user(request.user, episode_id, write=True)
    form = DiagnosisForm(request.POST)
    if form.is_valid():
        services.episode_set_diagnoses(membership=membership, episode=episode, diagnosis_codes=form.cleaned_data["diagnosis_codes"])
        messages.success(request, "Diagnosis codes saved.")
    else:
        messages.error(request, " ".join(str(e) for e in form.errors.get("diagnosis_codes", ["Check the diagnosis codes."])))
    return redirect("episode_detail", episode.client_id, episode.pk)


@login_required
def plan_edit(request: HttpRequest, client_id: int, episode_id: int) -> HttpResponse:
    episode, membership = selectors.get_episode_for_user(request.user, episode_id, write=request.method == "POST")
    if request.method == "GET" and not membership.can(Capability.EDIT_CLINICAL):
        return redirect("episode_detail", episode.client_id, episode.pk)
    focus = selectors.focus_for_plan(episode.client, episode)
    current = selectors.latest_plan(episode)
    form = PlanForm(request.POST or None, initial=PlanForm.initial_from(current, [s.muscle for s in focus.suggestions]))
    if request.method == "POST" and form.is_valid():
        try:
            plan = services.plan_save(membership=membership, episode=episode, **form.plan_data())
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(request, f"Plan version {plan.version} saved.")
            return redirect("episode_detail", episode.client_id, episode.pk)
    context = {"client": episode.client, "episode": episode, "form": form, "current": current, "suggestions": focus.suggestions,
               "focus_withheld": focus.withheld}  # fmt: skip
    return render(request, "care/plan_form.html", context, status=form_status(form))


@require_POST
@login_required
def visit_new(request: HttpRequest, client_id: int, episode_id: int) -> HttpResponse:
    episode, membership = selectors.get_episode_for_user(request.user, episode_id, write=True)
    try:
        visit = services.visit_start(membership=membership, episode=episode)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("episode_detail", episode.client_id, episode.pk)
    return redirect("visit_detail", visit.pk)


@require_POST
@login_required
def appointment_visit(request: HttpRequest, pk: int) -> HttpResponse:
    """Start (or reopen) the visit note of a booked appointment, from the schedule or the appointment page."""
    appointment, membership = get_appointment_for_user(request.user, pk, write=True)
    if membership is None or appointment.client_id is None:
        raise Http404("No such appointment")
    require(membership, Capability.EDIT_CLINICAL)
    get_clinical_client(request.user, appointment.client_id, write=True)  # an erased client's record stays closed
    try:
        visit, created = services.visit_for_appointment(membership=membership, appointment=appointment)
    except services.NoOpenEpisode as exc:
        messages.info(request, " ".join(exc.messages))
        return redirect("episode_new", appointment.client_id)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("appointment_detail", appointment.pk)
    if created:
        messages.success(request, "Visit note started for this appointment.")
    return redirect("visit_detail", visit.pk)
