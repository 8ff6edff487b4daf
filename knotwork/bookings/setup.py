"""Setting bookings up: services, rooms, the clinic's booking policy, and therapists' weekly hours
and exceptions. Object lookups (``get_<obj>_for_user``) and the audited writes live here; the
pages are in ``setup_views``.

Who may change what: the clinic's offer (services, rooms, policy) needs MANAGE_CLINIC; a
therapist may change their own hours, the owner anyone's. Another clinic's object is a 404.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404

from knotwork.accounts.models import Capability, Clinic, Membership
from knotwork.accounts.permissions import membership_for, require
from knotwork.audit.models import Action
from knotwork.audit.services import audit_record
from knotwork.bookings.models import Availability, AvailabilityException, BookingPolicy, Room, Service
from knotwork.bookings.selectors import THERAPIST_ROLES

# --- lookups -----------------------------------------------------------------------------------


def get_service_for_user(user: Any, service_id: int) -> tuple[Service, Membership]:
    service = Service.objects.select_related("clinic", "therapist").filter(pk=service_id).first()
    if service is None:
        raise Http404("No such service")
    return service, require(membership_for(user, service.clinic_id), Capability.MANAGE_CLINIC)


def get_room_for_user(user: Any, room_id: int) -> tuple[Room, Membership]:
    room = Room.objects.select_related("clinic").filter(pk=room_id).first()
    if room is None:
        raise Http404("No such room")
    return room, require(membership_for(user, room.clinic_id), Capability.MANAGE_CLINIC)


def _may_edit_hours(actor: Membership | None, therapist_id: int) -> Membership:
    """Own hours for any treating member; anyone's hours for a role that manages the clinic."""
    if actor is None:
        raise Http404("No such therapist")
    if actor.user_id == therapist_id and actor.role in THERAPIST_ROLES:
        return actor
    if not actor.can(Capability.MANAGE_CLINIC):
        raise PermissionDenied("Only the clinic owner can change another therapist's hours.")
    return actor


def get_therapist_membership_for_user(user: Any, membership_id: int) -> tuple[Membership, Membership]:
    """The therapist's membership whose hours are edited, and the editor's own membership."""
    target = Membership.objects.active().select_related("clinic", "user").filter(pk=membership_id, role__in=THERAPIST_ROLES).first()
    if target is None:
        raise Http404("No such therapist")
    return target, _may_edit_hours(membership_for(user, target.clinic_id), target.user_id)


def get_availability_for_user(user: Any, block_id: int) -> tuple[Availability, Membership]:
    block = Availability.objects.select_related("clinic").filter(pk=block_id).first()
    if block is None:
        raise Http404("No such working hours")
    return block, _may_edit_hours(membership_for(user, block.clinic_id), block.therapist_id)


def get_exception_for_user(user: Any, exception_id: int) -> tuple[AvailabilityException, Membership]:
    found = AvailabilityException.objects.select_related("clinic").filter(pk=exception_id).first()
    if found is None:
        raise Http404("No such exception")
    return found, _may_edit_hours(membership_for(user, found.clinic_id), found.therapist_id)


def membership_of_therapist(clinic: Clinic, therapist_id: int) -> Membership | None:
    return Membership.objects.active().filter(clinic=clinic, user_id=therapist_id, role__in=THERAPIST_ROLES).first()


# --- writes ------------------------------------------------------------------------------------


@transaction.atomic
def service_save(*, service: Service, changed: list[str], membership: Membership) -> Service:
    """Create or change a service. Only the names of the changed fields reach the audit log."""
    creating = service.pk is None
    service.clinic = membership.clinic
    service.full_clean()
    service.save()
    audit_record(
        action=Action.CREATE if creating else Action.UPDATE,
        obj=service,
        clinic=membership.clinic,
        role=membership.role,
        detail={"fields": sorted(changed)},
    )
    return service


@transaction.atomic
def service_set_active(*, service: Service, active: bool, membership: Membership) -> Service:
    """Archiving hides a service from booking; appointments that name it keep it (rows are never deleted)."""
    if service.is_active != active:
        service.is_active = active
        service.save(update_fields=["is_active"])
        audit_record(
            action=Action.UPDATE,
            obj=service,
            clinic=service.clinic,
            role=membership.role,
            detail={"fields": ["is_active"], "active": active},
        )
    return service


@transaction.atomic
def room_save(*, room: Room, changed: list[str], membership: Membership) -> Room:
    creating = room.pk is None
    room.clinic = membership.clinic
    room.full_clean()
    room.save()
    audit_record(
        action=Action.CREATE if creating else Action.UPDATE,
        obj=room,
        clinic=membership.clinic,
        role=membership.role,
        detail={"fields": sorted(changed)},
    )
    return room


@transaction.atomic
def policy_save(*, policy: BookingPolicy, changed: list[str], membership: Membership) -> BookingPolicy:
    creating = policy.pk is None
    policy.clinic = membership.clinic
    policy.full_clean()
    policy.save()
    audit_record(
        action=Action.CREATE if creating else Action.UPDATE,
        obj=policy,
        clinic=membership.clinic,
        role=membership.role,
        detail={"fields": sorted(changed)},
    )
    return policy


def _therapist_row_add(row: Any, *, target: Membership, membership: Membership, detail: dict[str, Any]) -> Any:
    """Save a weekly block or an exception for ``target``'s therapist, validated and audited."""
    row.clinic_id = target.clinic_id
    row.therapist_id = target.user_id
    row.full_clean()
    row.save()
    audit_record(action=Action.CREATE, obj=row, clinic=target.clinic, role=membership.role,
                 detail={"therapist_id": target.user_id, **detail})  # fmt: skip
    return row


@transaction.atomic
def availability_add(*, block: Availability, target: Membership, membership: Membership) -> Availability:
    return _therapist_row_add(block, target=target, membership=membership, detail={"weekday": block.weekday})


@transaction.atomic
def availability_remove(*, block: Availability, membership: Membership) -> None:
    detail = {"therapist_id": block.therapist_id, "weekday": block.weekday, "id": block.pk}
    audit_record(action=Action.DELETE, obj=block, clinic=block.clinic, role=membership.role, detail=detail)
    block.delete()


@transaction.atomic
def availability_exception_add(*, exception: AvailabilityException, target: Membership, membership: Membership) -> AvailabilityException:
    return _therapist_row_add(exception, target=target, membership=membership, detail={"kind": exception.kind})


@transaction.atomic
def availability_exception_remove(*, exception: AvailabilityException, membership: Membership) -> None:
    detail = {"therapist_id": exception.therapist_id, "kind": exception.kind, "id": exception.pk}
    audit_record(action=Action.DELETE, obj=exception, clinic=exception.clinic, role=membership.role, detail=detail)
    exception.delete()
