"""Pages for memberships: the owner's plans (billing settings), the desk's members list with its
to-do, one membership with its periods and credits, signing a client up from their account page,
charging again, pausing, resuming and cancelling (confirmation pages), docs/money.md "Memberships".

Owner and front desk only (take_payments; plans: manage_clinic). Objects come through
get_membership_for_user / get_client_for_user, so another clinic's are a 404.
"""

from __future__ import annotations

from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from knotwork.accounts.models import Capability, Membership, User
from knotwork.audit.models import Action
from knotwork.audit.services import audit_many, audit_record
from knotwork.billing import membership as members
from knotwork.billing import selectors
from knotwork.billing.membership_billing import local_today, period_charge
from knotwork.billing.membership_forms import CancelForm, MembershipPlanForm, PauseForm, SignUpForm
from knotwork.billing.membership_models import PERIOD_TODO, MembershipPeriod, MembershipPlan, MembershipStatus
from knotwork.billing.models import SavedCard
from knotwork.billing.providers import get_provider
from knotwork.billing.services import BillingError
from knotwork.clients.selectors import get_client_for_user
from knotwork.lib.views import paginate, staff_view


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _error(form: Any, exc: BillingError) -> None:
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)


# --- Plans (the owner) ----------------------------------------------------------------------------


@staff_view(Capability.MANAGE_CLINIC)
def plan_list(request: HttpRequest, *, membership: Membership) -> HttpResponse:
    conf = selectors.settings_for(membership.clinic)
    form = MembershipPlanForm(request.POST or None, clinic=membership.clinic, currency=conf.currency)
    if request.method == "POST" and form.is_valid():
        plan = form.save()
        audit_record(action=Action.CREATE, obj=plan, clinic=membership.clinic, role=membership.role, detail={"price": str(plan.price)})
        messages.success(request, f"Membership “{plan.name}” added.")
        return redirect("membership_plans")
    context = {"plans": members.plans_of(membership.clinic), "form": form}
    return render(request, "billing/membership_plans.html", context, status=400 if form.errors else 200)


@staff_view(Capability.MANAGE_CLINIC)
@require_POST
def plan_toggle(request: HttpRequest, pk: int, *, membership: Membership) -> HttpResponse:
    plan = MembershipPlan.objects.filter(clinic=membership.clinic, pk=pk).first()
    if plan is None:
        raise Http404("No such plan")
    plan = members.plan_toggle(plan=plan, membership=membership)
    messages.success(request, f"“{plan.name}” is {'offered' if plan.is_active else 'withdrawn; members keep their terms'}.")
    return redirect("membership_plans")


# --- Members (the desk) ---------------------------------------------------------------------------


@staff_view(Capability.TAKE_PAYMENTS)
def membership_list(request: HttpRequest, *, membership: Membership) -> HttpResponse:
    status = request.GET.get("status", "")
    status = status if status in MembershipStatus.values else ""
    page = paginate(request, members.membership_list(membership.clinic, status=status))
    audit_many(action=Action.LIST, objects=page.object_list, clinic=membership.clinic, role=membership.role)
    context = {
        "page": page, "status": status, "statuses": MembershipStatus.choices, "todo": members.membership_todo(membership.clinic),
        "owner": membership.can(Capability.MANAGE_CLINIC), "configured": get_provider() is not None,
    }  # fmt: skip
    return render(request, "billing/membership_list.html", context)


@login_required
def membership_detail(request: HttpRequest, pk: int) -> HttpResponse:
    found, staff = members.get_membership_for_user(_user(request), pk)
    context = {
        "m": found, "periods": found.periods.select_related("invoice").order_by("-start", "-id"), "entries": members.entries_of(found),
        "credit_services": found.credit_services.all(), "priced_services": found.priced_services.all(),
        "owner": staff.can(Capability.MANAGE_CLINIC), "configured": get_provider() is not None, "todo_statuses": PERIOD_TODO,
        "today": local_today(found),
    }  # fmt: skip
    return render(request, "billing/membership.html", context)


