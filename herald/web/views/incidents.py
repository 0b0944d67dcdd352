"""Desk pages for incidents: list, declare, timeline, notes, resolution."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from herald.accounts.access import can, visible_advisories, visible_events, visible_incidents
from herald.accounts.guard import acting_user, staff_required
from herald.core.errors import HeraldError
from herald.github.models import HandbookPullRequest
from herald.github.pulls import (
    configured_handbook,
    do_open_handbook_pull_request,
    do_refresh_pull_requests,
)
from herald.incidents.actions import do_add_incident_note, do_resolve_incident
from herald.incidents.models import Incident
from herald.incidents.queries import access_incident_by_identifier, drafts_left_warning
from herald.publication.actions import do_declare_incident
from herald.web import queries
from herald.web.errors import attempt
from herald.web.forms import IncidentDeclareForm, IncidentNoteForm, IncidentResolveForm


def _incident_or_404(identifier: str) -> Incident:
    try:
        return access_incident_by_identifier(identifier)
    except HeraldError:
        raise Http404 from None


@staff_required
def incident_list(request: HttpRequest) -> HttpResponse:
    incidents = visible_incidents(request.user, queries.all_incidents())
    return render(request, "web/desk/incident_list.html", {"incidents": incidents})


@staff_required
def incident_declare(request: HttpRequest) -> HttpResponse:
    form = IncidentDeclareForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            outcome = attempt(
                form,
                lambda: do_declare_incident(acting_user=acting_user(request), **form.cleaned_data),
            )
            if outcome.value is not None:
                messages.success(request, f"Declared {outcome.value.identifier}.")
                return redirect("web:incident_detail", identifier=outcome.value.identifier)
            status = outcome.status
    return render(request, "web/desk/incident_form.html", {"form": form}, status=status)


def _detail(
    request: HttpRequest,
    incident: Incident,
    *,
    note_form: IncidentNoteForm | None = None,
    resolve_form: IncidentResolveForm | None = None,
    status: int = 200,
) -> HttpResponse:
    return render(
        request,
        "web/desk/incident_detail.html",
        {
            "incident": incident,
            "events": visible_events(request.user, incident.events.all()),
            "advisories": visible_advisories(
                request.user, incident.advisories.order_by("identifier")
            ),
            # The handbook page's pull requests on GitHub (herald github handbook).
            "pull_requests": HandbookPullRequest.objects.filter(incident=incident),
            "handbook": configured_handbook(),
            "note_form": note_form or IncidentNoteForm(),
            "resolve_form": resolve_form or IncidentResolveForm(),
            # Said before resolving, and again after (a message): warned, not refused.
            "drafts_warning": drafts_left_warning(incident)
            if incident.is_open and can(request.user, "advisory.read_drafts")
            else "",
        },
        status=status,
    )


@staff_required
def incident_detail(request: HttpRequest, identifier: str) -> HttpResponse:
    return _detail(request, _incident_or_404(identifier))


@staff_required
@require_POST
def incident_note(request: HttpRequest, identifier: str) -> HttpResponse:
    incident = _incident_or_404(identifier)
    form = IncidentNoteForm(request.POST)
    if form.is_valid():
        outcome = attempt(
            form,
            lambda: do_add_incident_note(
                incident, form.cleaned_data["message"], acting_user=acting_user(request)
            ),
        )
        if outcome.ok:
            messages.success(request, "Note added.")
            return redirect("web:incident_detail", identifier=incident.identifier)
    return _detail(request, incident, note_form=form, status=400)


@staff_required
@require_POST
def incident_resolve(request: HttpRequest, identifier: str) -> HttpResponse:
    incident = _incident_or_404(identifier)
    form = IncidentResolveForm(request.POST)
    if form.is_valid():
        outcome = attempt(
            form,
            lambda: do_resolve_incident(
                incident, summary=form.cleaned_data["summary"], acting_user=acting_user(request)
            ),
        )
        if outcome.ok:
            messages.success(request, f"{incident.identifier} resolved.")
            warning = drafts_left_warning(incident)
            if warning:
                messages.warning(request, warning)
            return redirect("web:incident_detail", identifier=incident.identifier)
    return _detail(request, incident, resolve_form=form, status=400)


@staff_required
@require_POST
def incident_handbook_pull_request(request: HttpRequest, identifier: str) -> HttpResponse:
    """Commit the handbook page on a branch, push it and open its pull request on GitHub
    (as `herald github handbook` does), where the HERALD_HANDBOOK_* settings say."""
    incident = _incident_or_404(identifier)
    target = configured_handbook()
    if target is None:
        messages.error(
            request,
            "Set HERALD_HANDBOOK_GIT_REPO, HERALD_HANDBOOK_PAGE and HERALD_HANDBOOK_REPOSITORY "
            "to open the handbook pull request from the desk.",
        )
    else:
        try:
            pull = do_open_handbook_pull_request(
                repo_dir=target.repo_dir,
                rel_path=target.rel_path,
                incident=incident,
                repository=target.repository,
                acting_user=acting_user(request),
            )
        except HeraldError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, f"Pull request opened: {pull.html_url}")
    return redirect("web:incident_detail", identifier=incident.identifier)


@staff_required
@require_POST
def incident_handbook_refresh(request: HttpRequest, identifier: str) -> HttpResponse:
    """Read the incident's handbook pull requests' state again; open any not opened."""
    incident = _incident_or_404(identifier)
    try:
        pulls = do_refresh_pull_requests(incident, acting_user=acting_user(request))
    except HeraldError as exc:
        messages.error(request, str(exc))
    else:
        states = ", ".join(f"#{p.number or '?'} {p.shown_state}" for p in pulls)
        messages.success(request, f"GitHub's answer kept: {states or 'no pull request'}.")
    return redirect("web:incident_detail", identifier=incident.identifier)
