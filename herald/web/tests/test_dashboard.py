"""The dashboard: what needs a responder now, and what is due in the next two weeks."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from herald.intake.actions import do_submit_report
from herald.intake.models import Report
from herald.notify.actions import CustomerData, do_import_customers
from herald.web.dashboard import dashboard
from herald.web.tests.base import WebTestCase


def report(title: str = "SSRF in webhooks") -> Report:
    return do_submit_report(
        source="web",
        email="ada@researcher.example",
        title=title,
        body="The webhook URL can point at the metadata service.",
        acknowledge=False,
    )


class DashboardTest(WebTestCase):
    def test_it_shows_open_incidents_with_commander_and_age(self) -> None:
        self.declare("Token leak", commander="alice")
        html = self.client.get("/desk/").content.decode()
        assert "Token leak" in html
        assert "alice" in html
        assert "Open incidents" in html

    def test_drafts_under_embargo_show_the_time_left_soonest_first(self) -> None:
        now = timezone.now()
        later = self.draft(title="Later one", embargo_until=now + dt.timedelta(days=9))
        sooner = self.draft(title="Sooner one", embargo_until=now + dt.timedelta(days=2, hours=1))
        self.draft(title="No embargo")
        panels = dashboard(now)
        assert [a.pk for a in panels.embargoed] == [sooner.pk, later.pk]
        assert [a.title for a in panels.other_drafts] == ["No embargo"]
        html = self.client.get("/desk/").content.decode()
        assert "2\xa0days" in html  # timeuntil of the sooner embargo

    def test_waiting_reports_come_overdue_first(self) -> None:
        first = report("Old report")
        second = report("New report")
        # A month on, both first responses are overdue; the older one is the most overdue.
        panels = dashboard(timezone.now() + dt.timedelta(days=30))
        assert panels.reports is not None
        assert [w.report.pk for w in panels.reports[:2]] == [first.pk, second.pk]
        assert all(w.overdue and w.waiting_for == "first response" for w in panels.reports)
        assert not any(w.overdue for w in dashboard(timezone.now()).reports or [])

    def test_deadlines_list_embargo_ends_and_report_dues_in_the_next_14_days(self) -> None:
        now = timezone.now()
        self.draft(title="Soon", embargo_until=now + dt.timedelta(days=3))
        self.draft(title="Far", embargo_until=now + dt.timedelta(days=30))
        report("Waiting")
        deadlines = dashboard(now).deadlines
        labels = [d.label for d in deadlines]
        assert any("Soon" in x for x in labels)
        assert not any("Far" in x for x in labels)
        assert any("Waiting" in x for x in labels)
        assert [d.at for d in deadlines] == sorted(d.at for d in deadlines)

    def test_campaigns_in_flight_show_their_recipients(self) -> None:
        do_import_customers(
            [
                CustomerData(
                    external_id="acme",
                    name="Acme",
                    region="US",
                    contacts=[{"email": "ciso@acme.example"}],
                    deployments=[{"product": "cloud", "kind": "cloud", "region": "US"}],
                )
            ],
            acting_user=self.bob,
        )
        self.published(
            confirmed_exposure=True,
            affected=[{"product": "cloud", "deployment": "cloud", "region": "US"}],
        )
        panels = dashboard(timezone.now())
        assert panels.campaigns is not None and len(panels.campaigns) == 1
        assert panels.campaigns[0].recipients == 1
        html = self.client.get("/desk/").content.decode()
        assert "Campaigns in flight" in html
        assert "1 recipient, not sent yet" in html

    def test_an_outsider_cannot_see_it(self) -> None:
        assert self.client_for(self.charlie).get("/desk/").status_code == 403
