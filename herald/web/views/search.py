"""The desk's search page: one box for advisories, reports and incidents."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from herald.accounts.guard import staff_required
from herald.web.search import search


@staff_required
def search_page(request: HttpRequest) -> HttpResponse:
    results = search(request.GET.get("q", ""))
    hits = [*results.advisories, *(results.reports or []), *results.incidents]
    if request.GET.get("go") and len(hits) == 1 and hits[0].url:
        # "Go" with an identifier that names exactly one record: open it.
        return redirect(hits[0].url)
    return render(request, "web/desk/search.html", {"results": results})
