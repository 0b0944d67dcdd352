"""What the actions refuse comes back on the field it is about, and nothing is saved."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from django.utils import timezone

from herald.advisories.models import Advisory
from herald.incidents.models import Incident
from herald.web.tests.base import WebTestCase, form_data

if TYPE_CHECKING:
    from django.test.client import _MonkeyPatchedWSGIResponse as TestResponse


def banner_of(response: TestResponse) -> str:
    assert response.status_code == 400
    html = response.content.decode()
    start = html.index('<div class="form-errors" role="alert">')
    return html[start : html.index("</div>", start)]


class CreateValidationTest(WebTestCase):
    def create(self, **changes: Any) -> TestResponse:
        incident = Incident.objects.filter(status="open").first() or self.declare()
        page = self.client.get("/desk/advisories/new/")
        values = {"incident": incident.pk, "title": "Open redirect on login", **changes}
        return self.client.post("/desk/advisories/new/", form_data(page, **values))

    def test_a_malformed_cve_id_is_shown_on_the_cve_field(self) -> None:
        response = self.create(cve_ids="CVE-26-1")
        assert response.status_code == 400
        errors = response.context["form"].errors
        assert "is not a CVE id" in errors["cve_ids"][0]
        self.assertContains(response, "Nothing was saved.", status_code=400)
        self.assertContains(response, "Open redirect on login", status_code=400)
        assert not Advisory.objects.exists()

    def test_the_banner_names_each_field_in_error_and_links_to_it(self) -> None:
        banner = banner_of(self.create(cve_ids="CVE-26-1"))  # refused by the action
        assert 'href="#id_cve_ids"' in banner and "is not a CVE id" in banner
        banner = banner_of(self.create(reported_at="yesterday", discovered_at="soon"))  # the form
        assert '<a href="#id_reported_at">Reported</a>: Enter a valid date.' in banner
        assert '<a href="#id_discovered_at">Discovered</a>' in banner
        assert 'href="#id_title"' not in banner  # only the fields in error

    def test_the_banner_links_a_table_whose_rows_are_refused(self) -> None:
        response = self.create(
            **{
                "affected-0-product": self.product.pk,
                "affected-0-fixed": "2.0",
                "affected-0-last_affected": "1.9",
                "references-0-url": "not a url",
            }
        )
        banner = banner_of(response)
        assert '<a href="#affected-rows">Affected products and versions</a>' in banner
        assert '<a href="#references-rows">References</a>' in banner
        self.assertContains(response, 'id="affected-rows"', status_code=400)

    def test_a_timeline_out_of_order_is_shown_on_the_later_date(self) -> None:
        response = self.create(discovered_at="2026-03-05", reported_at="2026-03-01")
        assert response.status_code == 400
        assert "is before discovered" in response.context["form"].errors["reported_at"][0]
        assert not Advisory.objects.exists()

    def test_status_fixed_without_a_fixed_date_is_shown_on_the_fixed_date(self) -> None:
        response = self.create(status="fixed")
        assert "needs the date it was fixed" in response.context["form"].errors["fixed_at"][0]
        assert not Advisory.objects.exists()

    def test_an_unreadable_date_is_refused_by_the_form(self) -> None:
        response = self.create(reported_at="yesterday")
        assert "reported_at" in response.context["form"].errors
        assert not Advisory.objects.exists()

    def test_a_bad_affected_row_is_shown_above_the_affected_table(self) -> None:
        response = self.create(
            **{
                "affected-0-product": self.product.pk,
                "affected-0-fixed": "2.0",
                "affected-0-last_affected": "1.9",
            }
        )
        assert response.status_code == 400
        [message] = response.context["rows"].errors["affected"]
        assert "Row 1" in message
        assert "not both" in message
        self.assertContains(response, "not both", status_code=400)
        assert not Advisory.objects.exists()

    def test_a_non_http_reference_is_shown_above_the_references_table(self) -> None:
        response = self.create(**{"references-0-url": "javascript:alert(1)"})
        assert "is not an http(s) URL" in response.context["rows"].errors["references"][0]
        assert not Advisory.objects.exists()

    def test_it_asks_which_incident_when_several_are_open(self) -> None:
        self.declare("First")
        self.declare("Second")
        page = self.client.get("/desk/advisories/new/")
        response = self.client.post("/desk/advisories/new/", form_data(page, title="Orphan"))
        assert "Choose the incident" in response.context["form"].errors["incident"][0]
        assert not Advisory.objects.exists()

    def test_it_declares_an_incident_when_none_is_open(self) -> None:
        page = self.client.get("/desk/advisories/new/")
        response = self.client.post("/desk/advisories/new/", form_data(page, title="Orphan"))
        advisory = Advisory.objects.get()
        self.assertRedirects(response, f"/desk/advisories/{advisory.identifier}/")
        assert advisory.incident.auto_declared


class StepValidationTest(WebTestCase):
    def test_publishing_with_missing_fields_lists_each_and_keeps_the_draft(self) -> None:
        advisory = self.draft(description="", affected_users="")
        url = f"/desk/advisories/{advisory.identifier}/publish/"
        # Refused: the page offers the way to fix it, not a button that cannot work.
        page = self.client.get(url).content.decode()
        assert "Publishing is refused until these are fixed" in page
        assert "Publish now" not in page and f"Edit {advisory.identifier} first" in page
        assert (
            "Publish now"
            in self.client.get(
                f"/desk/advisories/{self.draft().identifier}/publish/"
            ).content.decode()
        )
        response = self.client.post(url, form_data(self.client.get(url)))
        assert response.status_code == 400
        errors = response.context["form"].non_field_errors()
        assert "Description: Publishing needs a description." in errors
        assert "Affected users: Publishing needs who is affected." in errors
        advisory.refresh_from_db()
        assert advisory.state == "draft"

    def test_publishing_with_a_confirmed_exposure_creates_the_outreach_campaign(self) -> None:
        advisory = self.draft(confirmed_exposure=True)
        url = f"/desk/advisories/{advisory.identifier}/publish/"
        page = self.client.get(url)
        self.assertContains(page, "Reason to waive outreach")
        self.assertNotContains(page, "Reason to lift the embargo early")
        response = self.client.post(url, form_data(page))
        assert response.status_code == 302
        advisory = Advisory.objects.get(pk=advisory.pk)
        assert advisory.campaigns.get().status == "draft"  # rule 4: approved and sent by a person
        assert not advisory.outreach_waived_by

    def test_a_waiver_publishes_without_outreach_and_records_who(self) -> None:
        advisory = self.draft(confirmed_exposure=True)
        url = f"/desk/advisories/{advisory.identifier}/publish/"
        page = self.client.get(url)
        response = self.client.post(
            url, form_data(page, outreach_waiver_reason="Only test tenants were exposed.")
        )
        assert response.status_code == 302
        advisory = Advisory.objects.get(pk=advisory.pk)
        assert advisory.outreach_waived_by == "bob"
        assert not advisory.campaigns.exists()

    def test_publishing_under_embargo_asks_for_the_reason_to_lift_it(self) -> None:
        advisory = self.draft(embargo_until=timezone.now() + dt.timedelta(days=2))
        url = f"/desk/advisories/{advisory.identifier}/publish/"
        page = self.client.get(url)
        self.assertNotContains(page, "Reason to waive outreach")
        response = self.client.post(url, form_data(page))
        assert "under embargo" in response.context["form"].errors["lift_embargo_reason"][0]
        response = self.client.post(
            url, form_data(page, lift_embargo_reason="Exploited in the wild.")
        )
        assert response.status_code == 302

    def test_changing_a_public_advisory_needs_a_change_summary(self) -> None:
        advisory = self.published()
        url = f"/desk/advisories/{advisory.identifier}/edit/"
        page = self.client.get(url)
        self.assertContains(page, "saving writes a new revision")
        response = self.client.post(url, form_data(page, title="A better title"))
        assert "say what changed" in response.context["form"].errors["change_summary"][0]
        advisory.refresh_from_db()
        assert advisory.title == "Stored XSS in dashboard names"

    def test_saving_without_a_change_says_nothing_changed(self) -> None:
        advisory = self.draft()
        url = f"/desk/advisories/{advisory.identifier}/edit/"
        response = self.client.post(url, form_data(self.client.get(url)))
        assert "Nothing changed" in response.context["form"].non_field_errors()[0]

    def test_scheduling_in_the_past_is_shown_on_the_time_field(self) -> None:
        advisory = self.draft()
        url = f"/desk/advisories/{advisory.identifier}/schedule/"
        page = self.client.get(url)
        response = self.client.post(url, form_data(page, scheduled_publish_at="2020-01-01T10:00"))
        assert "future" in response.context["form"].errors["scheduled_publish_at"][0]

    def test_scheduling_records_the_time(self) -> None:
        advisory = self.draft()
        url = f"/desk/advisories/{advisory.identifier}/schedule/"
        when = timezone.now() + dt.timedelta(days=3)
        response = self.client.post(
            url, form_data(self.client.get(url), scheduled_publish_at=f"{when:%Y-%m-%dT%H:%M}")
        )
        assert response.status_code == 302
        advisory.refresh_from_db()
        assert advisory.scheduled_publish_at == when.replace(second=0, microsecond=0)
        self.assertContains(self.client.get("/desk/"), f"{when:%Y-%m-%d %H:%M}")

    def test_withdrawing_needs_a_reason(self) -> None:
        advisory = self.published()
        url = f"/desk/advisories/{advisory.identifier}/withdraw/"
        response = self.client.post(url, form_data(self.client.get(url)))
        assert "reason" in response.context["form"].errors
        advisory.refresh_from_db()
        assert advisory.state == "published"

    def test_marking_fixed_needs_the_resolution_of_a_public_advisory(self) -> None:
        advisory = self.published(status="reported", fixed_at=None, resolution="")
        url = f"/desk/advisories/{advisory.identifier}/fix/"
        response = self.client.post(url, form_data(self.client.get(url), fixed_at="2026-01-12"))
        assert "resolution" in response.context["form"].errors
        advisory.refresh_from_db()
        assert advisory.status == "reported"
