"""Desk pages for advisories: list, create, edit, preview, and each step of their life.

Every write is one call to an action in ``herald.publication.actions`` with the
version the person saw, so a save over someone else's change is refused
(ConflictError) and shown with their input kept.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from herald.accounts.access import visible_advisories
from herald.accounts.guard import acting_user, staff_required
from herald.advisories.models import Advisory, Vulnerability
from herald.advisories.queries import access_advisory_by_identifier, declared_for_change
from herald.advisories.rules import embargo_in_force, outreach_required
from herald.advisories.snapshot import snapshot_of
from herald.cna.queries import cve_status, unused_reserved_ids
from herald.core.errors import HeraldError
from herald.core.models import VendorProfile
from herald.github import actions as github_actions
from herald.github.queries import github_status
from herald.publication.actions import (
    do_create_advisory,
    do_mark_fixed,
    do_publish_advisory,
    do_remove_vulnerability,
    do_request_github_cve,
    do_resolve_advisory,
    do_schedule_publication,
    do_take_github_cve,
    do_update_advisory,
    do_withdraw_advisory,
    do_write_vulnerability,
)
from herald.publication.tasks import next_github_cve_look_at
from herald.web import cvss, queries
from herald.web.diffs import revision_changes
from herald.web.errors import attempt
from herald.web.forms import (
    AdvisoryEditForm,
    AdvisoryFilterForm,
    AdvisoryForm,
    AdvisoryRows,
    GitHubLinkForm,
    MarkFixedForm,
    PublishForm,
    ResolveForm,
    ScheduleForm,
    VersionedForm,
    VulnerabilityForm,
    VulnerabilityRemoveForm,
    VulnerabilityRows,
    WithdrawForm,
)
from herald.web.preview import preview_of, vulnerability_preview_of
from herald.web.publish_plan import outside_herald, publish_plan

# The editor's "Preview" button; the script sends it too, asking for the fragment only.
PREVIEW = "_preview"
FRAGMENT_HEADER = "HTTP_X_HERALD_FRAGMENT"


def _advisory_or_404(identifier: str) -> Advisory:
    try:
        return access_advisory_by_identifier(identifier)
    except HeraldError:
        raise Http404 from None


def _regions() -> list[str]:
    return list(VendorProfile.get().regions or [])


@staff_required
def advisory_list(request: HttpRequest) -> HttpResponse:
    filters = AdvisoryFilterForm(request.GET or None)
    chosen = filters.cleaned_data if filters.is_valid() else {}
    advisories = visible_advisories(
        request.user,
        queries.desk_advisories(state=chosen.get("state", ""), status=chosen.get("status", "")),
    )
    return render(
        request,
        "web/desk/advisory_list.html",
        {"filters": filters, "advisories": advisories},
    )


@staff_required
def advisory_detail(request: HttpRequest, identifier: str) -> HttpResponse:
    advisory = _advisory_or_404(identifier)
    return render(
        request,
        "web/desk/advisory_detail.html",
        {
            "a": advisory,
            "revisions": advisory.revisions.order_by("number"),
            "now": timezone.now(),
            # Each CVE's record at CVE Services, when this vendor is a CNA using it.
            # Every advisory with a CVE id: what Herald does at CVE Services, or why not.
            "cve_services": cve_status(advisory),
            # The linked GitHub repository's advisory: GitHub's last answer, pending rows.
            "github": {
                **github_status(advisory),
                "next_look_at": next_github_cve_look_at(advisory),
            },
        },
    )


@staff_required
def advisory_create(request: HttpRequest) -> HttpResponse:
    regions = _regions()
    # ?incident=<pk> preselects the incident when coming from its page.
    form = AdvisoryForm(request.POST or None, initial={"incident": request.GET.get("incident")})
    rows = AdvisoryRows(request.POST or None, regions=regions)
    status = 200
    if PREVIEW in request.POST:
        return _editor(request, form, rows, advisory=None, preview=True)
    if request.method == "POST":
        status = 400
        if form.is_valid() and rows.is_valid():
            outcome = attempt(
                form,
                lambda: do_create_advisory(
                    acting_user=acting_user(request),
                    incident=form.cleaned_data["incident"],
                    **rows.values(),
                    **form.action_values(),
                ),
                sections=rows.errors,
            )
            if outcome.value is not None:
                messages.success(request, f"Draft {outcome.value.identifier} created.")
                _announce(request, outcome.value, incident_before=None)
                return redirect("web:advisory_detail", identifier=outcome.value.identifier)
            status = outcome.status
    return _editor(request, form, rows, advisory=None, status=status)


@staff_required
def advisory_edit(request: HttpRequest, identifier: str) -> HttpResponse:
    advisory = _advisory_or_404(identifier)
    regions = _regions()
    if request.method == "POST":
        form = AdvisoryEditForm(request.POST)
        rows = AdvisoryRows(request.POST, regions=regions)
        if PREVIEW in request.POST:
            return _editor(request, form, rows, advisory=advisory, preview=True)
        status = 400
        if form.is_valid() and rows.is_valid():
            data = form.cleaned_data
            outcome = attempt(
                form,
                lambda: do_update_advisory(
                    advisory,
                    acting_user=acting_user(request),
                    expected_version=data["version"],
                    change_summary=data["change_summary"],
                    incident=data["incident"],
                    **rows.values(),
                    **form.action_values(),
                ),
                sections=rows.errors,
            )
            if outcome.value is not None:
                messages.success(request, f"{advisory.identifier} saved.")
                _announce(request, outcome.value, advisory.incident_id)
                return redirect("web:advisory_detail", identifier=advisory.identifier)
            status = outcome.status
    else:
        form = AdvisoryEditForm(initial=AdvisoryForm.initial_for(advisory))
        rows = AdvisoryRows(advisory=advisory, regions=regions)
        status = 200
    return _editor(request, form, rows, advisory=advisory, status=status)


def _editor(
    request: HttpRequest,
    form: AdvisoryForm,
    rows: AdvisoryRows,
    *,
    advisory: Advisory | None,
    status: int = 200,
    preview: bool = False,
) -> HttpResponse:
    """The editor page; with ``preview``, nothing is saved and the preview is shown.

    The script asks for the preview alone (``X-Herald-Fragment``) while the person
    types; without the script the "Preview" button reloads the whole editor with it.
    """
    context: dict[str, Any] = {
        "form": form,
        "rows": rows,
        "a": advisory,
        "creating": advisory is None,
        "conflict": status == 409,
        "rows_with_errors": rows.with_errors(),
        "cvss_spec": cvss.calculator_spec(),
        "reserved_cve_ids": unused_reserved_ids(),
    }
    if context["reserved_cve_ids"]:
        # The browser offers the reserved ids as the field's suggestions.
        form.fields["cve_ids"].widget.attrs["list"] = "reserved-cve-ids"
    if preview:
        # Parsing fills cleaned_data with whatever is valid; field errors show as usual.
        form.is_valid()
        rows.is_valid()
        context["preview"] = preview_of(
            form.cleaned_data, _valid_rows(rows), advisory=advisory, now=timezone.now()
        )
        if request.META.get(FRAGMENT_HEADER):
            return render(request, "web/desk/_preview.html", context)
    return render(request, "web/desk/advisory_form.html", context, status=status)


def _valid_rows(rows: AdvisoryRows) -> dict[str, list[dict[str, Any]]]:
    """The rows that parse and are filled in; a half-typed row is left out of a preview."""
    result: dict[str, list[dict[str, Any]]] = {}
    for name, formset in zip(rows.SECTIONS, rows.formsets(), strict=True):
        result[name] = [
            form.row()
            for form in formset.forms
            if form.is_valid()
            and not form.cleaned_data.get("DELETE")
            and not form.is_blank()
            and (name != "affected" or form.cleaned_data.get("product"))
            and (name != "credits" or form.cleaned_data.get("name"))
        ]
    return result


@staff_required
@require_GET
def cvss_score(request: HttpRequest) -> JsonResponse:
    """The calculator's score: the same function that scores the vector on save."""
    return JsonResponse(cvss.score(request.GET.get("field", ""), request.GET.get("vector", "")))


