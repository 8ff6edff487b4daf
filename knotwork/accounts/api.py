from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Schema

router = Router(tags=["accounts"])


class MembershipOut(Schema):
    clinic_id: int
    clinic_name: str
    role: str


class MeOut(Schema):
    id: int
    email: str
    full_name: str
    memberships: list[MembershipOut]
    token_scopes: list[str] | None = None


@router.get("/me", response=MeOut, summary="Who the caller is and which clinics they work in")
def me(request: HttpRequest):  # type: ignore[no-untyped-def]
    user = request.user
    token = getattr(request, "api_token", None)
    memberships = user.memberships.active().select_related("clinic")  # type: ignore[union-attr,misc]
    return {
        "id": user.pk,
        "email": user.email,  # type: ignore[union-attr]
        "full_name": user.full_name,  # type: ignore[union-attr]
        "memberships": [{"clinic_id": m.clinic_id, "clinic_name": m.clinic.name, "role": m.role} for m in memberships],
        "token_scopes": token.scopes if token else None,
    }


class HealthOut(Schema):
    status: str


@router.get("/health", response=HealthOut, auth=None, summary="Liveness check (public)")
def health(request: HttpRequest):  # type: ignore[no-untyped-def]
    return {"status": "ok"}
