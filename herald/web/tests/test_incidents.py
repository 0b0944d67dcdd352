"""Incidents on the desk: declaring, the timeline, notes, resolving."""

from __future__ import annotations

from herald.incidents.actions import do_resolve_incident
from herald.incidents.models import Incident
from herald.web.tests.base import WebTestCase


class IncidentDeskTest(WebTestCase):
    def test_declaring_records_the_commander_and_reason(self) -> None:
        response = self.client.post(
            "/desk/incidents/new/",
            {
                "title": "SSRF in webhooks",
                "severity": "critical",
                "reason": "Bug bounty report",
                "commander": "alice",
            },
        )
        incident = Incident.objects.get()
        self.assertRedirects(response, f"/desk/incidents/{incident.identifier}/")
        page = self.client.get(f"/desk/incidents/{incident.identifier}/")
        self.assertContains(page, "SSRF in webhooks")
        self.assertContains(page, "Declared by bob: Bug bounty report")
        self.assertContains(page, "<dt>Commander</dt><dd>alice</dd>", html=False)

    def test_an_unknown_commander_is_shown_on_the_commander_field(self) -> None:
        response = self.client.post(
            "/desk/incidents/new/", {"title": "SSRF", "severity": "high", "commander": "mallory"}
        )
        assert response.status_code == 400
        assert "mallory" in response.context["form"].errors["commander"][0]
        assert not Incident.objects.exists()

    def test_a_note_joins_the_timeline(self) -> None:
        incident = self.declare()
        url = f"/desk/incidents/{incident.identifier}/"
        response = self.client.post(url + "note/", {"message": "Customer confirmed the fix."})
        self.assertRedirects(response, url)
        self.assertContains(self.client.get(url), "Customer confirmed the fix.")

    def test_an_empty_note_is_refused_on_its_field(self) -> None:
        incident = self.declare()
        response = self.client.post(f"/desk/incidents/{incident.identifier}/note/", {"message": ""})
        assert response.status_code == 400
        assert "message" in response.context["note_form"].errors

    def test_resolving_closes_the_incident(self) -> None:
        incident = self.declare()
        url = f"/desk/incidents/{incident.identifier}/"
        response = self.client.post(url + "resolve/", {"summary": "Fixed and disclosed."})
        self.assertRedirects(response, url)
        incident.refresh_from_db()
        assert incident.status == "resolved"
        page = self.client.get(url)
        self.assertContains(page, "Resolved by bob: Fixed and disclosed.")
        self.assertNotContains(page, "Resolve the incident")

    def test_resolving_twice_is_refused_with_a_message(self) -> None:
        incident = self.declare()
        do_resolve_incident(incident, acting_user=self.bob)
        response = self.client.post(f"/desk/incidents/{incident.identifier}/resolve/", {})
        assert response.status_code == 400
        self.assertContains(response, "already resolved", status_code=400)

    def test_the_list_shows_open_incidents_first(self) -> None:
        old_open = self.declare("Old but open")
        closed = self.declare("Newer but resolved")
        do_resolve_incident(closed, acting_user=self.bob)
        html = self.client.get("/desk/incidents/").content.decode()
        assert html.index(old_open.title) < html.index(closed.title)

    def test_the_dashboard_shows_open_incidents_drafts_and_recent_publications(self) -> None:
        import datetime as dt

        from django.utils import timezone

        incident = self.declare("Live incident", commander="alice")
        self.draft(
            incident,
            title="Drafted advisory",
            embargo_until=timezone.now() + dt.timedelta(days=2, hours=1),
        )
        self.published(incident, title="Published advisory")
        html = self.client.get("/desk/").content.decode()
        assert "Live incident" in html
        assert "<td>alice</td>" in html
        assert "Drafted advisory" in html
        assert "2\xa0days" in html
        assert "left" in html
        assert "Published advisory" in html


class AdvisoryListTest(WebTestCase):
    def test_it_filters_by_state_and_status(self) -> None:
        self.draft(title="A draft one")
        self.published(title="A public one")
        html = self.client.get("/desk/advisories/?state=draft").content.decode()
        assert "A draft one" in html
        assert "A public one" not in html
        html = self.client.get("/desk/advisories/?state=published&status=fixed").content.decode()
        assert "A public one" in html
        assert "A draft one" not in html
        assert self.client.get("/desk/advisories/?state=bogus").status_code == 200