@staff_required
def advisory_preview(request: HttpRequest, identifier: str) -> HttpResponse:
    """The public page as it would look, for any advisory; marked and kept out of indexes."""
    advisory = _advisory_or_404(identifier)
    response = render(
        request, "web/public/detail.html", {"a": snapshot_of(advisory), "preview": True}
    )
    response["X-Robots-Tag"] = "noindex"
    return response


@staff_required
def advisory_revisions(request: HttpRequest, identifier: str) -> HttpResponse:
    advisory = _advisory_or_404(identifier)
    history = revision_changes(advisory.revisions.order_by("number"))
    return render(
        request,
        "web/desk/advisory_revisions.html",
        {"a": advisory, "history": list(reversed(history))},
    )


# ---------------------------------------------------------------- one step each


def _announce(request: HttpRequest, advisory: Advisory, incident_before: int | None) -> None:
    """Tell the person when their change made Herald declare an incident (DESIGN rule 1)."""
    notice = declared_for_change(advisory, incident_before)
    if notice:
        messages.warning(request, notice)


def _step(
    request: HttpRequest,
    advisory: Advisory,
    form: VersionedForm,
    *,
    title: str,
    button: str,
    run: Callable[[dict[str, Any]], Advisory],
    done: str,
    aliases: dict[str, str] | None = None,
    intro: str = "",
    plan: Any = None,
    outside: list[str] | None = None,
) -> HttpResponse:
    """GET shows the step's form; POST runs its action once and goes back to the advisory."""
    incident_before = advisory.incident_id
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            outcome = attempt(form, lambda: run(form.cleaned_data), aliases=aliases)
            if outcome.ok:
                # Publishing gives a draft its public number: follow the returned record.
                target = outcome.value if isinstance(outcome.value, Advisory) else advisory
                messages.success(request, done.format(identifier=target.identifier))
                _announce(request, target, incident_before)
                return redirect("web:advisory_detail", identifier=target.identifier)
            status = outcome.status
    return render(
        request,
        "web/desk/advisory_step.html",
        {
            "a": advisory,
            "form": form,
            "title": title,
            "button": button,
            "intro": intro,
            "plan": plan,
            "outside": outside,
            "conflict": status == 409,
        },
        status=status,
    )


