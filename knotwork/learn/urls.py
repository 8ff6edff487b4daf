from django.urls import path

from knotwork.learn import exercise_views, views

urlpatterns = [
    path("learn/", views.learn_index, name="learn_index"),
    path("learn/search/", views.learn_search, name="learn_search"),
    path("learn/tags/<slug:tag>/", views.learn_tag, name="learn_tag"),
    path("learn/manage/", views.learn_manage, name="learn_manage"),
    path("learn/manage/new/", views.learn_article_new, name="learn_article_new"),
    path("learn/manage/preview/", views.learn_preview, name="learn_preview"),
    path("learn/manage/<int:pk>/", views.learn_article_edit, name="learn_article_edit"),
    path("learn/manage/<int:pk>/delete/", views.learn_article_delete, name="learn_article_delete"),
    path("learn/exercises/", exercise_views.exercise_index, name="exercise_index"),
    path("learn/exercises/<slug:exercise_id>/", exercise_views.exercise_detail, name="exercise_detail"),
    path("learn/<slug:slug>/", views.learn_article, name="learn_article"),
    path("learn/<slug:slug>/cover-<str:size>.jpg", views.learn_cover, name="learn_cover"),
    path("self-check/", views.self_check, name="self_check"),
]
