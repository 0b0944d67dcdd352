"""The publication function: every write whose consequences leave the record.

Read this module top to bottom to follow a publication. Every public change (a
first publication, an update of a public advisory, mark fixed, resolve, withdraw,
the scheduled publication, an import) takes the same path:

in one transaction
  1. lock and check, then write: the record-level function of
     ``herald.advisories.actions`` (``write_publication``, ``write_update``, ...)
     writes the advisory, its ``Revision``, the audit row and the incident event,
     and declares an incident when none is open (DESIGN.md rule 1);
  2. ``_publish``: the incident it declared is announced to the internal channels;
     a linked GitHub repository's advisory is queued to follow (``herald.github
     .actions.queue_after_write``: an outbox row, sent by the worker); the
     artifacts are rendered (``herald.publishing.store.artifacts.regenerate``); the
     outbox rows are written (``herald.notify.actions.fanout_revision``: channels
     and subscribers; ``herald.cna.actions.fanout_cve_records``: the CVE records
     at CVE Services, for a CNA; the outreach campaign when rule 4 requires it);
after the commit (``transaction.on_commit``, called right there)
  3. the served copy is updated (``herald.publishing.store.serving.sync_after_commit``)
     and the publish hook queued; on a first publication the reporters are told
     (``herald.intake.actions.do_tell_reporters_published``).

A renderer that refuses its output raises ``ValidationError`` in step 2, which
rolls the revision back with it: nothing is published, or all of it.

No signal adds a step: what a write causes is called here, visibly. The layers
below (incidents, advisories, core, publishing, notify, intake) know nothing of
this module; the desk, the API, the CLI, the scheduler and the importers call it.

Drafts change nothing public, but callers have one place to call: every advisory
write they use is here. The declaration of an incident lives here as well (it is
announced, and the incidents app knows nothing of notify), and so does the vendor
profile's update (its name and page prose are on every artifact).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from herald.advisories import actions as record
from herald.advisories.actions import Written
from herald.advisories.models import Advisory, Revision
from herald.cna.actions import fanout_cve_records
from herald.core import baseurl
from herald.core.actions import BaseURL, write_vendor_profile
from herald.core.models import VendorProfile
from herald.github import actions as github
from herald.incidents.actions import add_event, write_declaration
from herald.incidents.models import Incident, IncidentEvent, Severity
from herald.intake.actions import do_tell_reporters_published, write_acceptance
from herald.intake.models import Report
from herald.notify.actions import create_outreach_campaign, fanout_incident, fanout_revision
from herald.publishing import tasks as publishing_tasks
from herald.publishing.actions import ImportResult, import_markdown_page
from herald.publishing.importers.import_actions import DocumentsImport, import_documents
from herald.publishing.store import artifacts, serving

# ---------------------------------------------------------------- the publish path


def _publish(writes: Sequence[Written]) -> None:
    """Steps 2 and 3 for what ``writes`` wrote, in the caller's transaction."""
    # Rule 1: an incident declared for a write is announced like any declaration.
    for written in writes:
        if written.declared is not None:
            fanout_incident(written.declared)
    # GitHub: a linked repository's security advisory follows the record (an outbox
    # row: kept in sync while a draft, published with the first publication).
    for written in writes:
        github.queue_after_write(written)
    public = [w for w in writes if w.revision is not None]
    if not public:
        return  # drafts: nothing public changed
    # The artifacts, in this transaction: they commit with the revision, or neither does.
    artifacts.regenerate(_unique(w.advisory for w in public))
    # The outbox rows: internal channels and subscribers, the CVE records at CVE
    # Services (from the containers just rendered), then the outreach campaign.
    for written in public:
        assert written.revision is not None
        fanout_revision(written.revision)
        fanout_cve_records(written.revision)
        if written.outreach:
            _create_campaign(written.advisory, written.revision)
    # After the commit: the served copy, the publish hook, and the reporters told.
    first = [w.advisory for w in public if _is_first_publication(w.revision)]
    transaction.on_commit(functools.partial(_after_commit, first))


def _after_commit(first_published: list[Advisory]) -> None:
    # This machine's copy now; other processes and machines pick it up by polling.
    serving.sync_after_commit()
    publishing_tasks.queue_publish_hook()
    for advisory in first_published:
        do_tell_reporters_published(advisory)


