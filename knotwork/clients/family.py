"""Families: clients of one clinic linked in a ``Household``, so that a shareable package bought by
one of them pays for the others' sessions (docs/money.md, "Families").

A client is in at most one household. Linking two clients puts both in one: a new household when
neither has one, or the household one of them is already in. Two clients already in two different
families are refused rather than merged, so no link quietly joins people the desk did not name.
Unlinking takes one client out; a household left with a single member is dissolved, since a
family of one shares with nobody.

Every change is audited as an ``update`` of each client whose household changed, with
``"event": "family_link"`` or ``"family_unlink"``. Writes lock the household row before the client
rows, always in that order, so two desks changing one family queue instead of deadlocking.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TypeVar

from django.db import transaction
from django.db.models import QuerySet

from knotwork.accounts.models import Capability, Membership
from knotwork.accounts.permissions import require
from knotwork.audit.models import Action
from knotwork.audit.services import audit_record
from knotwork.clients.models import Client, Household

T = TypeVar("T")


class FamilyError(Exception):
    """A link or unlink the desk asked for that cannot be made; the message says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# --- Reads ----------------------------------------------------------------------------------------


def _open_members(household_id: int) -> QuerySet[Client]:
    return Client.objects.filter(household_id=household_id, restricted_at__isnull=True)


def family_of(client: Client) -> list[Client]:
    """The other members of the client's family, by name. Erased records are left out."""
    if client.household_id is None:
        return []
    return list(_open_members(client.household_id).exclude(pk=client.pk).order_by("first_name", "last_name", "id"))


def same_family(client: Client, other: Client) -> bool:
    """True when both are open records of one clinic in the same household, read from the database
    now (not from the rows passed in), so a link or unlink made a moment ago counts."""
    if client.pk == other.pk:
        return True
    rows = list(Client.objects.filter(pk__in=(client.pk, other.pk), restricted_at__isnull=True).values_list("clinic_id", "household_id"))
    pairs = set(rows)
    return len(rows) == 2 and len(pairs) == 1 and next(iter(pairs))[1] is not None


def family_candidate(client: Client, member_id: int) -> Client | None:
    """A client the desk may name as ``client``'s family: an open record of the same clinic, not ``client``."""
    qs = Client.objects.filter(clinic_id=client.clinic_id, restricted_at__isnull=True, archived_at__isnull=True).exclude(pk=client.pk)
    return qs.filter(pk=member_id).first()


def family_member(client: Client, member_id: int) -> Client | None:
    """One of the client's family members, or None."""
    if client.household_id is None:
        return None
    return _open_members(client.household_id).exclude(pk=client.pk).filter(pk=member_id).first()


# --- Writes ---------------------------------------------------------------------------------------


def _audit(client: Client, *, event: str, household_id: int, membership: Membership, other: Client | None = None) -> None:
    detail: dict[str, object] = {"fields": ["household"], "event": event, "household": household_id}
    if other is not None:
        detail["with"] = other.pk
    audit_record(action=Action.UPDATE, obj=client, actor=membership.user, role=membership.role, detail=detail)


class _Changed(Exception):
    """The rows read before locking changed before the locks were taken: start again."""


ATTEMPTS = 3


def _retrying(write: Callable[[], T]) -> T:
    """Run ``write`` in a savepoint, again from the start when another desk changed the same family
    between its first read and its locks (rolling back the savepoint releases the locks taken in it)."""
    for _ in range(ATTEMPTS):
        try:
            with transaction.atomic():
                return write()
        except _Changed:
            continue
    raise FamilyError("This family was being changed by someone else at the same moment. Reload the page and try again.")


@transaction.atomic
def family_link(*, client: Client, member: Client, membership: Membership) -> Household:
    """Put ``member`` in ``client``'s family (or both in a new one). Refused: the client themself,
    a client of another clinic, an erased or archived record, someone already in this family, and
    someone already in another family."""
    require(membership, Capability.EDIT_DEMOGRAPHICS)
    if client.clinic_id != membership.clinic_id or member.clinic_id != client.clinic_id:
        raise FamilyError("Only clients of the same clinic can be linked as a family.")
    if member.pk == client.pk:
        raise FamilyError("A client cannot be linked to themselves.")
    household = _retrying(partial(_link, client=client, member=member, membership=membership))
    client.household_id = member.household_id = household.id
    return household


def _link(*, client: Client, member: Client, membership: Membership) -> Household:
    seen = dict(Client.objects.filter(pk__in=(client.pk, member.pk)).values_list("pk", "household_id"))
    for locked_id in sorted({h for h in seen.values() if h is not None}):
        Household.objects.select_for_update().filter(pk=locked_id).first()
    rows = {c.pk: c for c in Client.objects.select_for_update().filter(pk__in=(client.pk, member.pk)).order_by("pk")}
    if len(rows) != 2 or any(rows[pk].household_id != seen[pk] for pk in rows):
        raise _Changed
    a, b = rows[client.pk], rows[member.pk]
    for row in (a, b):
        if row.restricted_at is not None or row.archived_at is not None:
            raise FamilyError(f"{row.full_name}'s record is archived: restore it before linking a family.")
    if a.household_id is not None and a.household_id == b.household_id:
        raise FamilyError(f"{b.full_name} is already in {a.full_name}'s family.")
    if a.household_id is not None and b.household_id is not None:
        raise FamilyError(
            f"{b.full_name} is already in another family. Unlink them there first (on their client page), then link them here."
        )
    household_id = a.household_id or b.household_id
    household = Household.objects.get(pk=household_id) if household_id else Household.objects.create(clinic_id=client.clinic_id)
    for row, other in ((a, b), (b, a)):
        if row.household_id is None:
            Client.objects.filter(pk=row.pk).update(household=household)
            _audit(row, event="family_link", household_id=household.pk, membership=membership, other=other)
    return household


@transaction.atomic
def family_unlink(*, member: Client, membership: Membership) -> list[Client]:
    """Take ``member`` out of their family. When one member would be left alone the household is
    dissolved and that member is unlinked too. Returns the clients unlinked. Packages already used
    stay used; the family's shareable packages stop paying for the unlinked client from now on."""
    require(membership, Capability.EDIT_DEMOGRAPHICS)
    if member.clinic_id != membership.clinic_id:
        raise FamilyError("Only clients of the same clinic can be linked as a family.")
    leaving = _retrying(partial(_unlink, member=member, membership=membership))
    member.household_id = None
    return leaving


def _unlink(*, member: Client, membership: Membership) -> list[Client]:
    household_id = Client.objects.filter(pk=member.pk).values_list("household_id", flat=True).first()
    if household_id is None:
        raise FamilyError(f"{member.full_name} is not linked to a family.")
    household = Household.objects.select_for_update().filter(pk=household_id).first()
    rows = list(Client.objects.select_for_update().filter(household_id=household_id).order_by("pk"))
    if household is None or member.pk not in {r.pk for r in rows}:
        raise _Changed
    leaving = [r for r in rows if r.pk == member.pk]
    staying = [r for r in rows if r.pk != member.pk]
    if len([r for r in staying if r.restricted_at is None]) <= 1:
        leaving += staying
    Client.objects.filter(pk__in=[r.pk for r in leaving]).update(household=None)
    for row in leaving:
        _audit(row, event="family_unlink", household_id=household_id, membership=membership)
    if len(leaving) == len(rows):
        household.delete()
    return leaving
