"""Importing the handbook page: strict parsing, all-or-nothing, idempotent, in an incident."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from herald.advisories.models import Advisory, Revision
from herald.audit.models import AuditEvent
from herald.core.models import VendorProfile
from herald.incidents.models import Incident
from herald.publication.actions import do_import_markdown_page, do_withdraw_advisory
from herald.publishing.actions import markdown_page
from herald.publishing.importers.mdimport import PageError, parse_page
from herald.publishing.tests.markdown_pages import FIRST_TITLE, FULL_PAGE, line_of
from herald.test import HeraldTestCase, shared_path


@dataclass(frozen=True)
class Broken:
    """A page with one mistake, the line the error must name, and words it must say."""

    name: str
    edit: Callable[[str], str]
    line: Callable[[str], int]
    says: str


def replace(old: str, new: str, occurrence: int = 1) -> Callable[[str], str]:
    def edit(text: str) -> str:
        start = -1
        for _ in range(occurrence):
            start = text.index(old, start + 1)
        return text[:start] + new + text[start + len(old) :]

    return edit


def at(fragment: str, occurrence: int = 1) -> Callable[[str], int]:
    return lambda text: line_of(text, fragment, occurrence)


BROKEN = [
    Broken(
        "unknown section heading",
        replace("## Reporting security issues", "## Bug bounty"),
        at("## Bug bounty"),
        "unknown section heading 'Bug bounty'",
    ),
    Broken(
        "section out of order",
        replace("## Updating this page", "## Security best practices"),
        at("## Security best practices"),
        "comes before the 'updating this page' section",
    ),
    Broken(
        "bad date",
        replace("**Date:** March 3, 2026", "**Date:** 2026-03-03"),
        at("**Date:** 2026-03-03"),
        "is not a date like January 15, 2024",
    ),
    Broken(
        "impossible date",
        replace("- **Fixed:** January 5, 2026", "- **Fixed:** February 30, 2026"),
        at("February 30, 2026"),
        "not a day of the calendar",
    ),
    Broken(
        "unknown severity",
        replace("**Severity:** High", "**Severity:** Severe"),
        at("**Severity:** Severe"),
        "unknown severity 'Severe'",
    ),
    Broken(
        "unknown status",
        replace("**Status:** Fixed", "**Status:** Mitigated"),
        at("**Status:** Mitigated"),
        "unknown status 'Mitigated'",
    ),
    Broken(
        "malformed CVE id",
        replace("CVE-2026-20001", "CVE-2026-12"),
        at("CVE-2026-12 "),
        "'CVE-2026-12' is not a CVE id",
    ),
    Broken(
        "field missing",
        replace("**Affected users:**\nAll users.\n", ""),
        at("### Open redirect on the login page"),
        "has no **Affected users:** field",
    ),
    Broken(
        "header field missing",
        replace("**CVE:** None  \n", ""),
        at("### Open redirect on the login page"),
        "has no **CVE:** field",
    ),
    Broken(
        "unterminated front matter",
        replace("showTitle: true\n---\n", "showTitle: true\n"),
        lambda text: 1,
        "front matter opened here is never closed",
    ),
    Broken(
        "front matter not YAML",
        replace("sidebar: Handbook", "sidebar: [Handbook"),
        at("showTitle: true"),
        "front matter is not valid YAML",
    ),
    Broken(
        "unterminated code block",
        replace("potential impact.\n```\n", "potential impact.\n"),
        at("```"),
        "code block opened here (```) is never closed",
    ),
    Broken(
        "bad timeline line",
        replace("- **Discovered:** January 2, 2026", "- **Patched:** January 2, 2026"),
        at("**Patched:**"),
        "a timeline line reads",
    ),
    Broken(
        "timeline out of order",
        replace("- **Fixed:** February 12, 2026", "- **Fixed:** February 9, 2026"),
        at("- **Fixed:** February 9, 2026"),
        "is before reported",
    ),
    Broken(
        "resolved under current",
        replace("**Status:** Fixed", "**Status:** Resolved"),
        at("**Status:** Resolved"),
        "belong under past advisories",
    ),
    Broken(
        "withdrawn without a reason",
        replace(
            "**Reason for withdrawal:**  \nPublished in error: the exports never contained "
            "password hashes.\n\n",
            "",
        ),
        at("**Status:** Withdrawn"),
        "say why in a **Reason for withdrawal:**",
    ),
    Broken(
        "fixed without a fixed date",
        replace("- **Fixed:** February 12, 2026\n", ""),
        at("**Timeline:**", 2),
        "needs the date it was fixed",
    ),
    Broken(
        "text after the template",
        lambda text: text + "\nstray words\n",
        at("stray words"),
        "text after the advisory template",
    ),
    Broken(
        "the same advisory twice",
        replace("CVE-2025-30001", "CVE-2026-20001"),
        at("### Weak password hashing in exports"),
        "CVE-2026-20001 is also the CVE of",
    ),
    Broken(
        "a section missing",
        replace("## Current advisories", "### Current advisories"),
        at("## Past advisories"),
        "comes before the 'current advisories' section",
    ),
]


@pytest.mark.parametrize("case", BROKEN, ids=[case.name for case in BROKEN])
def test_a_malformed_page_is_refused_with_its_line_number(case: Broken) -> None:
    text = case.edit(FULL_PAGE)
    assert text != FULL_PAGE
    with pytest.raises(PageError) as caught:
        parse_page(text)
    assert caught.value.line == case.line(text), str(caught.value)
    assert case.says in str(caught.value)
    assert str(caught.value).startswith(f"line {case.line(text)}: ")


def test_headings_are_recognised_whatever_their_case_and_spacing() -> None:
    parsed = parse_page(FULL_PAGE.replace("## Updating this page", "## updating  THIS page"))
    assert parsed.content["updating_heading"] == "updating  THIS page"


def test_a_reason_for_withdrawal_on_a_standing_advisory_is_refused() -> None:
    text = FULL_PAGE.replace(
        "**Status:** Fixed  \n", "**Status:** Fixed  \n\n**Reason for withdrawal:**  \nNo.\n"
    )
    with pytest.raises(PageError, match="has a reason for withdrawal but its status is Fixed"):
        parse_page(text)


def counts() -> dict[str, int]:
    return {
        "advisories": Advisory.objects.count(),
        "incidents": Incident.objects.count(),
        "revisions": Revision.objects.count(),
        "audit events": AuditEvent.objects.count(),
    }


class MarkdownImportTests(HeraldTestCase):
    def test_the_seed_page_comes_back_byte_for_byte_after_import_and_export(self) -> None:
        seed = shared_path("seed", "security-advisories.md").read_bytes()
        do_import_markdown_page(seed.decode(), acting_user=self.alice, source_name="seed.md")
        assert markdown_page().encode() == seed

    def test_a_page_with_every_kind_of_advisory_comes_back_byte_for_byte(self) -> None:
        result = do_import_markdown_page(FULL_PAGE, acting_user=self.alice, source_name="p.md")
        assert result.count("created") == 4
        assert markdown_page() == FULL_PAGE

    def test_imported_advisories_keep_the_pages_dates_states_and_regions(self) -> None:
        do_import_markdown_page(FULL_PAGE, acting_user=self.alice, source_name="p.md")
        first = Advisory.objects.get(title=FIRST_TITLE)
        assert first.state == Advisory.State.PUBLISHED and first.status == "reported"
        assert first.published_at == dt.datetime(2026, 3, 3, tzinfo=dt.UTC)
        assert first.cve_ids == ["CVE-2026-10001", "CVE-2026-10002"]
        assert first.affected_regions == ["EU"]
        resolved = Advisory.objects.get(title="Open redirect on the login page")
        assert (resolved.status, resolved.cve_ids) == ("resolved", [])
        withdrawn = Advisory.objects.get(vulnerabilities__cve_id="CVE-2025-30001")
        assert withdrawn.state == Advisory.State.WITHDRAWN
        assert withdrawn.withdrawn_reason.startswith("Published in error")
        assert [r.kind for r in withdrawn.revisions.all()] == ["published", "withdrawn"]

    def test_the_import_declares_an_incident_naming_the_file(self) -> None:
        result = do_import_markdown_page(
            FULL_PAGE, acting_user=self.alice, source_name="website/security-advisories.md"
        )
        incident = result.incident
        assert result.incident_declared and incident is not None
        assert incident.auto_declared and incident.is_open
        assert "website/security-advisories.md" in incident.declared_reason
        assert "alice" in incident.declared_reason
        assert incident.severity == "critical"  # the worst current advisory on the page
        assert set(Advisory.objects.values_list("incident", flat=True)) == {incident.pk}

    def test_the_import_uses_the_incident_it_is_given(self) -> None:
        incident = self.declare("Publishing the old page")
        result = do_import_markdown_page(FULL_PAGE, acting_user=self.bob, incident=incident)
        assert not result.incident_declared
        assert Incident.objects.count() == 1
        assert set(Advisory.objects.values_list("incident", flat=True)) == {incident.pk}

    def test_a_resolved_incident_is_refused(self) -> None:
        from herald.incidents.actions import do_resolve_incident

        incident = do_resolve_incident(self.declare(), acting_user=self.bob)
        before = counts()
        with pytest.raises(Exception, match="is resolved"):
            do_import_markdown_page(FULL_PAGE, acting_user=self.bob, incident=incident)
        assert counts() == before

    def test_importing_the_same_page_again_changes_nothing(self) -> None:
        do_import_markdown_page(FULL_PAGE, acting_user=self.alice, source_name="p.md")
        before = counts()
        again = do_import_markdown_page(FULL_PAGE, acting_user=self.alice, source_name="p.md")
        assert not again.changed_anything
        assert again.incident is None and not again.incident_declared
        assert again.count("unchanged") == 4
        assert counts() == before
        assert markdown_page() == FULL_PAGE

    def test_a_page_without_disclosure_dates_imports_again_without_changes(self) -> None:
        page = FULL_PAGE.replace("- **Disclosed:** March 3, 2026\n", "")
        do_import_markdown_page(page, acting_user=self.alice)
        before = counts()
        assert not do_import_markdown_page(page, acting_user=self.alice).changed_anything
        assert counts() == before

    def test_a_known_advisory_changed_on_the_page_is_updated_with_a_revision(self) -> None:
        do_import_markdown_page(FULL_PAGE, acting_user=self.alice, source_name="p.md")
        changed = FULL_PAGE.replace(
            "Session tokens were written to an internal log.",
            "Session tokens were written to an internal log for 3 days.",
        )
        result = do_import_markdown_page(changed, acting_user=self.alice, source_name="p2.md")
        assert [a.outcome for a in result.advisories].count("updated") == 1
        advisory = Advisory.objects.get(vulnerabilities__cve_id="CVE-2026-20001")
        assert advisory.description.endswith("for 3 days.")
        assert advisory.revisions.last().summary == "Updated from p2.md."  # type: ignore[union-attr]
        assert markdown_page() == changed

    def test_an_advisory_is_matched_by_title_and_date_when_it_has_no_cve(self) -> None:
        do_import_markdown_page(FULL_PAGE, acting_user=self.alice)
        assert Advisory.objects.filter(title="Open redirect on the login page").count() == 1
        do_import_markdown_page(FULL_PAGE, acting_user=self.alice)
        assert Advisory.objects.filter(title="Open redirect on the login page").count() == 1

    def test_a_page_withdrawing_a_known_advisory_withdraws_it(self) -> None:
        do_import_markdown_page(FULL_PAGE, acting_user=self.alice)
        start = FULL_PAGE.index("### Session tokens")
        end = FULL_PAGE.index("## Past advisories")
        block = FULL_PAGE[start:end].replace(
            "**Status:** Fixed  \n",
            "**Status:** Withdrawn  \n\n**Reason for withdrawal:**  \nA duplicate of NW-1.\n",
        )
        intro = "This section contains resolved security advisories for reference.\n\n"
        page = (FULL_PAGE[:start] + FULL_PAGE[end:]).replace(intro, intro + block)
        result = do_import_markdown_page(page, acting_user=self.alice, source_name="p3.md")
        assert [a.outcome for a in result.advisories].count("updated") == 1
        advisory = Advisory.objects.get(vulnerabilities__cve_id="CVE-2026-20001")
        assert advisory.state == Advisory.State.WITHDRAWN
        assert advisory.withdrawn_reason == "A duplicate of NW-1."
        assert markdown_page() == page

    def test_a_withdrawn_advisory_shown_as_standing_is_refused(self) -> None:
        do_import_markdown_page(FULL_PAGE, acting_user=self.alice)
        advisory = Advisory.objects.get(vulnerabilities__cve_id="CVE-2026-20001")
        do_withdraw_advisory(advisory, acting_user=self.bob, reason="Duplicate.")
        before = counts()
        with pytest.raises(PageError, match="which is withdrawn in Herald"):
            do_import_markdown_page(FULL_PAGE, acting_user=self.bob)
        assert counts() == before

    def test_a_draft_matching_the_page_is_refused_and_named(self) -> None:
        draft = self.draft(cve_ids=["CVE-2026-20001"])
        before = counts()
        with pytest.raises(PageError, match=f"matches {draft.identifier}, which is an unpublished"):
            do_import_markdown_page(FULL_PAGE, acting_user=self.bob)
        assert counts() == before

    def test_every_malformed_page_imports_nothing(self) -> None:
        profile = VendorProfile.get()
        before = counts()
        for case in BROKEN:
            with self.subTest(case.name):
                text = case.edit(FULL_PAGE)
                with pytest.raises(PageError) as caught:
                    do_import_markdown_page(text, acting_user=self.alice)
                assert caught.value.line == case.line(text)
                assert counts() == before
        assert VendorProfile.get().intro == profile.intro

    def test_a_refusal_by_the_actions_undoes_the_advisories_already_created(self) -> None:
        # The first advisory on the page is imported last: the three before it are
        # created, then the whole import is rolled back.
        long_title = "X" * 301
        text = FULL_PAGE.replace(f"### {FIRST_TITLE}", f"### {long_title}")
        before = counts()
        with pytest.raises(PageError) as caught:
            do_import_markdown_page(text, acting_user=self.alice)
        assert caught.value.line == line_of(text, long_title)
        assert "title: Too long" in str(caught.value)
        assert counts() == before
        assert VendorProfile.get().intro != parse_page(FULL_PAGE).content["intro"]

    def test_drafts_never_appear_in_the_export(self) -> None:
        self.published()
        self.draft(
            title="ZEBRA-7781 unannounced flaw",
            description="ZEBRA-7781 details",
            cve_ids=["CVE-2026-77810"],
        )
        page = markdown_page()
        assert "Stored XSS in dashboard names" in page
        assert "ZEBRA-7781" not in page and "CVE-2026-77810" not in page

    def test_the_profile_update_is_audited_once_and_not_again(self) -> None:
        do_import_markdown_page(FULL_PAGE, acting_user=self.alice)
        events = AuditEvent.objects.filter(action="vendor_profile.update")
        assert events.count() == 1
        event = events.get()
        assert event.actor == "alice"
        assert event.after is not None and event.before is not None
        assert set(event.after) >= {"front_matter", "intro"}
        assert event.before["intro"] == VendorProfile._meta.get_field("intro").default
        do_import_markdown_page(FULL_PAGE, acting_user=self.alice)
        assert AuditEvent.objects.filter(action="vendor_profile.update").count() == 1
