"""FHIR bundles and data exports over the API (clinical roles of the client's clinic)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from ninja import Router, Status

from knotwork.accounts.models import ApiToken
from knotwork.audit.models import Action
from knotwork.audit.services import audit_record
from knotwork.care.selectors import get_episode_for_user
from knotwork.clients.selectors import get_client_for_user
from knotwork.interop import fhir, services
from knotwork.interop.models import DataExport
from knotwork.interop.selectors import get_export_for_user
from knotwork.lib.api import api_membership

router = Router(tags=["interop"])
READ = ApiToken.Scope.CLIENTS_READ


@router.get("/clients/{client_id}/fhir", response=dict[str, Any], url_name="interop_client_fhir")
def client_bundle(request: HttpRequest, client_id: int) -> dict[str, Any]:
    clinic_id = api_membership(request, READ).clinic_id
    client, membership = get_client_for_user(request.user, client_id, clinical=True, clinic_id=clinic_id)
    bundle = fhir.bundle_for(client)
    audit_record(action=Action.EXPORT, obj=client, role=membership.role if membership else "", detail={"format": "fhir"})
    return bundle


@router.get("/episodes/{episode_id}/fhir", response=dict[str, Any], url_name="interop_episode_fhir")
def episode_bundle(request: HttpRequest, episode_id: int) -> dict[str, Any]:
    clinic_id = api_membership(request, READ).clinic_id
    episode, membership = get_episode_for_user(request.user, episode_id, clinic_id=clinic_id)
    bundle = fhir.bundle_for(episode.client, episode=episode)
    audit_record(action=Action.EXPORT, obj=episode, role=membership.role, detail={"format": "fhir"})
    return bundle


def _export_out(request: HttpRequest, export: DataExport) -> dict[str, Any]:
    url = (
        request.build_absolute_uri(reverse("data_export_download", args=[services.download_token(export)]))
        if export.is_downloadable
        else None
    )
    return {"id": export.pk, "status": export.status, "created_at": export.created_at, "expires_at": export.expires_at,
            "byte_size": export.byte_size, "download_url": url}  # fmt: skip


@router.post("/clients/{client_id}/exports", response={202: dict[str, Any]}, url_name="interop_export_create")
def create_export(request: HttpRequest, client_id: int) -> Status[dict[str, Any]]:
    clinic_id = api_membership(request, READ).clinic_id
    client, membership = get_client_for_user(request.user, client_id, clinical=True, clinic_id=clinic_id)
    export = services.export_request(client=client, user=request.user, membership=membership)
    export.refresh_from_db()
    return Status(202, _export_out(request, export))


@router.get("/exports/{export_id}", response=dict[str, Any], url_name="interop_export")
def get_export(request: HttpRequest, export_id: int) -> dict[str, Any]:
    clinic_id = api_membership(request, READ).clinic_id
    export, _ = get_export_for_user(request.user, export_id)
    if export.clinic_id != clinic_id:
        from django.http import Http404

        raise Http404("No such export")
    return _export_out(request, export)
