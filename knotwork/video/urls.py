from django.urls import path

from knotwork.video import views

urlpatterns = [
    path("appointments/<int:pk>/video/", views.video_room, name="video_room"),
    path("video/<str:room_id>/join/", views.video_join, name="video_join"),
    path("video/<str:room_id>/admit/", views.video_admit, name="video_admit"),
    path("video/<str:room_id>/signals/", views.video_signals, name="video_signals"),
]
