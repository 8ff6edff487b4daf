from django.urls import path

from knotwork.messaging import views

urlpatterns = [
    path("messages/", views.inbox, name="inbox"),
    path("messages/new/", views.thread_new, name="thread_new"),
    path("messages/<int:pk>/", views.thread_detail, name="thread_detail"),
    path("messages/<int:pk>/kind/", views.thread_kind, name="thread_kind"),
    path("messages/files/<int:pk>/", views.message_attachment, name="message_attachment"),
]
