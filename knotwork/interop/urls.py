from django.urls import path

from knotwork.interop import views

urlpatterns = [
    path("clients/<int:client_id>/fhir.json", views.client_fhir, name="client_fhir"),
    path("clients/<int:client_id>/episodes/<int:episode_id>/fhir.json", views.episode_fhir, name="episode_fhir"),
    path("clients/<int:client_id>/export/", views.client_data_export, name="client_data_export"),
    path("portal/export/<int:client_id>/", views.portal_data_export, name="portal_data_export"),
    path("exports/<str:token>/", views.data_export_download, name="data_export_download"),
]
