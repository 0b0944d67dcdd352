"""The desk's revision history: what each public change altered, field by field."""

from __future__ import annotations

from herald.publication.actions import do_update_advisory
from herald.web.tests.base import WebTestCase


class RevisionHistoryTest(WebTestCase):
    def test_it_shows_the_field_that_changed_between_revisions(self) -> None:
        advisory = self.published(severity="medium")
        do_update_advisory(
            advisory,
            acting_user=self.bob,
            change_summary="Raised severity; clarified scope.",
            severity="high",
            affected_users="Cloud customers in the EU region only.",
        )
        response = self.client.get(f"/desk/advisories/{advisory.identifier}/revisions/")
        self.assertContains(response, "Revision 2: Updated")
        self.assertContains(response, "Raised severity; clarified scope.")
        self.assertContains(response, "<h3>Severity</h3>")
        self.assertContains(response, '<span class="diff-removed">- medium</span>')
        self.assertContains(response, '<span class="diff-added">+ high</span>')
        self.assertContains(response, "<h3>Affected users</h3>")
        self.assertContains(
            response, '<span class="diff-added">+ Cloud customers in the EU region only.</span>'
        )
        self.assertContains(response, "First publication.")
        history = response.context["history"]
        assert [c.field for c in history[0].changes] == ["severity", "affected_users"]

    def test_unchanged_fields_are_left_out(self) -> None:
        advisory = self.published()
        do_update_advisory(
            advisory, acting_user=self.bob, change_summary="Typo.", title="Stored XSS in dashboards"
        )
        response = self.client.get(f"/desk/advisories/{advisory.identifier}/revisions/")
        assert [c.field for c in response.context["history"][0].changes] == ["title"]
        self.assertNotContains(response, "<h3>Description</h3>")

    def test_a_draft_has_no_revision_yet(self) -> None:
        advisory = self.draft()
        response = self.client.get(f"/desk/advisories/{advisory.identifier}/revisions/")
        self.assertContains(response, "No revision yet")
