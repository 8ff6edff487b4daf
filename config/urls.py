from django.urls import include, path

from config.api import api
from knotwork.accounts import views as accounts
from knotwork.audit import views as audit
from knotwork.clients import views as clients
from knotwork.lib.views import bad_request, error_view, healthz

urlpatterns = [
    path("", accounts.home, name="home"),
    path("healthz", healthz, name="healthz"),
    path("accounts/", include("allauth.urls")),
    path("api/", api.urls),
    path("clinic/switch/", accounts.switch_clinic, name="switch_clinic"),
    path("clinic/staff/", accounts.staff, name="staff"),
    path("clinic/staff/<int:pk>/remove/", accounts.staff_remove, name="staff_remove"),
    path("clinic/invitations/<int:pk>/revoke/", accounts.invitation_revoke, name="invitation_revoke"),
    path("invite/<str:token>/", accounts.invitation_accept, name="invitation_accept"),
    path("settings/", accounts.account_settings, name="account_settings"),
    path("settings/tokens/new/", accounts.token_create, name="token_create"),
    path("settings/tokens/<int:pk>/revoke/", accounts.token_revoke, name="token_revoke"),
    path("clients/", clients.client_index, name="client_index"),
    path("clients/new/", clients.client_new, name="client_new"),
    path("clients/<int:pk>/", clients.client_detail, name="client_detail"),
    path("clients/<int:pk>/edit/", clients.client_edit, name="client_edit"),
    path("clients/<int:pk>/invite/", clients.client_invite, name="client_invite"),
    path("clients/<int:pk>/erase/", clients.client_erase, name="client_erase"),
    path("audit/", audit.audit_log, name="audit_log"),
    path("audit/export.csv", audit.audit_export, name="audit_export"),
    path("atlas/", include("knotwork.atlas.urls")),
    path("", include("knotwork.clients.urls")),
    path("", include("knotwork.assessment.urls")),
    path("", include("knotwork.care.urls")),
    path("", include("knotwork.bookings.urls")),
    path("", include("knotwork.billing.urls")),
    path("", include("knotwork.directory.urls")),
    path("", include("knotwork.messaging.urls")),
    path("", include("knotwork.learn.urls")),
    path("", include("knotwork.outcomes.urls")),
    path("", include("knotwork.interop.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("knotwork.pwa.urls")),
    path("", include("knotwork.video.urls")),
]

handler400 = bad_request
handler403 = error_view(
    403, "You do not have access to this", "Your role does not allow this page or action. Ask your clinic owner if you think it should."
)
handler404 = error_view(404, "Page not found", "The page does not exist, or you do not have access to it.")
handler500 = error_view(500, "Something went wrong", "The error has been logged. Please try again in a moment.")
