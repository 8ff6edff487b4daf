"""Client-record pages beyond the core ones in config/urls.py (intake, consent, drawings, summary)."""

from django.urls import path

from knotwork.clients import family_views as family
from knotwork.clients import portal_views as portal
from knotwork.clients.intake import views as staff

urlpatterns = [
    # Staff (clinic) pages
    path("clients/intake/questions/", staff.intake_questions, name="intake_questions"),
    path("clients/intake/questions/<int:pk>/archive/", staff.intake_question_archive, name="intake_question_archive"),
    path("clients/<int:client_id>/summary/", staff.previsit_summary, name="previsit_summary"),
    path("clients/<int:client_id>/intake/", staff.intake_review, name="intake_review"),
    path("clients/<int:client_id>/intake/<int:intake_id>/reviewed/", staff.intake_mark_reviewed, name="intake_mark_reviewed"),
    path("clients/<int:client_id>/intake/<int:intake_id>/request-info/", staff.intake_request_info, name="intake_request_info"),
    path("clients/<int:client_id>/flags/<int:flag_id>/acknowledge/", staff.flag_acknowledge, name="flag_acknowledge"),
    path("clients/<int:client_id>/flags/<int:flag_id>/clear/", staff.flag_clear, name="flag_clear"),
    path("clients/<int:client_id>/clearance/", staff.medical_clearance_new, name="medical_clearance_new"),
    path("clients/<int:client_id>/drawings/", staff.drawing_list, name="drawing_list"),
    path("clients/<int:client_id>/drawings/new/", staff.drawing_new, name="drawing_new"),
    path("clients/<int:client_id>/consents/<int:consent_id>.pdf", staff.consent_pdf, name="consent_pdf"),
    path("clients/<int:client_id>/family/", family.family_find, name="family_find"),
    path("clients/<int:client_id>/family/link/", family.family_link, name="family_link"),
    path("clients/<int:client_id>/family/unlink/", family.family_unlink, name="family_unlink"),
    # The client's own pages
    path("portal/<int:client_id>/intake/", portal.portal_intake, name="portal_intake"),
    path("portal/<int:client_id>/intake/start/", portal.portal_intake_start, name="portal_intake_start"),
    path("portal/<int:client_id>/intake/<slug:step>/", portal.portal_intake_step, name="portal_intake_step"),
    path("portal/<int:client_id>/drawings/new/", portal.portal_drawing_new, name="portal_drawing_new"),
    path("portal/<int:client_id>/details/", portal.portal_details, name="portal_details"),
    path("portal/consents/<int:consent_id>.pdf", portal.portal_consent_pdf, name="portal_consent_pdf"),
    path("portal/<int:client_id>/consents/sign/", portal.portal_consents_sign, name="portal_consents_sign"),
]
