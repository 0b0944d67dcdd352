"""Incidents Herald declares for a change are announced where the change was made, with a
true reason; resolving an incident that still holds a draft says so."""

from __future__ import annotations

import json
from io import StringIO

from django.core.management import call_command

from herald.advisories.models import Advisory
from herald.incidents.actions import do_resolve_incident
from herald.incidents.models import Incident
from herald.publication.actions import do_mark_fixed, do_publish_advisory
from herald.web.tests.base import WebTestCase, form_data


def cli(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


class AutoDeclared(WebTestCase):
    def resolved_draft(self) -> tuple[Advisory, Incident]:
        """A draft whose incident is resolved while other incidents stay open."""
        advisory = self.draft()
        first = advisory.incident
        do_resolve_incident(first, acting_user=self.bob)
        for title in ("Unrelated one", "Unrelated two", "Unrelated three"):
            self.declare(title)
        return advisory, first

    def test_the_reason_says_which_incident_was_resolved_and_what_was_done(self) -> None:
        advisory, first = self.resolved_draft()
        published = do_publish_advisory(advisory, acting_user=self.bob)
        reason = published.incident.declared_reason
        assert (
            reason
            == f"{first.identifier} was resolved; declared to publish {published.identifier}."
        )
        do_resolve_incident(published.incident, acting_user=self.bob)
        fixed = do_mark_fixed(published, acting_user=self.bob, fixed_at="2026-01-20")
        assert "declared to mark fixed" in fixed.incident.declared_reason
        assert "no incident was open" not in reason.lower() and "asked to" not in reason

    def test_the_cli_names_the_new_incident_and_why(self) -> None:
        advisory, first = self.resolved_draft()
        out, err = cli("advisory", "publish", advisory.identifier, "--as", "bob")
        published = Advisory.objects.get(pk=advisory.pk)
        new = published.incident
        assert out.splitlines() == [
            f"{published.identifier} published: {published.title}",
            f"Incident {new.identifier} declared automatically: {first.identifier} was "
            f"resolved; declared to publish {published.identifier}.",
        ]
        assert err == ""

    def test_with_json_the_notice_goes_beside_the_document(self) -> None:
        advisory, _ = self.resolved_draft()
        out, err = cli("advisory", "publish", advisory.identifier, "--json")
        assert json.loads(out)["state"] == "published"
        assert "declared automatically" in err

    def test_no_notice_when_the_advisory_stays_in_its_open_incident(self) -> None:
        advisory = self.draft()
        out, _ = cli("advisory", "publish", advisory.identifier)
        assert "declared" not in out

    def test_the_desk_says_so_after_publishing(self) -> None:
        advisory, first = self.resolved_draft()
        url = f"/desk/advisories/{advisory.identifier}/publish/"
        response = self.client.post(url, form_data(self.client.get(url)), follow=True)
        published = Advisory.objects.get(pk=advisory.pk)
        page = response.content.decode()
        assert f"Incident {published.incident.identifier} declared automatically" in page
        assert f"{first.identifier} was resolved; declared to publish" in page

    def test_resolving_an_incident_with_a_draft_warns_on_the_cli(self) -> None:
        advisory = self.draft()
        out, err = cli("incident", "resolve", advisory.incident.identifier)
        assert "resolved" in out
        assert err.strip() == (
            f"warning: {advisory.incident.identifier} still holds 1 unpublished draft(s): "
            f"{advisory.identifier}. Publishing or changing one later declares a new incident."
        )
        assert Incident.objects.get(pk=advisory.incident_id).status == "resolved"

    def test_resolving_an_incident_with_a_draft_warns_on_the_desk(self) -> None:
        advisory = self.draft()
        url = f"/desk/incidents/{advisory.incident.identifier}/"
        before = self.client.get(url).content.decode()
        assert f"still holds 1 unpublished draft(s): {advisory.identifier}" in before
        response = self.client.post(url + "resolve/", {"summary": "Done."}, follow=True)
        assert f"still holds 1 unpublished draft(s): {advisory.identifier}" in (
            response.content.decode()
        )

    def test_resolving_an_incident_without_drafts_gives_no_warning(self) -> None:
        advisory = self.published()
        _, err = cli("incident", "resolve", advisory.incident.identifier)
        assert err == ""
