"""Rule 4 and outreach campaigns: selection by affected scope, approval, sending, the desk."""

from __future__ import annotations

from typing import Any, cast

import pytest
from django.contrib.auth.models import User
from django.test import override_settings

from herald.advisories.models import Advisory
from herald.audit.models import AuditEvent
from herald.core.errors import HeraldError
from herald.core.models import Product
from herald.incidents.models import IncidentEvent
from herald.notify import actions, delivery
from herald.notify.customer_files import parse_customer_file
from herald.notify.models import Campaign, Delivery
from herald.notify.tests.peers import smtp_server
from herald.publication.actions import do_publish_advisory
from herald.test import HeraldTestCase

HEADER = "customer_id,organisation,region,contact_email,contact_name,contact_role,product,"
HEADER += "deployment"
CUSTOMERS = (
    HEADER
    + """,version
acme,Acme Corp,EU,sec@acme.example,Ana,CISO,cloud,cloud,
acme,,,ops@acme.example,Otto,,,,
globex,Globex,US,it@globex.example,,,cloud,cloud,
initech,Initech,EU,bill@initech.example,,,agent,self_hosted,1.2.0
umbrella,Umbrella,EU,sec@umbrella.example,,,agent,self_hosted,1.5.0
hooli,Hooli,,cto@hooli.example,,,agent,self_hosted,
"""
)

EXPOSED: dict[str, Any] = {
    "confirmed_exposure": True,
    "affected_users": "Cloud customers in the EU region, and self-hosted agents before 1.4.",
    "affected_regions": ["EU"],
    "affected": [
        {"product": "cloud", "deployment": "cloud", "region": "EU"},
        {"product": "agent", "deployment": "self_hosted", "introduced": "1.0", "fixed": "1.4.0"},
    ],
}


