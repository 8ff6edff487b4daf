from django.urls import path

from knotwork.pwa import views

urlpatterns = [
    path("manifest.webmanifest", views.manifest, name="pwa_manifest"),
    path("sw.js", views.service_worker, name="pwa_service_worker"),
    path("offline/", views.offline, name="pwa_offline"),
    path("portal/notifications/", views.preferences, name="pwa_preferences"),
    path("portal/notifications/subscribe/", views.subscribe, name="pwa_subscribe"),
    path("portal/notifications/unsubscribe/", views.unsubscribe, name="pwa_unsubscribe"),
    path("portal/notifications/devices/<int:pk>/remove/", views.device_remove, name="pwa_device_remove"),
]