def _bound(request: HttpRequest, form_class: type[Any], advisory: Advisory, **kwargs: Any) -> Any:
    if request.method == "POST":
        return form_class(request.POST, **kwargs)
    return form_class(initial={"version": advisory.version}, **kwargs)


@staff_required
def advisory_publish(request: HttpRequest, identifier: str) -> HttpResponse:
    advisory = _advisory_or_404(identifier)
    # Ask only for the reasons this advisory can need; the action decides if they must be given.
    form = _bound(
        request,
        PublishForm,
        advisory,
        show_embargo=embargo_in_force(advisory, timezone.now()),
        show_outreach=outreach_required(advisory),
    )
    return _step(
        request,
        advisory,
        form,
        plan=publish_plan(advisory, now=timezone.now()),
        title=f"Publish {advisory.identifier}",
        button="Publish now",
        intro="Publishing makes the advisory public on every surface at once. It never "
        "goes back to draft.",
        run=lambda data: do_publish_advisory(
            advisory,
            acting_user=acting_user(request),
            expected_version=data["version"],
            lift_embargo_reason=data.get("lift_embargo_reason", ""),
            outreach_waiver_reason=data.get("outreach_waiver_reason", ""),
        ),
        done="{identifier} published.",
        aliases={"embargo_until": "lift_embargo_reason", "outreach": "outreach_waiver_reason"},
    )


@staff_required
def advisory_fix(request: HttpRequest, identifier: str) -> HttpResponse:
    advisory = _advisory_or_404(identifier)
    if request.method == "POST":
        form = MarkFixedForm(request.POST)
    else:
        initial = {
            "version": advisory.version,
            "resolution": advisory.resolution,
            "fixed_at": advisory.fixed_at or timezone.localdate(),
        }
        form = MarkFixedForm(initial=initial)
    return _step(
        request,
        advisory,
        form,
        title=f"Mark {advisory.identifier} fixed",
        button="Mark fixed",
        run=lambda data: do_mark_fixed(
            advisory,
            acting_user=acting_user(request),
            expected_version=data["version"],
            fixed_at=data["fixed_at"],
            resolution=data["resolution"],
            change_summary=data["change_summary"],
        ),
        done="{identifier} marked fixed.",
    )


