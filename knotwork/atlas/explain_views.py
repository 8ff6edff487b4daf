"""Placeholder: the "Explain a drawing" page is being built in this module."""

from django.http import Http404, HttpRequest, HttpResponse


def explain_page(request: HttpRequest) -> HttpResponse:
    raise Http404("not built yet")
