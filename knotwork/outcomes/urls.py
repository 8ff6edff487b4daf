"""Outcome pages. The portal pages (``portal_measures``, ``portal_answer``) are the client's own."""

from django.urls import path

from knotwork.outcomes import views

urlpatterns = [
    path("clients/<int:client_id>/episodes/<int:episode_id>/progress/", views.progress, name="outcomes_progress"),
    path("clients/<int:client_id>/episodes/<int:episode_id>/progress.pdf", views.report_pdf, name="outcomes_report_pdf"),
    path("clients/<int:client_id>/episodes/<int:episode_id>/measures/schedule/", views.schedule, name="outcomes_schedule"),
    path("clients/<int:client_id>/episodes/<int:episode_id>/measures/<slug:measure_id>/", views.record, name="outcomes_record"),
    path("outcomes/responses/<int:response_id>/remove/", views.response_remove, name="outcomes_response_remove"),
    path("clinic/outcomes/", views.clinic_analytics, name="outcomes_analytics"),
    path("clinic/outcomes/export.csv", views.clinic_analytics_csv, name="outcomes_analytics_csv"),
    path("portal/measures/<int:client_id>/", views.portal_measures, name="portal_measures"),
    path("portal/measures/<int:client_id>/<int:episode_id>/<slug:measure_id>/", views.portal_answer, name="portal_measure_answer"),
]