@staff_required
def advisory_resolve(request: HttpRequest, identifier: str) -> HttpResponse:
    advisory = _advisory_or_404(identifier)
    form = _bound(request, ResolveForm, advisory)
    return _step(
        request,
        advisory,
        form,
        title=f"Resolve {advisory.identifier}",
        button="Resolve",
        intro="A resolved advisory moves from Current advisories to Past advisories.",
        run=lambda data: do_resolve_advisory(
            advisory,
            acting_user=acting_user(request),
            expected_version=data["version"],
            change_summary=data["change_summary"],
            fixed_at=data["fixed_at"],
        ),
        done="{identifier} resolved.",
    )


@staff_required
def advisory_github_link(request: HttpRequest, identifier: str) -> HttpResponse:
    advisory = _advisory_or_404(identifier)
    form = _bound(request, GitHubLinkForm, advisory)

    def run(data: dict[str, Any]) -> Advisory:
        github_actions.do_link_repository(
            advisory, data["repository"], acting_user=acting_user(request)
        )
        return advisory

    return _step(
        request,
        advisory,
        form,
        title=f"Keep {advisory.identifier} on GitHub",
        button="Link",
        intro="Herald creates the repository's draft security advisory from this record, "
        "keeps it in sync while it is a draft and publishes it when you publish here.",
        run=run,
        done="{identifier} linked to GitHub; the worker creates its draft there.",
    )


@staff_required
def advisory_github_cve(request: HttpRequest, identifier: str) -> HttpResponse:
    advisory = _advisory_or_404(identifier)
    form = _bound(request, VersionedForm, advisory)

    def run(data: dict[str, Any]) -> Advisory:
        do_request_github_cve(advisory, acting_user=acting_user(request))
        return advisory

    return _step(
        request,
        advisory,
        form,
        title=f"Request a CVE from GitHub for {advisory.identifier}",
        button="Request a CVE",
        intro="GitHub's CNA reviews the request; Herald looks for the assigned id and "
        "takes it into this advisory (“Ask GitHub now” looks at once).",
        run=run,
        done="CVE request for {identifier} queued.",
    )


@staff_required
def advisory_github_refresh(request: HttpRequest, identifier: str) -> HttpResponse:
    advisory = _advisory_or_404(identifier)
    form = _bound(request, VersionedForm, advisory)
    return _step(
        request,
        advisory,
        form,
        title=f"Ask GitHub about {advisory.identifier}",
        button="Ask GitHub now",
        intro="Reads the repository advisory's state; a CVE id GitHub assigned is written "
        "into the advisory (a revision when it is public).",
        run=lambda data: do_take_github_cve(advisory, acting_user=acting_user(request))[0],
        done="{identifier}: GitHub's answer kept.",
    )


@staff_required
def advisory_withdraw(request: HttpRequest, identifier: str) -> HttpResponse:
    advisory = _advisory_or_404(identifier)
    form = _bound(request, WithdrawForm, advisory)
    return _step(
        request,
        advisory,
        form,
        title=f"Withdraw {advisory.identifier}",
        button="Withdraw",
        intro="A withdrawn advisory stays public, marked withdrawn with your reason.",
        outside=outside_herald(advisory, withdraw=True),
        run=lambda data: do_withdraw_advisory(
            advisory,
            acting_user=acting_user(request),
            expected_version=data["version"],
            reason=data["reason"],
        ),
        done="{identifier} withdrawn.",
    )


@staff_required
def advisory_schedule(request: HttpRequest, identifier: str) -> HttpResponse:
    advisory = _advisory_or_404(identifier)
    if request.method == "POST":
        form = ScheduleForm(request.POST)
    else:
        form = ScheduleForm(
            initial={
                "version": advisory.version,
                "scheduled_publish_at": advisory.scheduled_publish_at or advisory.embargo_until,
            }
        )
    return _step(
        request,
        advisory,
        form,
        title=f"Schedule {advisory.identifier}",
        button="Schedule publication",
        intro="Herald publishes the advisory at this moment, unless it is published before.",
        run=lambda data: do_schedule_publication(
            advisory,
            acting_user=acting_user(request),
            expected_version=data["version"],
            at=data["scheduled_publish_at"],
        ),
        done="{identifier} scheduled.",
    )


# ---------------------------------------------------------------- one vulnerability


def _vulnerability_or_404(advisory: Advisory, number: int) -> Vulnerability:
    found = advisory.vulnerabilities.order_by("position", "id")[number - 1 : number]
    if number < 1 or not found:
        raise Http404
    return found[0]