def _create_campaign(advisory: Advisory, revision: Revision) -> None:
    """Rule 4: the campaign, created with the publication; a person approves it."""
    campaign = create_outreach_campaign(advisory, who=revision.created_by)
    add_event(
        advisory.incident,
        IncidentEvent.Kind.ADVISORY,
        f"Advisory {advisory.identifier}: outreach campaign {campaign.pk} created, "
        "awaiting approval",
        actor=revision.created_by,
    )


def _is_first_publication(revision: Revision | None) -> bool:
    return revision is not None and revision.kind == Revision.Kind.PUBLISHED


def _unique(advisories: Iterable[Advisory]) -> list[Advisory]:
    return list({a.pk: a for a in advisories}.values())


# ---------------------------------------------------------------- advisories


def do_publish_advisory(
    advisory: Advisory,
    *,
    acting_user: AbstractBaseUser | None,
    expected_version: int | None = None,
    incident: Incident | None = None,
    lift_embargo_reason: str = "",
    outreach_waiver_reason: str = "",
    published_at: dt.datetime | None = None,
) -> Advisory:
    """Make a draft public: the first revision, on every public surface at once."""
    with transaction.atomic():
        written = record.write_publication(
            advisory,
            acting_user=acting_user,
            expected_version=expected_version,
            incident=incident,
            lift_embargo_reason=lift_embargo_reason,
            outreach_waiver_reason=outreach_waiver_reason,
            published_at=published_at,
        )
        _publish([written])
    return written.advisory


def do_update_advisory(
    advisory: Advisory,
    *,
    acting_user: AbstractBaseUser | None,
    expected_version: int | None = None,
    change_summary: str = "",
    incident: Incident | None = None,
    affected: Iterable[Mapping[str, Any]] | None = None,
    credits: Iterable[Mapping[str, Any]] | None = None,
    references: Iterable[Mapping[str, Any]] | None = None,
    **values: Any,
) -> Advisory:
    """Change fields. On a public advisory this is a new revision (rule 5), published
    like the first; on a draft nothing public changes."""
    with transaction.atomic():
        written = record.write_update(
            advisory,
            acting_user=acting_user,
            expected_version=expected_version,
            change_summary=change_summary,
            incident=incident,
            affected=affected,
            credits=credits,
            references=references,
            **values,
        )
        _publish([written])
    return written.advisory


def do_write_vulnerability(
    advisory: Advisory,
    *,
    acting_user: AbstractBaseUser | None,
    expected_version: int | None = None,
    change_summary: str = "",
    incident: Incident | None = None,
    position: int | None = None,
    rows: Iterable[Mapping[str, Any]] | None = None,
    **values: Any,
) -> Advisory:
    """Add a vulnerability (``position`` None) or change one, with its own product rows;
    on a public advisory a new revision, published like any change."""
    with transaction.atomic():
        written = record.write_vulnerability(
            advisory,
            acting_user=acting_user,
            expected_version=expected_version,
            change_summary=change_summary,
            incident=incident,
            position=position,
            rows=rows,
            **values,
        )
        _publish([written])
    return written.advisory


def do_remove_vulnerability(
    advisory: Advisory,
    *,
    acting_user: AbstractBaseUser | None,
    position: int,
    expected_version: int | None = None,
    change_summary: str = "",
    incident: Incident | None = None,
) -> Advisory:
    """Remove one vulnerability (never the last); published like any change."""
    with transaction.atomic():
        written = record.write_vulnerability_removal(
            advisory,
            acting_user=acting_user,
            position=position,
            expected_version=expected_version,
            change_summary=change_summary,
            incident=incident,
        )
        _publish([written])
    return written.advisory


def do_mark_fixed(
    advisory: Advisory,
    *,
    acting_user: AbstractBaseUser | None,
    fixed_at: dt.date | str,
    resolution: str | None = None,
    change_summary: str = "",
    expected_version: int | None = None,
    incident: Incident | None = None,
) -> Advisory:
    """Status fixed, with its date (and the resolution, when given)."""
    with transaction.atomic():
        written = record.write_fixed(
            advisory,
            acting_user=acting_user,
            fixed_at=fixed_at,
            resolution=resolution,
            change_summary=change_summary,
            expected_version=expected_version,
            incident=incident,
        )
        _publish([written])
    return written.advisory


