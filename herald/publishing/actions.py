"""Importing the handbook page into Herald, and exporting it (to a file or a git branch).

The import goes through the same record-level writes as the desk: the prose
through ``write_vendor_profile``, each advisory through create, publish and
withdraw, inside one incident (DESIGN.md rule 1), all in one transaction so that
a page either imports whole or not at all. ``import_markdown_page`` writes the
records and returns what it wrote; ``herald.publication.actions.do_import_markdown_page``
is the caller-facing action, which publishes it (artifacts, outbox, served copy).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from herald.advisories.actions import (
    DATE_FIELDS,
    Written,
    regions_named_in,
    write_draft,
    write_publication,
    write_update,
    write_withdrawal,
)
from herald.advisories.models import Advisory
from herald.advisories.queries import with_cve
from herald.advisories.snapshot import snapshot_of
from herald.audit.actions import actor_label, record
from herald.core.actions import write_vendor_profile
from herald.core.errors import HeraldError, ValidationError, format_validation_error
from herald.core.models import VendorProfile
from herald.incidents.actions import add_event, write_declaration
from herald.incidents.models import Incident, IncidentEvent, Severity
from herald.publishing.importers.mdimport import (
    SECTIONS,
    PageError,
    ParsedAdvisory,
    default_headings,
    parse_page,
)
from herald.publishing.render.markdown import PageContent, advisory_blocks, format_date
from herald.publishing.store.gitexport import export_to_git, head_commit

T = TypeVar("T")
SEVERITY_ORDER = tuple(Severity.values)  # low .. critical


# ---------------------------------------------------------------- export


def markdown_page() -> str:
    """The public page as it stands: published advisories only (DESIGN.md rule 3)."""
    from herald.publishing.site.builders import handbook_markdown

    # One narrow query rather than a snapshot per advisory: the page lists them all.
    return handbook_markdown(VendorProfile.get())


@dataclass(frozen=True)
class GitExport:
    branch: str
    commit: str
    path: str


def do_export_markdown_to_git(
    *,
    repo_dir: str | Path,
    rel_path: str,
    incident: Incident,
    acting_user: AbstractBaseUser | None,
) -> GitExport:
    """Commit the page on a new branch of the website's checkout, within ``incident``."""
    if not incident.is_open:
        raise HeraldError(
            f"{incident.identifier} is resolved; changes to the page happen within an open "
            "incident. Name an open one, or declare one."
        )
    content = markdown_page()
    branch = export_to_git(repo_dir, rel_path, content, incident.identifier, incident.title)
    commit = head_commit(repo_dir)
    who = actor_label(acting_user)
    with transaction.atomic():
        add_event(
            incident,
            IncidentEvent.Kind.NOTE,
            f"Handbook page committed to branch {branch} ({commit[:12]}) of {repo_dir}, "
            "ready to push for review.",
            actor=who,
        )
        record(
            acting_user=acting_user,
            action="publishing.export_git",
            obj=incident,
            after={
                "repository": str(repo_dir),
                "path": rel_path,
                "branch": branch,
                "commit": commit,
            },
        )
    return GitExport(branch=branch, commit=commit, path=rel_path)


# ---------------------------------------------------------------- import


@dataclass(frozen=True)
class ImportedAdvisory:
    identifier: str
    title: str
    outcome: str  # created, updated, unchanged
    section: str  # current, past
    page_status: str


@dataclass(frozen=True)
class ImportResult:
    incident: Incident | None
    incident_declared: bool
    advisories: tuple[ImportedAdvisory, ...]
    profile_fields: tuple[str, ...]
    writes: tuple[Written, ...] = ()  # for the publication function to publish

    def count(self, outcome: str) -> int:
        return sum(1 for a in self.advisories if a.outcome == outcome)

    @property
    def changed_anything(self) -> bool:
        return bool(self.profile_fields) or any(a.outcome != "unchanged" for a in self.advisories)


def _known_headings(profile: VendorProfile) -> dict[str, list[str]]:
    """The profile's section headings, and Herald's defaults for a first import."""
    defaults = default_headings()
    return {key: [getattr(profile, f"{key}_heading"), *defaults[key]] for key in SECTIONS}


