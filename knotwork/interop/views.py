"""FHIR bundles and the client data export (staff pages and the client's own portal page)."""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from knotwork.audit.models import Action
from knotwork.audit.services import audit_record
from knotwork.care.selectors import get_episode_for_user
from knotwork.clients.intake.selectors import get_clinical_client, get_own_client
from knotwork.clients.models import Client
from knotwork.interop import fhir, services
from knotwork.interop.models import DataExport
from knotwork.interop.selectors import get_export_for_user


def _bundle_response(bundle: dict[str, object], filename: str) -> HttpResponse:
    response = HttpResponse(json.dumps(bundle, indent=1, ensure_ascii=False), content_type="application/fhir+json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
def client_fhir(request: HttpRequest, client_id: int) -> HttpResponse:
    client, membership = get_clinical_client(request.user, client_id)
    bundle = fhir.bundle_for(client)
    audit_record(action=Action.EXPORT, obj=client, role=membership.role, detail={"format": "fhir", "entries": len(bundle["entry"])})
    return _bundle_response(bundle, f"client-{client.pk}-fhir.json")


@login_required
def episode_fhir(request: HttpRequest, client_id: int, episode_id: int) -> HttpResponse:
    episode, membership = get_episode_for_user(request.user, episode_id)
    if episode.client_id != client_id:
        raise Http404("No such episode")
    bundle = fhir.bundle_for(episode.client, episode=episode)
    audit_record(action=Action.EXPORT, obj=episode, role=membership.role, detail={"format": "fhir", "entries": len(bundle["entry"])})
    return _bundle_response(bundle, f"episode-{episode.pk}-fhir.json")


def _export_page(request: HttpRequest, client: Client, *, portal: bool) -> HttpResponse:
    exports = list(DataExport.objects.filter(client=client)[:10])
    links = {e.pk: services.download_token(e) for e in exports if e.is_downloadable}
    return render(request, "interop/export.html", {"client": client, "exports": exports, "links": links, "portal": portal})


@login_required
def client_data_export(request: HttpRequest, client_id: int) -> HttpResponse:
    client, membership = get_clinical_client(request.user, client_id)
    if request.method == "POST":
        services.export_request(client=client, user=request.user, membership=membership)
        messages.success(request, "The export is being prepared. Reload this page in a minute to download it.")
        return redirect("client_data_export", client.pk)
    return _export_page(request, client, portal=False)


@login_required
def portal_data_export(request: HttpRequest, client_id: int) -> HttpResponse:
    client = get_own_client(request.user, client_id)
    if request.method == "POST":
        services.export_request(client=client, user=request.user, membership=None)
        messages.success(request, "Your copy is being prepared. Reload this page in a minute to download it.")
        return redirect("portal_data_export", client.pk)
    return _export_page(request, client, portal=True)


@login_required
def data_export_download(request: HttpRequest, token: str) -> FileResponse:
    export_id = services.export_id_from_token(token)
    if export_id is None:
        raise Http404("This link is not valid, or it has expired.")
    export, membership = get_export_for_user(request.user, export_id)
    if not export.is_downloadable or not default_storage.exists(export.file_name):
        raise Http404("This export has expired. Ask for a new one.")
    audit_record(action=Action.EXPORT, obj=export, role=membership.role if membership else "client", detail={"downloaded": True})
    response = FileResponse(default_storage.open(export.file_name, "rb"), as_attachment=True,
                            filename=f"knotwork-export-client-{export.client_id}-{export.created_at:%Y%m%d}.zip",
                            content_type="application/zip")  # fmt: skip
    response["Cache-Control"] = "private, no-store"
    return response