@login_required
def membership_sign_up(request: HttpRequest, client_id: int) -> HttpResponse:
    client, staff = get_client_for_user(_user(request), client_id, write=request.method == "POST")
    if staff is None or not staff.can(Capability.TAKE_PAYMENTS):
        raise PermissionDenied("Memberships are for the front desk and the clinic owner.")
    has_card = SavedCard.objects.filter(client=client).exists()
    form = SignUpForm(request.POST or None, clinic=client.clinic, has_card=has_card)
    if request.method == "POST" and form.is_valid():
        try:
            found = members.membership_sign_up(
                client=client, plan=form.cleaned_data["plan"], actor=_user(request), pay_at_desk=form.cleaned_data["pay_at_desk"]
            )
        except BillingError as exc:
            _error(form, exc)
        else:
            period = found.periods.select_related("invoice").first()
            if form.cleaned_data["pay_at_desk"] and period is not None:
                messages.success(request, f"{client.full_name} is signed up. Take the first payment on {period.invoice}.")
                return redirect("invoice_detail", period.invoice_id)
            messages.success(request, f"{client.full_name} is signed up to {found.name}.")
            return redirect("membership_detail", found.pk)
    context = {"client": client, "form": form, "has_card": has_card}
    return render(request, "billing/membership_sign_up.html", context, status=400 if form.errors else 200)


@login_required
@require_POST
def membership_charge(request: HttpRequest, pk: int) -> HttpResponse:
    """The desk's "Charge card" for a period on the to-do list: the same exactly-once charge."""
    found, _ = members.get_membership_for_user(_user(request), pk, write=True)
    period = MembershipPeriod.objects.filter(membership=found, status__in=[*PERIOD_TODO, "due", "charging"]).order_by("-start").first()
    if period is None:
        messages.info(request, "Nothing is waiting to be charged.")
        return redirect("membership_detail", pk)
    period = period_charge(period=period, actor=_user(request))
    if period.status == "paid":
        messages.success(request, f"{period.invoice} is paid.")
    else:
        messages.error(request, period.problem or period.get_status_display())
    return redirect("membership_detail", pk)


@login_required
def membership_pause(request: HttpRequest, pk: int) -> HttpResponse:
    found, _ = members.get_membership_for_user(_user(request), pk, write=True)
    form = PauseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            members.membership_pause(
                membership=found, actor=_user(request), until=form.cleaned_data["until"], reason=form.cleaned_data["reason"]
            )
        except BillingError as exc:
            _error(form, exc)
        else:
            messages.success(request, "The pause is set. Billing stops at the end of the paid period and starts again by itself.")
            return redirect("membership_detail", pk)
    return render(request, "billing/membership_pause.html", {"m": found, "form": form}, status=400 if form.errors else 200)


@login_required
@require_POST
def membership_resume(request: HttpRequest, pk: int) -> HttpResponse:
    found, _ = members.get_membership_for_user(_user(request), pk, write=True)
    try:
        found = members.membership_resume(membership=found, actor=_user(request))
    except BillingError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "The membership is running again." if found.status != MembershipStatus.PAUSED else "Pause removed.")
    return redirect("membership_detail", pk)


@login_required
@require_POST
def membership_keep(request: HttpRequest, pk: int) -> HttpResponse:
    found, _ = members.get_membership_for_user(_user(request), pk, write=True)
    try:
        members.membership_keep(membership=found, actor=_user(request))
    except BillingError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "The membership carries on; it is no longer set to end.")
    return redirect("membership_detail", pk)


@login_required
def membership_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    found, staff = members.get_membership_for_user(_user(request), pk, write=True)
    if not found.is_live:
        raise Http404("This membership has ended")
    form = CancelForm(request.POST or None, membership=found, today=local_today(found), owner=staff.can(Capability.MANAGE_CLINIC))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            found = members.membership_cancel(
                membership=found, actor=_user(request), at_period_end=data["when"] == "period_end", reason=data["reason"],
                override_minimum=bool(data.get("override_minimum")),
            )  # fmt: skip
        except BillingError as exc:
            _error(form, exc)
        else:
            done = (
                "ends on " + f"{found.next_billing_on:%-d %b %Y}" if found.cancel_at_period_end and found.next_billing_on else "has ended"
            )
            messages.success(request, f"The membership {done}.")
            return redirect("membership_detail", pk)
    return render(request, "billing/membership_cancel.html", {"m": found, "form": form}, status=400 if form.errors else 200)