def _match(parsed: ParsedAdvisory) -> Advisory | None:
    """The advisory already in Herald that this block describes: by CVE id, else title and date."""
    for cve in parsed.cve_ids:
        candidate = with_cve(Advisory.objects.all(), cve).first()
        if candidate is not None:
            return candidate
    return (
        Advisory.objects.filter(
            title=" ".join(parsed.title.split()), published_at__date=parsed.date
        )
        .order_by("id")
        .first()
    )


def _refused(parsed: ParsedAdvisory, step: Callable[[], T]) -> T:
    """Run one action for ``parsed``; its refusal becomes an error at the advisory's line."""
    try:
        return step()
    except ValidationError as exc:
        problems = "; ".join(format_validation_error(exc))
        raise PageError(parsed.line, f"advisory {parsed.title!r}: {problems}") from None
    except PageError:
        raise
    except HeraldError as exc:
        raise PageError(parsed.line, f"advisory {parsed.title!r}: {exc}") from None


def _written(
    parsed: ParsedAdvisory, writes: list[Written], step: Callable[[], Written]
) -> Advisory:
    """One record-level write for ``parsed``, kept in ``writes`` for publication."""
    written = _refused(parsed, step)
    writes.append(written)
    return written.advisory


def _changes(existing: Advisory, parsed: ParsedAdvisory) -> dict[str, Any]:
    """The fields the page changes on an advisory Herald already has.

    A timeline date missing from the page is left as it is: publishing fills in
    the disclosure date, and the next import must not take it away again. A
    withdrawn block does not carry the status underneath, so it is not compared.
    """
    changes: dict[str, Any] = {}
    for name, value in parsed.field_values().items():
        if name == "status" and parsed.withdrawn:
            continue
        if name in DATE_FIELDS and value is None:
            continue
        if getattr(existing, name) != value:
            changes[name] = value
    if "affected_users" in changes:
        changes["affected_regions"] = regions_named_in(
            changes["affected_users"], VendorProfile.get().regions or []
        )
    return changes


@dataclass
class _Step:
    parsed: ParsedAdvisory
    existing: Advisory | None
    changes: dict[str, Any]
    withdraw: bool

    @property
    def outcome(self) -> str:
        if self.existing is None:
            return "created"
        return "updated" if self.changes or self.withdraw else "unchanged"


def _plan(parsed: ParsedAdvisory) -> _Step:
    existing = _match(parsed)
    if existing is None:
        return _Step(parsed, None, {}, parsed.withdrawn)
    if existing.state == Advisory.State.DRAFT:
        raise PageError(
            parsed.line,
            f"{parsed.title!r} matches {existing.identifier}, which is an unpublished draft in "
            "Herald; publish it from the desk (or change its CVE and title) before importing",
        )
    if existing.published_at is not None and existing.published_at.date() != parsed.date:
        raise PageError(
            parsed.lines.get("Date", parsed.line),
            f"{parsed.title!r} is {existing.identifier}, first published on "
            f"{format_date(existing.published_at.date())}; the page's date "
            f"{format_date(parsed.date)} cannot change it",
        )
    if advisory_blocks(snapshot_of(existing, with_history=False)) == advisory_blocks(
        parsed.snapshot(existing.identifier)
    ):
        return _Step(parsed, existing, {}, False)
    changes = _changes(existing, parsed)
    withdrawn = existing.state == Advisory.State.WITHDRAWN
    reason_changed = withdrawn and existing.withdrawn_reason != parsed.withdrawn_reason
    if withdrawn and (changes or reason_changed or not parsed.withdrawn):
        raise PageError(
            parsed.line,
            f"{parsed.title!r} is {existing.identifier}, which is withdrawn in Herald; a "
            "withdrawn advisory no longer changes",
        )
    return _Step(parsed, existing, changes, parsed.withdrawn and not withdrawn)


