"""Editing an advisory on the desk: rows, incidents, and what a public edit records."""

from __future__ import annotations

from herald.incidents.actions import do_resolve_incident
from herald.web.tests.base import WebTestCase, form_data


class EditingTest(WebTestCase):
    def test_ticking_delete_removes_an_affected_row(self) -> None:
        advisory = self.draft(
            affected=[
                {"product": "cloud", "region": "US", "fixed": "1.2"},
                {"product": "cloud", "region": "EU", "fixed": "1.3"},
            ]
        )
        url = f"/desk/advisories/{advisory.identifier}/edit/"
        response = self.client.post(
            url, form_data(self.client.get(url), **{"affected-0-DELETE": True})
        )
        assert response.status_code == 302
        assert [row.region for row in advisory.affected.all()] == ["EU"]

    def test_the_edit_form_shows_the_rows_and_blank_ones_to_add(self) -> None:
        advisory = self.draft(
            credits=[{"name": "Ada Finder", "type": "FINDER"}],
            references=[{"url": "https://example.com/a", "type": "ARTICLE"}],
        )
        page = self.client.get(f"/desk/advisories/{advisory.identifier}/edit/")
        self.assertContains(page, 'value="Ada Finder"')
        self.assertContains(page, 'value="https://example.com/a"')
        self.assertContains(page, 'name="credits-2-name"')  # one row plus two blank ones
        self.assertContains(page, '<label class="visually-hidden" for="id_credits-2-name">')

    def test_an_advisory_moves_to_another_open_incident(self) -> None:
        first = self.declare("First")
        advisory = self.draft(first)
        second = self.declare("Second")
        url = f"/desk/advisories/{advisory.identifier}/edit/"
        response = self.client.post(
            url, form_data(self.client.get(url), incident=second.pk, summary="Moved.")
        )
        assert response.status_code == 302
        advisory.refresh_from_db()
        assert advisory.incident == second

    def test_editing_after_the_incident_is_resolved_declares_a_new_one(self) -> None:
        advisory = self.published()
        do_resolve_incident(advisory.incident, acting_user=self.bob)
        url = f"/desk/advisories/{advisory.identifier}/edit/"
        response = self.client.post(
            url,
            form_data(
                self.client.get(url), summary="Now with a summary.", change_summary="Summary."
            ),
        )
        assert response.status_code == 302
        advisory.refresh_from_db()
        assert advisory.incident.auto_declared
        assert advisory.incident.is_open
        assert advisory.revisions.count() == 2
