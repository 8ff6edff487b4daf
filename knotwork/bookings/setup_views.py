"""Staff pages that set bookings up: services, rooms and the booking policy (owner), and weekly
hours and exceptions (each therapist their own, the owner anyone's)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from knotwork.accounts.models import Capability, Membership
from knotwork.bookings import setup
from knotwork.bookings.models import Availability, AvailabilityException, BookingPolicy, Room, Service
from knotwork.bookings.selectors import THERAPIST_ROLES
from knotwork.bookings.setup_forms import AvailabilityForm, ExceptionForm, PolicyForm, RoomForm, ServiceForm
from knotwork.lib.views import staff_view


def _settings_context(membership: Membership) -> dict[str, object]:
    clinic = membership.clinic
    therapists = (
        Membership.objects.active().filter(clinic=clinic, role__in=THERAPIST_ROLES).select_related("user").order_by("user__full_name")
    )
    return {
        "services": list(Service.objects.filter(clinic=clinic).select_related("therapist").order_by("-is_active", "position", "name")),
        "rooms": list(Room.objects.filter(clinic=clinic).order_by("-is_active", "name")),
        "therapists": list(therapists),
    }


@staff_view(Capability.MANAGE_CLINIC)
def booking_settings(request: HttpRequest, *, membership: Membership) -> HttpResponse:
    policy = BookingPolicy.for_clinic(membership.clinic)
    form = PolicyForm(request.POST or None, instance=policy)
    if request.method == "POST" and form.is_valid():
        setup.policy_save(policy=form.save(commit=False), changed=form.changed_data, membership=membership)
        messages.success(request, "Booking rules saved.")
        return redirect("booking_settings")
    context = {"form": form, "room_form": RoomForm(clinic=membership.clinic), **_settings_context(membership)}
    return render(request, "bookings/settings.html", context, status=400 if form.errors else 200)


def _service_form_page(request: HttpRequest, service: Service, membership: Membership) -> HttpResponse:
    form = ServiceForm(request.POST or None, instance=service, clinic=membership.clinic)
    if request.method == "POST" and form.is_valid():
        setup.service_save(service=form.save(commit=False), changed=form.changed_data, membership=membership)
        messages.success(request, f"“{service.name}” saved.")
        return redirect("booking_settings")
    return render(request, "bookings/service_form.html", {"form": form, "service": service}, status=400 if form.errors else 200)


@staff_view(Capability.MANAGE_CLINIC)
def service_new(request: HttpRequest, *, membership: Membership) -> HttpResponse:
    return _service_form_page(request, Service(clinic=membership.clinic), membership)


@staff_view(Capability.VIEW_DEMOGRAPHICS)
def service_edit(request: HttpRequest, pk: int, *, membership: Membership) -> HttpResponse:
    service, editor = setup.get_service_for_user(request.user, pk)
    return _service_form_page(request, service, editor)


@require_POST
@staff_view(Capability.VIEW_DEMOGRAPHICS)
def service_archive(request: HttpRequest, pk: int, *, membership: Membership) -> HttpResponse:
    service, editor = setup.get_service_for_user(request.user, pk)
    active = request.POST.get("action") == "restore"
    setup.service_set_active(service=service, active=active, membership=editor)
    messages.success(request, f"“{service.name}” is {'offered again' if active else 'archived; its appointments are kept'}.")
    return redirect("booking_settings")


@require_POST
@staff_view(Capability.MANAGE_CLINIC)
def room_add(request: HttpRequest, *, membership: Membership) -> HttpResponse:
    form = RoomForm(request.POST, instance=Room(clinic=membership.clinic), clinic=membership.clinic)
    if form.is_valid():
        setup.room_save(room=form.save(commit=False), changed=["name"], membership=membership)
        messages.success(request, "Room added.")
        return redirect("booking_settings")
    context = {"form": PolicyForm(instance=BookingPolicy.for_clinic(membership.clinic)), "room_form": form, **_settings_context(membership)}
    return render(request, "bookings/settings.html", context, status=400)


@require_POST
@staff_view(Capability.VIEW_DEMOGRAPHICS)
def room_edit(request: HttpRequest, pk: int, *, membership: Membership) -> HttpResponse:
    room, editor = setup.get_room_for_user(request.user, pk)
    action = request.POST.get("action", "")
    if action in ("deactivate", "activate"):
        room.is_active = action == "activate"
        setup.room_save(room=room, changed=["is_active"], membership=editor)
        messages.success(request, f"{room.name} is {'in use' if room.is_active else 'no longer offered'}.")
        return redirect("booking_settings")
    form = RoomForm(request.POST, instance=room, clinic=room.clinic)
    if form.is_valid():
        setup.room_save(room=form.save(commit=False), changed=["name"], membership=editor)
        messages.success(request, "Room renamed.")
    else:
        messages.error(request, " ".join(str(e) for e in form.errors.get("name", ["Please give the room a name."])))
    return redirect("booking_settings")


@staff_view(Capability.VIEW_DEMOGRAPHICS)
def availability_edit(request: HttpRequest, pk: int, *, membership: Membership) -> HttpResponse:
    target, editor = setup.get_therapist_membership_for_user(request.user, pk)
    which = request.POST.get("form") if request.method == "POST" else None
    block_form = AvailabilityForm(request.POST if which == "block" else None, target=target)
    exception_form = ExceptionForm(request.POST if which == "exception" else None, target=target)
    bound = block_form if which == "block" else exception_form if which == "exception" else None
    if bound is not None and bound.is_valid():
        if isinstance(bound, AvailabilityForm):
            setup.availability_add(block=bound.save(commit=False), target=target, membership=editor)
        else:
            setup.availability_exception_add(exception=bound.save(commit=False), target=target, membership=editor)
        messages.success(request, "Saved.")
        return redirect("availability_edit", pk)
    context = _hours_context(target, block_form, exception_form)
    return render(request, "bookings/availability.html", context, status=400 if bound is not None else 200)


def _hours_context(target: Membership, block_form: AvailabilityForm, exception_form: ExceptionForm) -> dict[str, object]:
    blocks = list(Availability.objects.filter(clinic=target.clinic, therapist=target.user))
    exceptions = list(AvailabilityException.objects.filter(clinic=target.clinic, therapist=target.user).order_by("day", "start_time"))
    return {"target": target, "blocks": blocks, "exceptions": exceptions, "block_form": block_form, "exception_form": exception_form}


@require_POST
@staff_view(Capability.VIEW_DEMOGRAPHICS)
def availability_remove(request: HttpRequest, pk: int, *, membership: Membership) -> HttpResponse:
    block, editor = setup.get_availability_for_user(request.user, pk)
    target = setup.membership_of_therapist(block.clinic, block.therapist_id)
    setup.availability_remove(block=block, membership=editor)
    messages.success(request, "Working hours removed.")
    return redirect("availability_edit", target.pk) if target else redirect("booking_settings")


@require_POST
@staff_view(Capability.VIEW_DEMOGRAPHICS)
def availability_exception_remove(request: HttpRequest, pk: int, *, membership: Membership) -> HttpResponse:
    exception, editor = setup.get_exception_for_user(request.user, pk)
    target = setup.membership_of_therapist(exception.clinic, exception.therapist_id)
    setup.availability_exception_remove(exception=exception, membership=editor)
    messages.success(request, "Exception removed.")
    return redirect("availability_edit", target.pk) if target else redirect("booking_settings")