def _declare_for_import(
    steps: list[_Step], *, acting_user: AbstractBaseUser | None, source_name: str
) -> Incident:
    who = actor_label(acting_user)
    source = source_name or "a handbook page"
    created = sum(1 for s in steps if s.outcome == "created")
    updated = sum(1 for s in steps if s.outcome == "updated")
    current = [s.parsed.severity for s in steps if s.parsed.section == "current"]
    return write_declaration(
        title=f"Import of the security advisories page {source}"[:300],
        # An old page full of past advisories is not an emergency; a current
        # advisory is as severe as the worst one being published.
        severity=max(current, key=SEVERITY_ORDER.index) if current else Severity.LOW,
        reason=(
            f"{who} imported {source}: {created} advisory(ies) to create and {updated} to "
            "change; advisories change only within an incident."
        ),
        acting_user=acting_user,
        auto=True,
    )


def import_markdown_page(
    text: str,
    *,
    acting_user: AbstractBaseUser | None,
    incident: Incident | None = None,
    source_name: str = "",
) -> ImportResult:
    """Import a page: its prose into the profile, its advisories published as on the page.

    Advisories already in Herald (same CVE id, else same title and date) are left
    alone when the page shows them as they are, and updated (a revision) or
    withdrawn when it does not; importing a page twice changes nothing the second
    time. Raises ``PageError`` (a line number and the problem) and imports nothing
    when any part of the page is refused.
    """
    if incident is not None and not incident.is_open:
        raise HeraldError(f"{incident.identifier} is resolved; name an open incident.")
    profile = VendorProfile.get()
    parsed = parse_page(text, headings=_known_headings(profile))
    summary = f"Updated from {source_name or 'an imported handbook page'}."
    with transaction.atomic():
        before = PageContent.from_profile(profile).as_dict()
        prose = {name: value for name, value in parsed.content.items() if before[name] != value}
        if prose:
            try:
                write_vendor_profile(acting_user=acting_user, **prose)
            except ValidationError as exc:
                raise HeraldError(
                    "The page's prose was refused: " + "; ".join(format_validation_error(exc))
                ) from None
        # Oldest first (the page lists newest first), so identifiers grow with age and
        # advisories of one day come back in the page's order (newest id first).
        steps = [_plan(advisory) for advisory in reversed(parsed.advisories)]
        declared = False
        if incident is None and any(step.outcome != "unchanged" for step in steps):
            incident = _declare_for_import(steps, acting_user=acting_user, source_name=source_name)
            declared = True
        done: list[ImportedAdvisory] = []
        writes: list[Written] = []
        for step in steps:
            advisory = _apply(
                step, acting_user=acting_user, incident=incident, summary=summary, writes=writes
            )
            done.append(
                ImportedAdvisory(
                    identifier=advisory.identifier,
                    title=advisory.title,
                    outcome=step.outcome,
                    section=step.parsed.section,
                    page_status=step.parsed.page_status,
                )
            )
    return ImportResult(
        incident=incident if declared or any(a.outcome != "unchanged" for a in done) else None,
        incident_declared=declared,
        advisories=tuple(reversed(done)),
        profile_fields=tuple(prose),
        writes=tuple(writes),
    )


def _apply(
    step: _Step,
    *,
    acting_user: AbstractBaseUser | None,
    incident: Incident | None,
    summary: str,
    writes: list[Written],
) -> Advisory:
    parsed = step.parsed
    if step.outcome == "unchanged":
        assert step.existing is not None
        return step.existing
    assert incident is not None
    advisory = step.existing
    if advisory is None:
        values = parsed.field_values()
        advisory = _written(
            parsed,
            writes,
            lambda: write_draft(acting_user=acting_user, incident=incident, **values),
        )
        draft = advisory
        advisory = _written(
            parsed,
            writes,
            lambda: write_publication(
                draft,
                acting_user=acting_user,
                incident=incident,
                published_at=parsed.published_at,
            ),
        )
    elif step.changes:
        current = advisory
        advisory = _written(
            parsed,
            writes,
            lambda: write_update(
                current,
                acting_user=acting_user,
                incident=incident,
                change_summary=summary,
                **step.changes,
            ),
        )
    if step.withdraw:
        public = advisory
        advisory = _written(
            parsed,
            writes,
            lambda: write_withdrawal(
                public,
                acting_user=acting_user,
                incident=incident,
                reason=parsed.withdrawn_reason,
            ),
        )
    return advisory
