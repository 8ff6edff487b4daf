from __future__ import annotations

from datetime import date, datetime

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from knotwork.accounts.models import ApiToken, Capability, Membership
from knotwork.audit.models import Action
from knotwork.audit.services import audit_many
from knotwork.clients import services
from knotwork.clients.models import Client
from knotwork.clients.selectors import client_list, get_client_for_user
from knotwork.lib.api import PageParams, api_membership, page_of

router = Router(tags=["clients"])

READ, WRITE = ApiToken.Scope.CLIENTS_READ, ApiToken.Scope.CLIENTS_WRITE


class ClientOut(Schema):
    id: int
    clinic_id: int
    first_name: str
    last_name: str
    preferred_name: str
    date_of_birth: date | None
    sex: str
    email: str
    phone: str
    created_at: datetime
    clinical_alerts: str | None = Field(None, description="null when the caller's role may not see clinical details")


class ClientIn(Schema):
    first_name: str = Field(..., min_length=1, max_length=80)
    last_name: str = Field(..., min_length=1, max_length=80)
    preferred_name: str = Field("", max_length=80)
    date_of_birth: date | None = None
    sex: Client.Sex = Client.Sex.UNDISCLOSED
    email: str = Field("", max_length=254)
    phone: str = Field("", max_length=40)


class ClientPatch(Schema):
    first_name: str | None = Field(None, min_length=1, max_length=80)
    last_name: str | None = Field(None, min_length=1, max_length=80)
    preferred_name: str | None = Field(None, max_length=80)
    date_of_birth: date | None = None
    sex: Client.Sex | None = None
    email: str | None = Field(None, max_length=254)
    phone: str | None = Field(None, max_length=40)
    clinical_alerts: str | None = Field(None, max_length=5000)


class ClientPage(Schema):
    items: list[ClientOut]
    count: int
    page: int
    page_size: int


@router.get("/clients", response=ClientPage, summary="List the clinic's clients")
def list_clients(request: HttpRequest, paging: Query[PageParams], q: str = Query("", max_length=100)):  # type: ignore[no-untyped-def]
    membership = api_membership(request, READ)
    rows, counts = page_of(client_list(membership=membership, search=q), paging)
    audit_many(action=Action.LIST, objects=rows, clinic=membership.clinic, role=membership.role)
    return {"items": [_out(c, membership) for c in rows], **counts}


def _out(client: Client, membership: Membership) -> ClientOut:
    out = ClientOut.from_orm(client)
    if not membership.can(Capability.VIEW_CLINICAL):
        out.clinical_alerts = None
    return out


@router.get("/clients/{client_id}", response=ClientOut, summary="One client")
def get_client(request: HttpRequest, client_id: int):  # type: ignore[no-untyped-def]
    membership = api_membership(request, READ)
    client, _ = get_client_for_user(membership.user, client_id, clinic_id=membership.clinic_id)
    return _out(client, membership)


@router.post("/clients", response={201: ClientOut}, summary="Add a client")
def create_client(request: HttpRequest, payload: ClientIn):  # type: ignore[no-untyped-def]
    membership = api_membership(request, WRITE)
    client = services.client_create(membership=membership, data=payload.dict())
    return Status(201, _out(client, membership))


@router.patch("/clients/{client_id}", response=ClientOut, summary="Change a client's details")
def update_client(request: HttpRequest, client_id: int, payload: ClientPatch):  # type: ignore[no-untyped-def]
    membership = api_membership(request, WRITE)
    client, _ = get_client_for_user(membership.user, client_id, write=True, clinic_id=membership.clinic_id)
    data = payload.dict(exclude_unset=True)
    return _out(services.client_update(client=client, membership=membership, data=data), membership)
