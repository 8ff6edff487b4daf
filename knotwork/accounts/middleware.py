from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.http import urlencode

from knotwork.accounts.models import Membership

CLINIC_SESSION_KEY = "knotwork.clinic_id"
ACTIVITY_SESSION_KEY = "knotwork.last_activity"
SIGNED_IN_SESSION_KEY = "knotwork.signed_in_at"
ACTIVITY_RESOLUTION_SECONDS = 60


class StaffSessionMiddleware:
    """Ends a staff member's session after STAFF_IDLE_TIMEOUT without a request, and every session
    SESSION_COOKIE_AGE after sign-in (Django's own expiry slides forward each time the session is
    saved, which the activity stamp below does on every staff request)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.user.is_authenticated:
            return self.get_response(request)
        now = timezone.now().timestamp()
        signed_in = request.session.setdefault(SIGNED_IN_SESSION_KEY, now)
        if now - float(signed_in) > settings.SESSION_COOKIE_AGE:
            return _end_session(request, "Your session has ended. Please sign in again.")
        if getattr(request, "is_staff_member", False):
            last = request.session.get(ACTIVITY_SESSION_KEY)
            if last is not None and now - float(last) > settings.STAFF_IDLE_TIMEOUT.total_seconds():
                return _end_session(request, "You were signed out after a period of inactivity.")
            # Stamp at most once a minute: every stamp is a session write on the request's hot path.
            if last is None or now - float(last) > ACTIVITY_RESOLUTION_SECONDS:
                request.session[ACTIVITY_SESSION_KEY] = now
        return self.get_response(request)


def _end_session(request: HttpRequest, message: str) -> HttpResponse:
    logout(request)
    messages.info(request, message)
    return redirect(f"{reverse('account_login')}?{urlencode({'next': request.get_full_path()})}")


class ClinicMiddleware:
    """Sets ``request.membership`` and ``request.clinic`` to the clinic the user is working in.

    The clinic comes from the session (the clinic switcher), else the user's first membership.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.membership = None  # type: ignore[attr-defined]
        request.clinic = None  # type: ignore[attr-defined]
        request.memberships = []  # type: ignore[attr-defined]
        request.is_staff_member = False  # type: ignore[attr-defined]
        if request.user.is_authenticated:
            memberships = list(Membership.objects.active().filter(user=request.user).select_related("clinic"))
            chosen = request.session.get(CLINIC_SESSION_KEY)
            current = next((m for m in memberships if m.clinic_id == chosen), memberships[0] if memberships else None)
            request.memberships = memberships  # type: ignore[attr-defined]
            request.membership = current  # type: ignore[attr-defined]
            request.clinic = current.clinic if current else None  # type: ignore[attr-defined]
            user = request.user
            # Staff are clinic members and verifiers: the people who must use two-factor sign-in.
            request.is_staff_member = bool(memberships or user.is_verifier or user.is_superuser)  # type: ignore[attr-defined]
        return self.get_response(request)


# Paths a staff member without two-factor sign-in may still reach: enrolment itself, sign-out and
# the language chooser (it only sets a cookie and the user's own language).
MFA_EXEMPT_PREFIXES = ("/accounts/", "/static/", "/healthz", "/api/health", "/i18n/")


class RequireStaffMfaMiddleware:
    """Staff must enrol an authenticator before they reach anything else (clinical data included)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if (
            settings.KNOTWORK_REQUIRE_MFA
            and request.user.is_authenticated
            and not request.path.startswith(MFA_EXEMPT_PREFIXES)
            and getattr(request, "is_staff_member", False)
            and not has_second_factor(request.user)
        ):
            if request.path.startswith("/api/"):
                return JsonResponse(
                    {"error": {"code": "mfa_required", "message": "Set up two-factor sign-in first.", "fields": {}}},
                    status=403,
                )
            messages.warning(request, "Staff accounts need two-factor sign-in. Set it up to continue.")
            return redirect("mfa_activate_totp")
        return self.get_response(request)


def has_second_factor(user: object) -> bool:
    """An authenticator app or a passkey: either is a second factor on its own. Recovery codes only
    stand in for one when it is lost, so they never count."""
    from allauth.mfa.models import Authenticator

    return Authenticator.objects.filter(user=user, type__in=[Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN]).exists()


def _supported(code: str) -> bool:
    return code in dict(settings.LANGUAGES)


class UserLanguageMiddleware:
    """A signed-in user's saved language wins over the cookie and Accept-Language (LocaleMiddleware's
    choice), so the language follows the person to a new browser or session.

    The choice is saved when Django's ``set_language`` view answered the user's POST with a
    language cookie: that view has passed the CSRF check and validated the code by then. The cookie
    is kept in step with the saved choice, so pages stay in that language after signing out.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        saved = user.language if user.is_authenticated and _supported(user.language) else ""
        if saved and saved != translation.get_language():
            translation.activate(saved)
            request.LANGUAGE_CODE = saved
        response = self.get_response(request)
        cookie_name = settings.LANGUAGE_COOKIE_NAME
        chosen = response.cookies.get(cookie_name)
        match = request.resolver_match
        if chosen is not None and match is not None and match.url_name == "set_language" and request.user.is_authenticated:
            if _supported(chosen.value) and chosen.value != request.user.language:
                request.user.language = chosen.value
                request.user.save(update_fields=["language"])
        elif saved and chosen is None and request.user.is_authenticated and request.COOKIES.get(cookie_name) != saved:
            response.set_cookie(
                cookie_name,
                saved,
                max_age=settings.LANGUAGE_COOKIE_AGE,
                path=settings.LANGUAGE_COOKIE_PATH,
                domain=settings.LANGUAGE_COOKIE_DOMAIN,
                secure=settings.LANGUAGE_COOKIE_SECURE,
                httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
                samesite=settings.LANGUAGE_COOKIE_SAMESITE,
            )
        return response