def do_resolve_advisory(
    advisory: Advisory,
    *,
    acting_user: AbstractBaseUser | None,
    change_summary: str = "",
    fixed_at: dt.date | str | None = None,
    expected_version: int | None = None,
    incident: Incident | None = None,
) -> Advisory:
    """Resolved advisories move from "Current" to "Past" on every surface."""
    with transaction.atomic():
        written = record.write_resolved(
            advisory,
            acting_user=acting_user,
            change_summary=change_summary,
            fixed_at=fixed_at,
            expected_version=expected_version,
            incident=incident,
        )
        _publish([written])
    return written.advisory


def do_withdraw_advisory(
    advisory: Advisory,
    *,
    acting_user: AbstractBaseUser | None,
    reason: str,
    expected_version: int | None = None,
    incident: Incident | None = None,
) -> Advisory:
    """Withdraw a published advisory; it stays public, marked withdrawn (a revision)."""
    with transaction.atomic():
        written = record.write_withdrawal(
            advisory,
            acting_user=acting_user,
            reason=reason,
            expected_version=expected_version,
            incident=incident,
        )
        _publish([written])
    return written.advisory


def do_create_advisory(
    *,
    acting_user: AbstractBaseUser | None,
    incident: Incident | None = None,
    affected: Iterable[Mapping[str, Any]] = (),
    credits: Iterable[Mapping[str, Any]] = (),
    references: Iterable[Mapping[str, Any]] = (),
    **values: Any,
) -> Advisory:
    """Create a draft, private to the desk until published. Nothing public changes;
    an incident declared for it (none was open) is announced."""
    with transaction.atomic():
        written = record.write_draft(
            acting_user=acting_user,
            incident=incident,
            affected=affected,
            credits=credits,
            references=references,
            **values,
        )
        _publish([written])
    return written.advisory


def do_request_github_cve(advisory: Advisory, *, acting_user: AbstractBaseUser | None) -> None:
    """Ask GitHub's CNA for a CVE (a ``request_cve`` row of the outbox), then let the
    worker ask GitHub, patiently, until it assigns one and take it into the advisory
    (``tasks.take_github_cve``): nobody has to come back and press "Ask GitHub now"."""
    from herald.publication.tasks import GITHUB_CVE_FIRST_LOOK, take_github_cve

    with transaction.atomic():
        github.do_request_cve(advisory, acting_user=acting_user)
        advisory_id = advisory.pk
        transaction.on_commit(
            lambda: take_github_cve.using(run_after=timezone.now() + GITHUB_CVE_FIRST_LOOK).enqueue(
                advisory_id, 1
            )
        )


def do_take_github_cve(
    advisory: Advisory, *, acting_user: AbstractBaseUser | None
) -> tuple[Advisory, str]:
    """Ask GitHub for the linked repository advisory now; when GitHub's CNA has assigned
    it a CVE id the record lacks, write it into the advisory's first vulnerability that
    has none (on a public advisory a revision, published like any change).

    Returns the advisory and the CVE id taken back ("" when there was none to take).
    """
    link = github.do_refresh(advisory)
    cve = link.cve_id
    if not cve:
        return advisory, ""
    vulns = list(advisory.vulnerabilities.order_by("position", "id"))
    if any(v.cve_id == cve for v in vulns):
        return advisory, ""
    position = next((i for i, v in enumerate(vulns) if not v.cve_id), None)
    advisory = do_write_vulnerability(
        advisory,
        acting_user=acting_user,
        position=position,
        cve_id=cve,
        change_summary=f"{cve} assigned by GitHub's CNA to {link.ghsa_id}",
    )
    return advisory, cve


def do_schedule_publication(
    advisory: Advisory,
    *,
    acting_user: AbstractBaseUser | None,
    at: dt.datetime | str,
    expected_version: int | None = None,
) -> Advisory:
    """Publish automatically at ``at`` (the end of the embargo), by the worker, through
    ``tasks.publish_scheduled`` and so ``do_publish_advisory``."""
    from herald.publication.tasks import publish_scheduled

    with transaction.atomic():
        advisory = record.write_schedule(
            advisory, acting_user=acting_user, at=at, expected_version=expected_version
        )
        when = advisory.scheduled_publish_at
        assert when is not None
        advisory_id = advisory.pk
        transaction.on_commit(
            lambda: publish_scheduled.using(run_after=when).enqueue(advisory_id, when.isoformat())
        )
    return advisory


