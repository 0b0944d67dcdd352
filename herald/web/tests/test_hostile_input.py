"""Markup typed into any field is shown as text on every page, never run."""

from __future__ import annotations

from django.test import Client

from herald.incidents.actions import do_add_incident_note
from herald.publication.actions import do_update_advisory
from herald.web.tests.base import WebTestCase

SCRIPT = '<script>alert("herald")</script>'
IMG = '<img src=x onerror="alert(1)">'


class HostileInputTest(WebTestCase):
    def test_markup_in_every_field_is_escaped_on_every_page(self) -> None:
        incident = self.declare(
            f"Incident {SCRIPT}", summary=f"Summary {IMG}", reason=f"Because {SCRIPT}"
        )
        do_add_incident_note(incident, f"Note {SCRIPT}", acting_user=self.bob)
        advisory = self.published(
            incident,
            title=f"Title {SCRIPT}",
            summary=f"Summary {IMG}",
            # A javascript: link is refused at the door (herald.core.text); this one
            # tries to break out of the href instead.
            description=f'Description {SCRIPT} and [link](https://x.example/"onmouseover=alert(1)) {IMG}',  # noqa: E501
            affected_users=f"Users {SCRIPT}",
            resolution=f"Resolution {IMG}",
            credits=[{"name": f"Credit {SCRIPT}", "contact": f"{IMG}"}],
        )
        do_update_advisory(
            advisory,
            acting_user=self.bob,
            change_summary=f"Summary {SCRIPT}",
            description=f"Changed {SCRIPT}",
        )
        a, i = advisory.identifier, incident.identifier
        public = Client()
        pages = {
            "public index": public.get("/security/advisories/"),
            "public page": public.get(f"/security/advisories/{a}/"),
            "dashboard": self.client.get("/desk/"),
            "incidents": self.client.get("/desk/incidents/"),
            "incident": self.client.get(f"/desk/incidents/{i}/"),
            "advisories": self.client.get("/desk/advisories/"),
            "advisory": self.client.get(f"/desk/advisories/{a}/"),
            "edit": self.client.get(f"/desk/advisories/{a}/edit/"),
            "preview": self.client.get(f"/desk/advisories/{a}/preview/"),
            "revisions": self.client.get(f"/desk/advisories/{a}/revisions/"),
            "withdraw": self.client.get(f"/desk/advisories/{a}/withdraw/"),
        }
        for name, response in pages.items():
            with self.subTest(page=name):
                assert response.status_code == 200
                html = response.content.decode()
                assert "<script>alert" not in html
                assert "<img src=x" not in html
                assert 'href="javascript:' not in html
                assert '"onmouseover=' not in html
                assert "&lt;script&gt;" in html
