"""Two people editing one advisory: the second save is refused, not a silent overwrite."""

from __future__ import annotations

from herald.web.tests.base import WebTestCase, form_data


class ConflictTest(WebTestCase):
    def test_the_second_editor_gets_a_conflict_and_keeps_their_input(self) -> None:
        advisory = self.draft()
        url = f"/desk/advisories/{advisory.identifier}/edit/"
        alice = self.client_for(self.alice)
        alices_page = alice.get(url)
        bobs_page = self.client.get(url)

        saved = alice.post(url, form_data(alices_page, title="Alice's title"))
        assert saved.status_code == 302

        refused = self.client.post(
            url, form_data(bobs_page, title="Bob's title", summary="Bob's careful summary")
        )
        assert refused.status_code == 409
        self.assertContains(refused, "was changed by someone else", status_code=409)
        self.assertContains(refused, "Bob&#x27;s careful summary", status_code=409)
        self.assertContains(refused, 'value="Bob&#x27;s title"', status_code=409)
        self.assertContains(refused, "Open the current version", status_code=409)
        advisory.refresh_from_db()
        assert advisory.title == "Alice's title"
        assert advisory.summary == ""
        assert advisory.version == 2

    def test_publishing_a_version_someone_has_since_changed_is_refused(self) -> None:
        advisory = self.draft()
        url = f"/desk/advisories/{advisory.identifier}/publish/"
        stale = self.client.get(url)
        edit = f"/desk/advisories/{advisory.identifier}/edit/"
        self.client_for(self.alice).post(
            edit, form_data(self.client.get(edit), description="Rewritten by Alice.")
        )
        response = self.client.post(url, form_data(stale))
        assert response.status_code == 409
        advisory.refresh_from_db()
        assert advisory.state == "draft"
