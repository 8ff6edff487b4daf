"""The site's URLs plus a stand-in for the directory search, to test the self-check's hand-off link."""

from django.http import HttpResponse
from django.urls import path

from config.urls import handler400, handler403, handler404, handler500  # noqa: F401
from config.urls import urlpatterns as site

urlpatterns = [*site, path("find/", lambda request: HttpResponse("directory"), name="directory_search")]
