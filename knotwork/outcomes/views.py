"""Outcome pages: an episode's progress, recording a measure, the schedule, the progress report,
the client's own measures in the portal, and the owner's clinic analytics."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms as djforms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from knotwork.accounts.models import Capability, Membership
from knotwork.audit.models import Action
from knotwork.audit.services import audit_record
from knotwork.care import selectors as care
from knotwork.care.models import Episode, EpisodeStatus
from knotwork.clients.intake.selectors import get_own_client
from knotwork.lib.csv import csv_response
from knotwork.lib.views import staff_view
from knotwork.outcomes import analytics, charts, forms, scoring, selectors, services
from knotwork.outcomes.models import OutcomeResponse, Source
from knotwork.outcomes.report import progress_pdf


def _episode(request: HttpRequest, client_id: int, episode_id: int, *, write: bool = False) -> tuple[Episode, Membership]:
    episode, membership = care.get_episode_for_user(request.user, episode_id, write=write)
    if episode.client_id != client_id:
        raise Http404("No such episode")
    return episode, membership


def _measure(measure_id: str) -> scoring.Measure:
    m = scoring.measures().get(measure_id)
    if m is None:
        raise Http404("No such measure")
    return m


def _psfs_activities(episode: Episode) -> list[str]:
    """The activities the client named last time, else the goals of the plan (the same activities each time)."""
    last = OutcomeResponse.objects.filter(episode=episode, measure="psfs").order_by("-taken_at", "-id").first()
    if last is not None:
        return [a["activity"] for a in last.items.get("activities", [])]
    plan = care.latest_plan(episode)
    return [str(g.get("activity", "")) for g in (plan.goals if plan else []) if isinstance(g, dict) and g.get("activity")]


def build_form(m: scoring.Measure, request: HttpRequest, episode: Episode, *, portal: bool = False) -> forms.MeasureForm:
    cls = forms.FORMS[m.rule]
    data = request.POST if request.method == "POST" else None
    if cls is forms.PsfsForm:
        return forms.PsfsForm(data, measure=m, portal=portal, activities=_psfs_activities(episode))
    return cls(data, measure=m, portal=portal)


def save_measure(form: forms.MeasureForm, *, membership: Membership | None, episode: Episode, source: str) -> OutcomeResponse | None:
    """Score and store the form's answers; per-answer errors go back onto the form's fields."""
    if not form.is_valid():
        return None
    try:
        return services.response_record(membership=membership, episode=episode, measure_id=form.measure.id, items=form.items(),
                                        taken_at=form.taken_at(episode.clinic.tz), source=source)  # fmt: skip
    except ValidationError as exc:
        for key, errs in (exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}).items():
            form.add_error(form.error_field(key) if key != "taken_at" else "taken_on", errs)
        return None


@login_required
def progress(request: HttpRequest, client_id: int, episode_id: int) -> HttpResponse:
    episode, membership = _episode(request, client_id, episode_id)
    context = {
        "client": episode.client, "episode": episode, "progress": selectors.episode_progress(episode),
        "can_edit": membership.can(Capability.EDIT_CLINICAL), "measures": list(scoring.measures().values()),
    }  # fmt: skip
    return render(request, "outcomes/progress.html", context)


@login_required
def record(request: HttpRequest, client_id: int, episode_id: int, measure_id: str) -> HttpResponse:
    episode, membership = _episode(request, client_id, episode_id, write=True)
    m = _measure(measure_id)
    if m.rule in services.DRAWING_MEASURES:
        return _record_from_drawing(request, episode, membership, m)
    form = build_form(m, request, episode)
    if request.method == "POST" and save_measure(form, membership=membership, episode=episode, source=Source.CLINIC):
        messages.success(request, f"{m.short} recorded.")
        return redirect("outcomes_progress", episode.client_id, episode.pk)
    context = {"client": episode.client, "episode": episode, "measure": m, "form": form}
    return render(request, "outcomes/record.html", context, status=400 if form.is_bound and form.errors else 200)


def _record_from_drawing(request: HttpRequest, episode: Episode, membership: Membership, m: scoring.Measure) -> HttpResponse:
    form = forms.DrawingMeasureForm(request.POST or None, client_id=episode.client_id)
    if request.method == "POST" and form.is_valid():
        try:
            services.response_from_drawing(membership=membership, episode=episode, measure_id=m.id, drawing=form.cleaned_data["drawing"])
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"{m.short} derived from the drawing.")
            return redirect("outcomes_progress", episode.client_id, episode.pk)
    context = {"client": episode.client, "episode": episode, "measure": m, "form": form, "from_drawing": True}
    return render(request, "outcomes/record.html", context, status=400 if form.is_bound and form.errors else 200)


@require_POST
@login_required
def response_remove(request: HttpRequest, response_id: int) -> HttpResponse:
    response, membership = selectors.get_response_for_user(request.user, response_id, write=True)
    services.response_delete(membership=membership, response=response)
    messages.success(request, "Score removed.")
    return redirect("outcomes_progress", response.client_id, response.episode_id)


@login_required
def schedule(request: HttpRequest, client_id: int, episode_id: int) -> HttpResponse:
    episode, membership = _episode(request, client_id, episode_id, write=True)
    form = forms.ScheduleForm(request.POST or None, schedule=selectors.schedule_for(episode))
    if request.method == "POST" and form.is_valid():
        services.schedule_save(membership=membership, episode=episode, **form.cleaned_data)
        messages.success(request, "Measurement schedule saved.")
        return redirect("outcomes_progress", episode.client_id, episode.pk)
    context = {"client": episode.client, "episode": episode, "form": form}
    return render(request, "outcomes/schedule.html", context, status=400 if form.is_bound and form.errors else 200)


@login_required
def report_pdf(request: HttpRequest, client_id: int, episode_id: int) -> HttpResponse:
    episode, membership = _episode(request, client_id, episode_id)
    data = progress_pdf(selectors.episode_progress(episode), plan=care.latest_plan(episode), author_name=request.user.display_name)  # type: ignore[union-attr]
    audit_record(action=Action.EXPORT, obj=episode, role=membership.role, detail={"document": "progress_report"})
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="progress-report-episode-{episode.pk}-{timezone.localdate():%Y%m%d}.pdf"'
    response["Cache-Control"] = "private, no-store"
    return response


# --- the client's portal ----------------------------------------------------------------------


@login_required
def portal_measures(request: HttpRequest, client_id: int) -> HttpResponse:
    client = get_own_client(request.user, client_id)
    summary = selectors.client_summary(client, words=charts.client_words())  # the client's language, not staff English
    context = {"client": client, "due": selectors.portal_due(client), "summary": summary}
    return render(request, "outcomes/portal_measures.html", context)


@login_required
def portal_answer(request: HttpRequest, client_id: int, episode_id: int, measure_id: str) -> HttpResponse:
    client = get_own_client(request.user, client_id)
    episode = Episode.objects.select_related("clinic").filter(pk=episode_id, client=client).exclude(status=EpisodeStatus.PAUSED).first()
    m = _measure(measure_id)
    if episode is None or not m.portal:
        raise Http404("No such questionnaire")
    form = build_form(m, request, episode, portal=True)
    if request.method == "POST" and save_measure(form, membership=None, episode=episode, source=Source.PORTAL):
        messages.success(request, "Thank you: your answers are with your therapist.")
        return redirect("portal_measures", client.pk)
    context = {"client": client, "episode": episode, "measure": m, "form": form, "portal": True}
    return render(request, "outcomes/record.html", context, status=400 if form.is_bound and form.errors else 200)


# --- clinic analytics (owner) -----------------------------------------------------------------


class PeriodForm(djforms.Form):
    start = djforms.DateField(label="From", required=False, widget=djforms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    end = djforms.DateField(label="To", required=False, widget=djforms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        today = timezone.localdate()
        data["start"] = data.get("start") or today - timedelta(days=365)
        data["end"] = data.get("end") or today
        if data["start"] > data["end"]:
            raise ValidationError("The start of the period must be before its end.")
        return data


def _period(request: HttpRequest) -> tuple[PeriodForm, Any, Any]:
    form = PeriodForm(request.GET or None)
    if form.is_bound and form.is_valid():
        return form, form.cleaned_data["start"], form.cleaned_data["end"]
    today = timezone.localdate()
    return form, today - timedelta(days=365), today


@staff_view(Capability.MANAGE_CLINIC)
def clinic_analytics(request: HttpRequest, membership: Membership) -> HttpResponseBase:
    form, start, end = _period(request)
    data = analytics.clinic_analytics(clinic=membership.clinic, start=start, end=end)
    audit_record(action=Action.VIEW, object_type="outcomes.analytics", clinic=membership.clinic, role=membership.role,
                 detail={"episodes": data.episodes})  # fmt: skip
    return render(request, "outcomes/analytics.html", {"form": form, "data": data, "query": request.GET.urlencode()},
                  status=400 if form.is_bound and form.errors else 200)  # fmt: skip


@staff_view(Capability.MANAGE_CLINIC)
def clinic_analytics_csv(request: HttpRequest, membership: Membership) -> HttpResponseBase:
    _form, start, end = _period(request)
    data = analytics.clinic_analytics(clinic=membership.clinic, start=start, end=end)
    audit_record(action=Action.EXPORT, object_type="outcomes.analytics", clinic=membership.clinic, role=membership.role,
                 detail={"episodes": data.episodes})  # fmt: skip
    return csv_response(f"outcomes-{start:%Y%m%d}-{end:%Y%m%d}.csv", analytics.CSV_HEADER, analytics.csv_rows(data))
