"""In-app help: one short page per failure reason and issue code."""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import render
from django.views.decorators.http import require_GET

from web import texts
from web.views.base import page


@page
@require_GET
def help_index(request):
    found = texts.articles()
    return render(
        request,
        "web/help_index.html",
        {
            "failures": [a for a in found if a.is_failure],
            "errors": [a for a in found if a.severity == "error"],
            "alerts": [a for a in found if a.severity == "alert"],
        },
    )


@page
@require_GET
def help_article(request, slug: str):
    found = texts.article_by_slug(slug)
    if found is None:
        raise Http404("No help page of that name.")
    return render(request, "web/help.html", {"article": found})