# ---------------------------------------------------------------- incidents


def do_declare_incident(
    *,
    title: str,
    severity: str = Severity.MEDIUM,
    summary: str = "",
    reason: str = "",
    commander: AbstractBaseUser | str | None = None,
    acting_user: AbstractBaseUser | None,
    auto: bool = False,
) -> Incident:
    """Declare an incident and tell the internal channels (support included), in one
    transaction: the declaration and its announcement commit together."""
    with transaction.atomic():
        incident = write_declaration(
            title=title,
            severity=severity,
            summary=summary,
            reason=reason,
            commander=commander,
            acting_user=acting_user,
            auto=auto,
        )
        fanout_incident(incident)
    return incident


# ---------------------------------------------------------------- reports


def do_accept_report(
    report: Report,
    *,
    acting_user: AbstractBaseUser,
    incident: Incident | None = None,
    declare_incident: bool = False,
    advisory: Advisory | None = None,
    exploited_in_wild: bool | None = None,
    message: str = "",
) -> Report:
    """Accept a report: the incident declared for it is announced, and the credit it
    adds to a public advisory is published."""
    with transaction.atomic():
        accepted = write_acceptance(
            report,
            acting_user=acting_user,
            incident=incident,
            declare_incident=declare_incident,
            advisory=advisory,
            exploited_in_wild=exploited_in_wild,
            message=message,
        )
        if accepted.declared is not None:
            fanout_incident(accepted.declared)
        _publish([accepted.written])
    return accepted.report


# ---------------------------------------------------------------- the vendor profile


def do_update_vendor_profile(
    *, acting_user: AbstractBaseUser | None, **values: Any
) -> VendorProfile:
    """Change the profile; when anything changed, every artifact is rendered again
    after the commit (its name, contact, base URL and prose are on every page), in
    the background, batch by batch."""
    with transaction.atomic():
        change = write_vendor_profile(acting_user=acting_user, **values)
        if change.fields:
            transaction.on_commit(publishing_tasks.queue_regenerate_everything)
    return change.profile


def do_apply_base_url(served: str) -> BaseURL:
    """Make the profile's base URL what it should be for a server at ``served``.

    HERALD_BASE_URL when set, else ``served`` while the profile follows the server,
    else what a person set (see ``herald.core.baseurl``). A change goes through
    ``do_update_vendor_profile``: audited, and every artifact rendered again.
    """
    profile = VendorProfile.get()
    explicit = baseurl.configured()
    if explicit:
        target, follows, source = explicit, False, "HERALD_BASE_URL"
    elif profile.base_url_follows_server:
        target, follows = served, True
        source = "follows the address herald serve listens on; HERALD_BASE_URL fixes it"
    else:
        return BaseURL(profile.base_url.rstrip("/"), "set in the vendor profile", False)
    changed = profile.base_url.rstrip("/") != target
    if changed or profile.base_url_follows_server != follows:
        do_update_vendor_profile(acting_user=None, base_url=target, base_url_follows_server=follows)
    return BaseURL(target, source, changed)


# ---------------------------------------------------------------- importers


def do_import_markdown_page(
    text: str,
    *,
    acting_user: AbstractBaseUser | None,
    incident: Incident | None = None,
    source_name: str = "",
) -> ImportResult:
    """Import a handbook page (``herald.publishing.actions.import_markdown_page``), then
    publish what it wrote, all in one transaction: a page imports whole or not at all."""
    with transaction.atomic():
        result = import_markdown_page(
            text, acting_user=acting_user, incident=incident, source_name=source_name
        )
        if result.incident_declared and result.incident is not None:
            fanout_incident(result.incident)
        _publish(result.writes)
        if result.profile_fields:
            transaction.on_commit(publishing_tasks.queue_regenerate_everything)
    return result


def do_import_documents(
    files: Sequence[tuple[str, bytes]],
    kind: str,
    *,
    acting_user: AbstractBaseUser | None,
    incident: Incident | None = None,
) -> DocumentsImport:
    """Import OSV, CVE or CSAF documents (``herald.publishing.importers.import_actions``), then
    publish what they wrote, in one transaction: all of them, or nothing."""
    with transaction.atomic():
        result = import_documents(files, kind, acting_user=acting_user, incident=incident)
        if result.incident_declared and result.incident is not None:
            fanout_incident(result.incident)
        _publish(result.writes)
    return result
