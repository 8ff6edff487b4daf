"""What every API router shares: authentication, scopes, the one error shape, capped pagination."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Field, NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.openapi.schema import OpenAPISchema
from ninja.security import HttpBearer, SessionAuth
from ninja.throttling import AnonRateThrottle, AuthRateThrottle

from knotwork.accounts.models import ApiToken, Clinic, Membership
from knotwork.accounts.permissions import membership_for
from knotwork.accounts.services import api_token_authenticate

log = logging.getLogger(__name__)


class TokenAuth(HttpBearer):
    """``Authorization: Bearer kw_<prefix>_<secret>``: a personal access token."""

    def authenticate(self, request: HttpRequest, token: str) -> ApiToken | None:
        found = api_token_authenticate(token)
        if found is not None:
            request.user = found.user
            request.api_token = found  # type: ignore[attr-defined]
        return found


class BrowserSession(SessionAuth):
    """The signed-in browser session, with CSRF protection on unsafe methods."""


AUTH = [TokenAuth(), BrowserSession(csrf=True)]


def api_membership(request: HttpRequest, scope: str) -> Membership:
    """The clinic membership an API call acts through: the token's clinic, or the session's current one.

    A token must carry ``scope``; a token whose owner has left the clinic acts for nobody.
    """
    token: ApiToken | None = getattr(request, "api_token", None)
    if token is not None:
        if scope not in token.scopes:
            raise HttpError(403, f"This token lacks the “{scope}” scope.")
        membership = membership_for(token.user, token.clinic_id)
    else:
        membership = getattr(request, "membership", None)
    if membership is None:
        raise HttpError(403, "This operation is for clinic staff.")
    return membership


class PageParams(Schema):
    page: int = Field(1, ge=1, le=100_000)
    page_size: int = Field(25, ge=1, le=settings.API_MAX_PAGE_SIZE, description="Capped at 100")


def clinic_time(value: datetime | None, clinic: Clinic) -> datetime:
    """A record's time from an API body: now when left out; a time without an offset is the clinic's local time."""
    if value is None:
        return timezone.now()
    return timezone.make_aware(value, clinic.tz) if timezone.is_naive(value) else value


def page_of(qs: Any, params: PageParams) -> tuple[list[Any], dict[str, int]]:
    """One page of ``qs`` and its counters; the size is capped by ``PageParams``."""
    start = (params.page - 1) * params.page_size
    rows = list(qs[start : start + params.page_size])
    return rows, {"count": qs.count(), "page": params.page, "page_size": params.page_size}


ERROR_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    422: "unprocessable",
    429: "rate_limited",
}


def error_body(status: int, message: str, fields: dict[str, str] | None = None, code: str | None = None) -> dict[str, Any]:
    return {"error": {"code": code or ERROR_CODES.get(status, "error"), "message": message, "fields": fields or {}}}


def _field_name(loc: list[Any]) -> str:
    # Drop the parameter source ("body", "query", "path") and the schema's argument name.
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "cookie", "form", "file")]
    if len(parts) > 1 and parts[0] in ("payload", "data", "filters", "params"):
        parts = parts[1:]
    return ".".join(parts) or "__all__"


# What each error status means, as every operation's OpenAPI entry lists it (see document_errors).
ERROR_STATUSES: dict[int, str] = {
    400: "Invalid input: a value is missing, malformed or not allowed (`fields` names each).",
    401: "Not signed in, or the API token is missing, unknown, expired or revoked.",
    403: "Signed in, but this role or token scope may not do this.",
    404: "No such object, or it belongs to another clinic.",
    409: "Conflicts with the current state (a time just taken, a duplicate, an invoice already issued).",
    413: "The request body is larger than the API accepts.",
    422: "Well-formed but refused by a rule (outside working hours, an existing-clients-only service, ...).",
    429: "Too many requests: slow down and retry later.",
}
_ERROR_SCHEMAS = {
    "ErrorDetail": {
        "title": "ErrorDetail",
        "type": "object",
        "properties": {
            "code": {"title": "Code", "type": "string"},
            "message": {"title": "Message", "type": "string"},
            "fields": {"title": "Fields", "type": "object", "additionalProperties": {"type": "string"}},
        },
        "required": ["code", "message", "fields"],
    },
    "ErrorOut": {
        "title": "ErrorOut",
        "type": "object",
        "properties": {"error": {"$ref": "#/components/schemas/ErrorDetail"}},
        "required": ["error"],
    },
}


def document_errors(schema: dict[str, Any]) -> dict[str, Any]:
    """Add to every operation the error statuses it can answer, all in the one error shape.

    Every operation can answer 400 (validation, a NUL character) and 429 (rate limits); one
    that takes a body, 413; one behind sign-in, 401 and 403; one naming anything (path, filter or body), 404;
    one that changes something, 409 and 422. Statuses an operation already documents keep
    their own entry.
    """
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for name, body in _ERROR_SCHEMAS.items():
        components.setdefault(name, body)
    secured_by_default = bool(schema.get("security"))
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            statuses = {400, 429}
            if "requestBody" in operation:
                statuses.add(413)
            if operation.get("security", schema.get("security")) or (secured_by_default and "security" not in operation):
                statuses |= {401, 403}
            if "{" in path or operation.get("parameters") or "requestBody" in operation:
                statuses.add(404)  # an id in the path, a filter or the body (an unknown therapist, service, client)
            if method in ("post", "put", "patch", "delete"):
                statuses |= {409, 422}
            responses = operation.setdefault("responses", {})
            for status in sorted(statuses):
                if status not in responses and str(status) not in responses:
                    responses[status] = {
                        "description": ERROR_STATUSES[status],
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}},
                    }
    return schema


class KnotworkAPI(NinjaAPI):
    def get_openapi_schema(self, *, path_prefix: str | None = None, path_params: dict[str, Any] | None = None) -> OpenAPISchema:
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        document_errors(schema)
        return schema


def build_api() -> NinjaAPI:
    api = KnotworkAPI(
        title="Knotwork API",
        version="1",
        description='Clinic platform for neuromuscular technique therapy. Errors always use `{"error": {"code", "message", "fields"}}`.',
        auth=AUTH,
        urls_namespace="api",
        throttle=[AnonRateThrottle("60/m"), AuthRateThrottle("600/m")],
    )

    def respond(
        request: HttpRequest, status: int, message: str, fields: dict[str, str] | None = None, code: str | None = None
    ) -> HttpResponse:
        return api.create_response(request, error_body(status, message, fields, code), status=status)

    @api.exception_handler(ValidationError)
    def _validation(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        fields: dict[str, str] = {}
        for err in exc.errors:
            fields.setdefault(_field_name(list(err.get("loc", []))), str(err.get("msg", "invalid")))
        return respond(request, 400, "Some values are missing or invalid.", fields, "validation_error")

    @api.exception_handler(DjangoValidationError)
    def _django_validation(request: HttpRequest, exc: DjangoValidationError) -> HttpResponse:
        if hasattr(exc, "error_dict"):
            fields = {k: " ".join(v) for k, v in exc.message_dict.items()}
            return respond(request, 400, "Some values are missing or invalid.", fields, "validation_error")
        return respond(request, 422, " ".join(exc.messages), code="unprocessable")

    @api.exception_handler(AuthenticationError)
    def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        return respond(request, 401, "Sign in or send a valid API token.")

    @api.exception_handler(Http404)
    def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
        return respond(request, 404, "Not found.")

    @api.exception_handler(PermissionDenied)
    def _forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
        return respond(request, 403, str(exc) or "You may not do this.")

    @api.exception_handler(HttpError)
    def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        return respond(request, exc.status_code, str(exc))

    @api.exception_handler(RequestDataTooBig)
    def _too_large(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
        from knotwork.lib.middleware import too_large  # the one 413 shape for pages, forms and the API

        return too_large(request, settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0)

    @api.exception_handler(Exception)
    def _unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
        log.exception("unhandled API error")
        return respond(request, 500, "Something went wrong on our side. It has been logged.", code="server_error")

    return api