def _vulnerability_page(
    request: HttpRequest,
    advisory: Advisory,
    *,
    number: int | None,
    vulnerability: Vulnerability | None,
) -> HttpResponse:
    """Add (``number`` None) or edit one vulnerability: its ids, CWE, CVSS, notes,
    references and its own product rows with their remediations, in one write
    (``do_write_vulnerability``); "Preview" shows it as published, saving nothing."""
    regions = _regions()
    position = None if number is None else number - 1
    status = 200
    preview = None
    if request.method != "POST":
        form = VulnerabilityForm(initial=VulnerabilityForm.initial_for(advisory, vulnerability))
        rows = VulnerabilityRows(vulnerability=vulnerability, regions=regions)
    else:
        form = VulnerabilityForm(request.POST)
        rows = VulnerabilityRows(request.POST, vulnerability=vulnerability, regions=regions)
    if request.method == "POST" and PREVIEW in request.POST:
        # Nothing is saved: the public page and Markdown entry as publication would
        # render them (the script asks for that fragment alone while the person types).
        form.is_valid()  # parsing fills cleaned_data with what is valid; errors show
        rows.is_valid()
        listed = rows.values(preview=True)
        preview = vulnerability_preview_of(
            {**form.action_values(vulnerability), "notes": listed["notes"],
             "references": listed["references"]},
            listed["rows"],
            advisory=advisory,
            position=position,
            now=timezone.now(),
        )  # fmt: skip
        if request.META.get(FRAGMENT_HEADER):
            return render(request, "web/desk/_preview.html", {"preview": preview})
    elif request.method == "POST":
        status = 400
        if form.is_valid() and rows.is_valid():
            data = form.cleaned_data
            listed = rows.values()
            outcome = attempt(
                form,
                lambda: do_write_vulnerability(
                    advisory,
                    acting_user=acting_user(request),
                    expected_version=data["version"],
                    change_summary=data["change_summary"],
                    position=position,
                    rows=listed["rows"],
                    notes=listed["notes"],
                    references=listed["references"],
                    **form.action_values(vulnerability),
                ),
                sections=rows.errors,
            )
            if outcome.value is not None:
                messages.success(request, f"{advisory.identifier} saved.")
                _announce(request, outcome.value, advisory.incident_id)
                return redirect("web:advisory_detail", identifier=advisory.identifier)
            rows.place_errors()
            status = outcome.status
    title = (
        f"Add a vulnerability to {advisory.identifier}"
        if number is None
        else f"Vulnerability {number} of {advisory.identifier}"
        + (f": {vulnerability.cve_id}" if vulnerability and vulnerability.cve_id else "")
    )
    return render(
        request,
        "web/desk/vulnerability_form.html",
        {
            "a": advisory,
            "form": form,
            "rows": rows,
            "rows_with_errors": rows.with_errors(),
            "title": title,
            "number": number,
            "conflict": status == 409,
            "cvss_spec": cvss.calculator_spec(),
            "preview": preview,
        },
        status=status,
    )


@staff_required
def vulnerability_add(request: HttpRequest, identifier: str) -> HttpResponse:
    advisory = _advisory_or_404(identifier)
    return _vulnerability_page(request, advisory, number=None, vulnerability=None)


@staff_required
def vulnerability_edit(request: HttpRequest, identifier: str, number: int) -> HttpResponse:
    advisory = _advisory_or_404(identifier)
    vulnerability = _vulnerability_or_404(advisory, number)
    return _vulnerability_page(request, advisory, number=number, vulnerability=vulnerability)


@staff_required
def vulnerability_remove(request: HttpRequest, identifier: str, number: int) -> HttpResponse:
    advisory = _advisory_or_404(identifier)
    vulnerability = _vulnerability_or_404(advisory, number)
    form = _bound(request, VulnerabilityRemoveForm, advisory)
    return _step(
        request,
        advisory,
        form,
        title=f"Remove vulnerability {number} ({vulnerability}) from {advisory.identifier}",
        button="Remove",
        intro="Its own product rows go with it; rows that hold for every vulnerability stay.",
        run=lambda data: do_remove_vulnerability(
            advisory,
            acting_user=acting_user(request),
            position=number - 1,
            expected_version=data["version"],
            change_summary=data["change_summary"],
        ),
        done="{identifier} saved.",
    )
