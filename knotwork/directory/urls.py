from django.urls import path

from knotwork.directory.views import client, platform, public, staff

urlpatterns = [
    # Public.
    path("therapists/", public.directory_search, name="directory_search"),
    path("therapists/places.json", public.directory_places, name="directory_places"),
    path("therapists/sitemap.xml", public.directory_sitemap, name="directory_sitemap"),
    path("therapists/<int:pk>/<slug:slug>/", public.directory_profile, name="directory_profile"),
    path("therapists/<int:pk>/photo/<str:size>/", public.directory_photo, name="directory_photo"),
    # Signed in.
    path("therapists/<int:pk>/recommend/", public.directory_recommend, name="directory_recommend"),
    path("directory/profile/", staff.directory_my_profile, name="directory_my_profile"),
    path("directory/profile/photo/", staff.directory_my_photo, name="directory_my_photo"),
    path("directory/profile/photo/<str:size>/", staff.directory_my_photo_preview, name="directory_my_photo_preview"),
    path("directory/credentials/", staff.directory_credentials, name="directory_credentials"),
    path("directory/credentials/<int:pk>/edit/", staff.directory_credential_edit, name="directory_credential_edit"),
    path("directory/credentials/<int:pk>/delete/", staff.directory_credential_delete, name="directory_credential_delete"),
    path("directory/credentials/<int:pk>/document/", staff.directory_credential_document, name="directory_credential_document"),
    path("directory/clinic/", staff.directory_clinic, name="directory_clinic"),
    path("directory/clinic/profiles/<int:pk>/approve/", staff.directory_profile_approve, name="directory_profile_approve"),
    path("directory/reviews/<int:pk>/reply/", staff.directory_review_reply, name="directory_review_reply"),
    path("directory/verify/", platform.directory_verify_queue, name="directory_verify_queue"),
    path("directory/verify/<int:pk>/", platform.directory_verify, name="directory_verify"),
    path("directory/moderation/", platform.directory_moderation, name="directory_moderation"),
    path("directory/reviews/<int:pk>/moderate/", platform.directory_review_moderate, name="directory_review_moderate"),
    path("directory/reviews/", client.directory_my_reviews, name="directory_my_reviews"),
    path("directory/reviews/new/<int:appointment_id>/", client.directory_review_new, name="directory_review_new"),
    path("directory/reviews/<int:pk>/edit/", client.directory_review_edit, name="directory_review_edit"),
    path("directory/reviews/<int:pk>/report/", client.directory_review_report, name="directory_review_report"),
]
