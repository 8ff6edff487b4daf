"""Treatment pages. ``feedback_page``/``feedback_press`` and ``checkin_answer`` are public by
token: the random token in the URL (hashed at rest, short-lived) is the credential."""

from django.urls import path

from knotwork.care.views import episodes, feedback, program, visits

urlpatterns = [
    path("clients/<int:client_id>/episodes/new/", episodes.episode_new, name="episode_new"),
    path("clients/<int:client_id>/episodes/<int:episode_id>/", episodes.episode_detail, name="episode_detail"),
    path("clients/<int:client_id>/episodes/<int:episode_id>/status/", episodes.episode_status, name="episode_status"),
    path("clients/<int:client_id>/episodes/<int:episode_id>/diagnoses/", episodes.episode_diagnoses, name="episode_diagnoses"),
    path("clients/<int:client_id>/episodes/<int:episode_id>/plan/", episodes.plan_edit, name="plan_edit"),
    path("clients/<int:client_id>/episodes/<int:episode_id>/visits/new/", episodes.visit_new, name="visit_new"),
    path("clients/<int:client_id>/visits/", visits.client_history, name="client_visit_history"),
    path("appointments/<int:pk>/visit/", episodes.appointment_visit, name="appointment_visit"),
    path("clients/<int:client_id>/trigger-points/<slug:trigger_point_id>/", visits.trigger_point_history, name="trigger_point_history"),
    path("clients/<int:client_id>/program/", program.program_edit, name="program_edit"),
    path("clients/<int:client_id>/program/add/", program.program_add, name="program_add"),
    path("clients/<int:client_id>/program/items/<int:item_id>/", program.program_item_update, name="program_item_update"),
    path("clients/<int:client_id>/program/items/<int:item_id>/remove/", program.program_item_remove, name="program_item_remove"),
    path("visits/settings/", program.care_settings, name="care_settings"),
    path("visits/<int:visit_id>/", visits.visit_detail, name="visit_detail"),
    path("visits/<int:visit_id>/checkin/", visits.visit_checkin, name="visit_checkin"),
    path("visits/<int:visit_id>/notes/", visits.visit_notes, name="visit_notes"),
    path("visits/<int:visit_id>/carry-forward/", visits.visit_carry_forward, name="visit_carry_forward"),
    path("visits/<int:visit_id>/findings/", visits.finding_add, name="finding_add"),
    path("visits/<int:visit_id>/findings/<int:finding_id>/remove/", visits.finding_remove, name="finding_remove"),
    path("visits/<int:visit_id>/techniques/", visits.technique_add, name="technique_add"),
    path("visits/<int:visit_id>/techniques/<int:application_id>/remove/", visits.technique_remove, name="technique_remove"),
    path("visits/<int:visit_id>/sign/", visits.visit_sign, name="visit_sign"),
    path("visits/<int:visit_id>/addenda/", visits.addendum_add, name="addendum_add"),
    path("visits/<int:visit_id>/note.pdf", visits.visit_pdf, name="visit_pdf"),
    path("visits/<int:visit_id>/feedback/start/", feedback.feedback_start, name="feedback_start"),
    path("visits/<int:visit_id>/feedback/revoke/", feedback.feedback_revoke, name="feedback_revoke"),
    path("visits/<int:visit_id>/feedback/feed/", feedback.feedback_feed, name="feedback_feed"),
    path("visits/<int:visit_id>/aftercare/", program.aftercare, name="aftercare"),
    path("visits/<int:visit_id>/aftercare.pdf", program.aftercare_pdf, name="aftercare_pdf"),
    path("visits/<int:visit_id>/aftercare/email/", program.aftercare_email, name="aftercare_email"),
    # Public by token (no login)
    path("feedback/<str:token>/", feedback.feedback_page, name="feedback_page"),
    path("feedback/<str:token>/press/", feedback.feedback_press, name="feedback_press"),
    path("portal/checkin/<str:token>/", program.checkin_answer, name="checkin_answer"),
    # The client's portal
    path("portal/program/<int:client_id>/", program.portal_program, name="portal_program"),
    path("portal/program/<int:client_id>/log/", program.portal_program_log, name="portal_program_log"),
    path("portal/program/aftercare/<int:visit_id>/", program.portal_aftercare, name="portal_aftercare"),
    path("portal/program/aftercare/<int:visit_id>.pdf", program.portal_aftercare_pdf, name="portal_aftercare_pdf"),
]
