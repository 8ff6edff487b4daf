from django.urls import path

from knotwork.atlas import explain_views, views

urlpatterns = [
    path("", views.atlas_index, name="atlas_index"),
    path("muscles/<slug:muscle_id>/", views.muscle_detail, name="muscle_detail"),
    path("refers/", views.refers_to, name="atlas_refers"),
    path("explain/", explain_views.explain_page, name="explain"),
    path("explain/results/", explain_views.explain_results, name="explain_results"),
]
