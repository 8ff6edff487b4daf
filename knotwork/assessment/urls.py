from django.urls import path

from knotwork.assessment import views

urlpatterns = [
    path("clients/<int:client_id>/assessments/new/", views.assessment_new, name="assessment_new"),
    path("clients/<int:client_id>/assessments/compare/", views.assessment_compare, name="assessment_compare"),
    path("assessments/norms/", views.norm_preference, name="assessment_norms"),
    path("assessments/<int:pk>/", views.assessment_detail, name="assessment_detail"),
    path("assessments/<int:pk>/edit/", views.assessment_edit, name="assessment_edit"),
    path("assessments/<int:pk>/delete/", views.assessment_delete, name="assessment_delete"),
    path("assessments/<int:pk>/findings/", views.finding_add, name="assessment_finding_add"),
    path("assessments/findings/<int:pk>/delete/", views.finding_delete, name="assessment_finding_delete"),
    path("assessments/<int:pk>/photos/", views.photo_upload, name="assessment_photo_upload"),
    path("assessments/photos/<int:pk>/", views.photo_landmarks, name="assessment_photo"),
    path("assessments/photos/<int:pk>/image/", views.photo_image, name="assessment_photo_image"),
    path("assessments/photos/<int:pk>/thumbnail/", views.photo_thumbnail, name="assessment_photo_thumbnail"),
    path("assessments/photos/<int:pk>/delete/", views.photo_delete, name="assessment_photo_delete"),
    path("assessments/<int:pk>/rom/", views.rom_table, name="assessment_rom"),
    path("assessments/rom/<int:pk>/delete/", views.rom_delete, name="assessment_rom_delete"),
    path("assessments/<int:pk>/tests/", views.movement_test_add, name="assessment_test_add"),
    path("assessments/tests/<int:pk>/delete/", views.movement_test_delete, name="assessment_test_delete"),
]
