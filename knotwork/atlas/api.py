"""Public, read-only atlas endpoints: reference data with no client information in it."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router
from ninja.errors import HttpError

from knotwork.atlas import selectors

router = Router(tags=["atlas"], auth=None)


@router.get("/atlas/regions", url_name="atlas_regions", summary="The 85 body regions, their cells and WPI areas")
def regions(request: HttpRequest) -> dict[str, Any]:
    return selectors.regions_json()


@router.get("/atlas/muscles", url_name="atlas_muscles", summary="Every muscle with its trigger points; `q` searches names")
def muscles(request: HttpRequest, q: str = Query("", max_length=80)) -> dict[str, Any]:
    payload = selectors.muscles_json()
    if q.strip():
        found = [m.id for m in selectors.search_muscles(q)]
        by_id = {m["id"]: m for m in payload["muscles"]}
        payload["muscles"] = [by_id[mid] for mid in found]
    return payload


@router.get("/atlas/muscles/{muscle_id}", url_name="atlas_muscle", summary="One muscle in full")
def muscle(request: HttpRequest, muscle_id: str) -> dict[str, Any]:
    payload = selectors.muscle_json(muscle_id)
    if payload is None:
        raise HttpError(404, f"No muscle {muscle_id!r}.")
    return payload


@router.get(
    "/atlas/regions/{region_id}/referrers", url_name="atlas_region_referrers", summary="Trigger points that refer to a region"
)
def region_referrers(request: HttpRequest, region_id: str) -> dict[str, Any]:
    try:
        return selectors.referrers_json(region_id.split(":")[0])
    except KeyError:
        raise HttpError(404, f"No region {region_id!r}.") from None