class CampaignTestCase(HeraldTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        Product.objects.create(name="Northwind Agent", slug="agent")
        actions.do_import_customers(parse_customer_file(CUSTOMERS), acting_user=cls.alice)

    def exposed(self, **overrides: Any) -> Advisory:
        return self.published(**{**EXPOSED, **overrides})


class Rule4Tests(CampaignTestCase):
    def test_publishing_with_a_confirmed_exposure_creates_the_campaign_in_the_same_step(
        self,
    ) -> None:
        advisory = self.exposed()
        campaign = Campaign.objects.get(advisory=advisory)
        assert campaign.status == Campaign.Status.DRAFT  # a person approves and sends it
        assert advisory.identifier in campaign.subject
        assert Delivery.objects.filter(campaign=campaign).count() == 0  # nothing mailed yet
        event = IncidentEvent.objects.filter(incident=advisory.incident).last()
        assert event is not None and f"outreach campaign {campaign.pk}" in event.message
        assert AuditEvent.objects.filter(action="campaign.create").count() == 1

    def test_required_user_action_alone_also_creates_it(self) -> None:
        advisory = self.exposed(confirmed_exposure=False, user_action_required=True)
        assert "action required" in advisory.campaigns.get().subject

    def test_a_waiver_publishes_without_a_campaign_and_records_who_and_why(self) -> None:
        draft = self.draft(**EXPOSED)
        advisory = do_publish_advisory(
            draft, acting_user=self.alice, outreach_waiver_reason="Only our test tenant."
        )
        assert not advisory.campaigns.exists()
        assert (advisory.outreach_waived_by, advisory.outreach_waiver_reason) == (
            "alice",
            "Only our test tenant.",
        )

    def test_advisories_without_exposure_get_no_campaign(self) -> None:
        assert not self.published().campaigns.exists()


class SelectionTests(CampaignTestCase):
    def test_the_campaign_selects_customers_by_product_deployment_region_and_version(
        self,
    ) -> None:
        campaign = self.exposed().campaigns.get()
        chosen = {r.email: r.reason for r in campaign.recipients.all()}
        # Acme (cloud, EU; both contacts), Initech (agent 1.2.0 < 1.4.0), Hooli (version
        # unknown: told). Not Globex (US) nor Umbrella (1.5.0 is fixed).
        assert sorted(chosen) == [
            "bill@initech.example",
            "cto@hooli.example",
            "ops@acme.example",
            "sec@acme.example",
        ]
        assert "in EU" in chosen["sec@acme.example"]
        assert ">= 1.0, < 1.4.0" in chosen["bill@initech.example"]
        assert "version not recorded" in chosen["cto@hooli.example"]

    def test_refreshing_picks_up_customers_imported_since(self) -> None:
        campaign = self.exposed().campaigns.get()
        extra = "customer_id,organisation,region,contact_email,product,deployment\n"
        extra += "stark,Stark,EU,tony@stark.example,cloud,cloud\n"
        actions.do_import_customers(parse_customer_file(extra), acting_user=self.alice)
        assert actions.do_refresh_campaign(campaign, acting_user=self.bob) == 5


class SendingTests(CampaignTestCase):
    def test_an_approved_campaign_is_sent_and_tracked_recipient_by_recipient(self) -> None:
        campaign = self.exposed().campaigns.get()
        with (
            smtp_server(refuse={"cto@hooli.example": "550 no such user"}) as sink,
            override_settings(HERALD_SMTP_URL=f"smtp://127.0.0.1:{sink.port}"),
        ):
            actions.do_approve_campaign(campaign, acting_user=self.alice)
            actions.do_send_campaign(campaign, acting_user=self.alice)
            stats = delivery.drain(seconds=10, sessions=1)
        assert (stats["sent"], stats["dead"]) == (3, 1)
        assert sorted(str(m["To"]) for m in sink.messages) == [
            "bill@initech.example",
            "ops@acme.example",
            "sec@acme.example",
        ]
        ids = [m["Message-ID"] for m in sink.messages]
        assert len(set(ids)) == 3
        assert "List-Unsubscribe" not in sink.messages[0]  # a notice, not a newsletter

    def test_a_campaign_is_sent_only_after_approval(self) -> None:
        campaign = self.exposed().campaigns.get()
        with pytest.raises(HeraldError, match="awaiting approval"):
            actions.do_send_campaign(campaign, acting_user=self.alice)
        assert not Delivery.objects.filter(campaign=campaign).exists()

    def test_sending_twice_writes_no_second_delivery(self) -> None:
        campaign = self.exposed().campaigns.get()
        actions.do_approve_campaign(campaign, acting_user=self.alice)
        actions.do_send_campaign(campaign, acting_user=self.alice)
        with pytest.raises(HeraldError, match="is sent"):
            actions.do_send_campaign(campaign, acting_user=self.alice)
        assert Delivery.objects.filter(campaign=campaign).count() == 4


class DeskTests(CampaignTestCase):
    def sent_campaign(self) -> Campaign:
        campaign = self.exposed().campaigns.get()
        with (
            smtp_server(refuse={"cto@hooli.example": "550 no such user"}) as sink,
            override_settings(HERALD_SMTP_URL=f"smtp://127.0.0.1:{sink.port}"),
        ):
            self.client.force_login(cast(User, self.bob))
            self.client.post(f"/desk/notify/campaigns/{campaign.pk}/approve/")
            self.client.post(f"/desk/notify/campaigns/{campaign.pk}/send/")
            delivery.drain(seconds=10, sessions=1)
        return campaign

    def test_the_campaign_page_shows_progress_who_and_why(self) -> None:
        campaign = self.sent_campaign()
        page = self.client.get(f"/desk/notify/campaigns/{campaign.pk}/").content.decode()
        assert "Sent: 3" in page and "Dead: 1" in page and "Pending: 0" in page
        assert "Acme Corp" in page and "version not recorded" in page
        assert "Re-drive 1 dead" in page

    def test_staff_can_redrive_the_dead_from_the_campaign_page(self) -> None:
        campaign = self.sent_campaign()
        self.client.post(f"/desk/notify/campaigns/{campaign.pk}/redrive/")
        assert Delivery.objects.get(recipient="cto@hooli.example").status == "pending"

    def test_a_customers_page_lists_every_advisory_they_were_told_about(self) -> None:
        campaign = self.sent_campaign()
        acme = campaign.recipients.get(email="sec@acme.example").customer
        page = self.client.get(f"/desk/notify/customers/{acme.pk}/").content.decode()
        assert campaign.advisory.identifier in page
        assert "sec@acme.example" in page and "ops@acme.example" in page

    def test_a_deliverys_page_shows_its_history(self) -> None:
        self.sent_campaign()
        dead = Delivery.objects.get(recipient="cto@hooli.example")
        page = self.client.get(f"/desk/notify/deliveries/{dead.pk}/").content.decode()
        assert "550 no such user" in page
        assert dead.rfc_message_id.strip("<>") in page

    def test_the_deliveries_page_lists_every_delivery_and_filters_by_status(self) -> None:
        self.sent_campaign()
        sent = Delivery.objects.filter(status=Delivery.Status.SENT).first()
        dead = Delivery.objects.get(recipient="cto@hooli.example")
        assert sent is not None and dead.status == Delivery.Status.DEAD
        every = self.client.get("/desk/notify/deliveries/").content.decode()
        assert f">{sent.pk}</a>" in every and f">{dead.pk}</a>" in every
        only_dead = self.client.get("/desk/notify/deliveries/?status=dead").content.decode()
        assert f">{dead.pk}</a>" in only_dead and f">{sent.pk}</a>" not in only_dead
        # With a mail server "sent" means sent; without one the page says where mail went.
        with override_settings(HERALD_SMTP_URL="smtp://127.0.0.1:2525"):
            served = self.client.get("/desk/notify/deliveries/").content.decode()
        assert "Nothing reached its recipients" not in served
        with override_settings(HERALD_SMTP_URL=""):
            local = self.client.get("/desk/notify/deliveries/").content.decode()
        assert "went to the local outbox" in local and "Nothing reached its recipients" in local

    def test_only_staff_see_the_notify_desk(self) -> None:
        for path in ("/desk/notify/campaigns/", "/desk/notify/customers/",
                     "/desk/notify/deliveries/"):  # fmt: skip
            self.client.logout()
            assert self.client.get(path).status_code == 302  # anonymous: to the login page
            self.client.force_login(cast(User, self.charlie))
            assert self.client.get(path).status_code == 403
            self.client.force_login(cast(User, self.bob))
            assert self.client.get(path).status_code == 200
