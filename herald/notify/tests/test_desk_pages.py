"""The desk's channel and subscriber pages: who may change what, forms, masking, escaping."""

from __future__ import annotations

from typing import Any, cast

import pytest
from django.contrib.auth.models import AbstractUser, User
from django.test import Client

from herald.audit.models import AuditEvent
from herald.core.errors import HeraldError
from herald.core.models import Product, VendorProfile
from herald.notify import actions
from herald.notify.models import Channel, Delivery, Message, Subscriber
from herald.test import HeraldTestCase

CHANNELS = "/desk/notify/channels/"
NEW_CHANNEL = "/desk/notify/channels/new/"
SUBSCRIBERS = "/desk/notify/subscribers/"
NEW_SUBSCRIBER = "/desk/notify/subscribers/new/"

SLACK_URL = "https://hooks.slack.com/services/T0AAAAAAA/B0BBBBBBB/slackTokenXyZ123456789"
HOOK_URL = "https://partner.example/hooks/herald?token=pathTokenQ7Q7Q7Q7"
SECRET = "whsec-0123456789-abcdefghij"
SMTP_PASSWORD = "smtp-pa55word-kept"
HOSTILE = "<script>alert(1)</script>"


class DeskPagesTestCase(HeraldTestCase):
    def as_(self, user: AbstractUser) -> Client:
        client = Client()
        client.force_login(cast(User, user))
        return client

    def webhook(self, name: str = "partner-feed", **kwargs: Any) -> Channel:
        return actions.do_create_channel(
            name=name, kind="webhook", config={"url": HOOK_URL, "secret": SECRET},
            acting_user=self.alice, **kwargs,
        )  # fmt: skip

    def add_channel(self, **form: Any) -> Any:
        return self.as_(self.alice).post(NEW_CHANNEL, form)


class ChannelFormTests(DeskPagesTestCase):
    def test_an_admin_adds_an_internal_email_channel(self) -> None:
        response = self.add_channel(
            name="security-team", kind="email", to="sec@northwind.example, ops@northwind.example",
            internal="on", events=["incident.declared"],
        )  # fmt: skip
        assert response.status_code == 302 and response["Location"] == CHANNELS
        channel = Channel.objects.get(name="security-team")
        assert channel.kind == "email"
        assert channel.config == {"to": ["sec@northwind.example", "ops@northwind.example"]}
        assert channel.events == ["incident.declared"]
        assert "security-team" in (VendorProfile.get().internal_channels or [])
        event = AuditEvent.objects.get(action="channel.create")
        assert event.actor == "alice"
        page = self.as_(self.alice).get(CHANNELS).content.decode()
        assert "ops@northwind.example" in page and "Internal" in page

    def test_an_admin_adds_a_slack_channel_whose_url_is_never_shown_in_full(self) -> None:
        response = self.add_channel(name="tell-anything", kind="slack", url=SLACK_URL)
        assert response.status_code == 302
        assert Channel.objects.get(name="tell-anything").config == {"url": SLACK_URL}
        page = self.as_(self.alice).get(CHANNELS).content.decode()
        assert "tell-anything" in page and "Subscriber channel" in page
        assert "https://hooks.slack.com/…6789" in page  # where it goes, and which one
        assert "slackToken" not in page and "B0BBBBBBB" not in page

    def test_an_admin_adds_a_webhook_channel_whose_secret_is_never_shown(self) -> None:
        response = self.add_channel(
            name="partner-feed", kind="webhook", url=HOOK_URL, secret=SECRET
        )
        assert response.status_code == 302
        assert Channel.objects.get(name="partner-feed").config == {
            "url": HOOK_URL,
            "secret": SECRET,
        }
        for user in (self.alice, self.bob):
            page = self.as_(user).get(CHANNELS).content.decode()
            assert "partner-feed" in page and "https://partner.example/" in page
            assert SECRET not in page and SECRET[-6:] not in page
            assert "pathToken" not in page

    def test_an_email_channels_smtp_password_is_masked(self) -> None:
        smtp_url = f"smtp://mailer:{SMTP_PASSWORD}@smtp.northwind.example:587?starttls=1"
        response = self.add_channel(
            name="own-smtp", kind="email", to="sec@northwind.example", smtp_url=smtp_url
        )
        assert response.status_code == 302
        page = self.as_(self.alice).get(CHANNELS).content.decode()
        assert "smtp://mailer:••••@smtp.northwind.example:587" in page
        assert SMTP_PASSWORD not in page

    def test_an_invalid_url_is_named_on_the_form_and_nothing_is_written(self) -> None:
        response = self.add_channel(
            name="partner-feed", kind="webhook", url="ftp://partner.example/hook", secret=SECRET
        )
        assert response.status_code == 400
        page = response.content.decode()
        assert "Nothing was saved." in page
        assert "URL</a>: &#x27;ftp://partner.example/hook&#x27; is not an http(s) URL." in page
        assert SECRET not in page  # not echoed back into the form either
        assert not Channel.objects.exists()
        assert not AuditEvent.objects.filter(action="channel.create").exists()

    def test_a_short_secret_and_a_bad_address_are_each_named(self) -> None:
        response = self.add_channel(
            name="partner-feed", kind="webhook", url=HOOK_URL, secret="too-short"
        )
        assert response.status_code == 400
        assert "Signing secret</a>: Use a secret of at least 16 characters." in (
            response.content.decode()
        )
        response = self.add_channel(name="team", kind="email", to="sec@northwind.example nobody")
        assert response.status_code == 400
        assert "E-mail addresses</a>: &#x27;nobody&#x27; is not a valid e-mail address." in (
            response.content.decode()
        )
        assert not Channel.objects.exists()

    def test_a_port_that_is_not_a_number_is_named_not_a_server_error(self) -> None:
        response = self.add_channel(name="hook", kind="webhook", url="https://partner.example:x/")
        assert response.status_code == 400
        assert "URL</a>: Not a URL: check its host and port." in response.content.decode()
        response = self.add_channel(
            name="team", kind="email", to="a@northwind.example", smtp_url="smtp://mail:x"
        )
        assert response.status_code == 400
        page = response.content.decode()
        assert "SMTP server</a>: &#x27;smtp://mail:x&#x27; is not smtp:// or smtps://." in page
        assert "(the port is not a number)" in page
        assert not Channel.objects.exists()

    def test_a_field_of_another_kind_is_refused_rather_than_dropped(self) -> None:
        response = self.add_channel(name="team", kind="slack", url=SLACK_URL, secret=SECRET)
        assert response.status_code == 400
        assert "Signing secret is not used by Slack channels." in response.content.decode()
        response = self.add_channel(name="team", kind="email")
        assert "An e-mail channel needs at least one address." in response.content.decode()
        assert not Channel.objects.exists()

    def test_a_name_already_taken_is_refused(self) -> None:
        self.webhook()
        response = self.add_channel(name="partner-feed", kind="slack", url=SLACK_URL)
        assert response.status_code == 400
        assert (
            "A channel named &#x27;partner-feed&#x27; exists already." in response.content.decode()
        )
        assert Channel.objects.get().kind == "webhook"

    def test_the_form_needs_its_csrf_token(self) -> None:
        client = Client(enforce_csrf_checks=True)
        client.force_login(cast(User, self.alice))
        response = client.post(NEW_CHANNEL, {"name": "team", "kind": "slack", "url": SLACK_URL})
        assert response.status_code == 403
        assert not Channel.objects.exists()
        form = client.get(NEW_CHANNEL).content.decode()
        assert 'name="csrfmiddlewaretoken"' in form
        assert '<label for="id_url">URL:</label>' in form  # every input has its label


class ChannelActionTests(DeskPagesTestCase):
    def test_a_test_message_is_queued_as_a_delivery_row(self) -> None:
        channel = self.webhook()
        response = self.as_(self.alice).post(f"{CHANNELS}{channel.pk}/test/")
        assert response.status_code == 302
        delivery = Delivery.objects.get(channel=channel)
        assert delivery.status == Delivery.Status.PENDING
        assert delivery.recipient == HOOK_URL
        assert delivery.message.source == Message.Source.TEST
        assert AuditEvent.objects.get(action="channel.test").actor == "alice"
        page = self.as_(self.alice).get(CHANNELS).content.decode()
        assert f'href="/desk/notify/deliveries/{delivery.pk}/">Pending</a>' in page

    def test_an_email_channel_gets_one_test_delivery_per_address(self) -> None:
        to = ["a@northwind.example", "b@northwind.example"]
        channel = actions.do_create_channel(
            name="team", kind="email", config={"to": to}, acting_user=self.alice
        )
        self.as_(self.alice).post(f"{CHANNELS}{channel.pk}/test/")
        recipients = Delivery.objects.filter(channel=channel).values_list("recipient", flat=True)
        assert sorted(recipients) == ["a@northwind.example", "b@northwind.example"]

    def test_an_admin_disables_a_channel_saying_why_and_enables_it_again(self) -> None:
        channel = self.webhook()
        client = self.as_(self.alice)
        client.post(f"{CHANNELS}{channel.pk}/disable/", {"reason": "Partner rotates its keys"})
        channel.refresh_from_db()
        assert not channel.enabled and channel.disabled_reason == "Partner rotates its keys"
        page = client.get(CHANNELS).content.decode()
        assert "Disabled</span>: Partner rotates its keys" in page
        # A disabled channel is sent nothing, not even a test.
        client.post(f"{CHANNELS}{channel.pk}/test/")
        assert not Delivery.objects.exists()
        assert "partner-feed is disabled; enable it first." in client.get(CHANNELS).content.decode()
        client.post(f"{CHANNELS}{channel.pk}/enable/")
        channel.refresh_from_db()
        assert channel.enabled and channel.disabled_reason == ""
        actions_done = list(
            AuditEvent.objects.filter(action__startswith="channel.").values_list("action", "actor")
        )
        assert actions_done[1:] == [("channel.disable", "alice"), ("channel.enable", "alice")]

    def test_disabling_needs_a_reason(self) -> None:
        channel = self.webhook()
        client = self.as_(self.alice)
        client.post(f"{CHANNELS}{channel.pk}/disable/", {"reason": "  "})
        channel.refresh_from_db()
        assert channel.enabled
        assert "Say why the channel is disabled." in client.get(CHANNELS).content.decode()

    def test_a_responder_sees_the_channels_but_cannot_change_them(self) -> None:
        channel = self.webhook()
        client = self.as_(self.bob)
        page = client.get(CHANNELS).content.decode()
        assert "partner-feed" in page and "Only admins add" in page
        assert NEW_CHANNEL not in page and "/disable/" not in page and "/test/" not in page
        assert client.get(NEW_CHANNEL).status_code == 403
        response = client.post(NEW_CHANNEL, {"name": "mine", "kind": "slack", "url": SLACK_URL})
        assert response.status_code == 403
        for verb, data in (("disable", {"reason": "because"}), ("test", {}), ("enable", {})):
            assert client.post(f"{CHANNELS}{channel.pk}/{verb}/", data).status_code == 403
        channel.refresh_from_db()
        assert channel.enabled and Channel.objects.count() == 1
        assert not Delivery.objects.exists()
        assert not AuditEvent.objects.filter(actor="bob", action__startswith="channel.").exists()

    def test_support_viewers_and_outsiders_do_not_see_the_channels(self) -> None:
        self.webhook()
        for user in (self.sam, self.vera, self.charlie):
            assert self.as_(user).get(CHANNELS).status_code == 403
        assert Client().get(CHANNELS).status_code == 302  # anonymous: to the login page

    def test_the_action_itself_refuses_a_responder(self) -> None:
        channel = self.webhook()
        with pytest.raises(HeraldError, match="bob may not disable or enable a channel"):
            actions.do_set_channel_enabled(
                channel, enabled=False, reason="because", acting_user=self.bob
            )
        channel.refresh_from_db()
        assert channel.enabled

    def test_hostile_text_is_shown_escaped(self) -> None:
        channel = self.webhook()
        client = self.as_(self.alice)
        client.post(f"{CHANNELS}{channel.pk}/disable/", {"reason": HOSTILE})
        page = client.get(CHANNELS).content.decode()
        assert HOSTILE not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
        response = self.add_channel(name=HOSTILE, kind="slack", url=SLACK_URL)
        assert response.status_code == 400
        assert HOSTILE not in response.content.decode()
        assert (
            "Use letters, digits, - and _ for a channel&#x27;s name." in response.content.decode()
        )


class SubscriberPageTests(DeskPagesTestCase):
    def test_a_responder_adds_and_removes_a_webhook_subscriber(self) -> None:
        channel = self.webhook()
        client = self.as_(self.bob)
        form = client.get(NEW_SUBSCRIBER).content.decode()
        assert f'<option value="{channel.pk}"' in form
        response = client.post(
            NEW_SUBSCRIBER, {"channel": channel.pk, "products": ["cloud"], "min_severity": "high"}
        )
        assert response.status_code == 302 and response["Location"] == SUBSCRIBERS
        subscriber = Subscriber.objects.get(channel=channel)
        assert subscriber.status == Subscriber.Status.ACTIVE
        assert subscriber.min_severity == "high"
        assert [p.slug for p in subscriber.products.all()] == ["cloud"]
        page = client.get(SUBSCRIBERS).content.decode()
        assert "partner-feed (Webhook)" in page and "Northwind Cloud" in page and "High" in page
        # Subscribed once: the channel is not offered a second time.
        assert f'<option value="{channel.pk}"' not in client.get(NEW_SUBSCRIBER).content.decode()

        response = client.post(f"{SUBSCRIBERS}{subscriber.pk}/remove/", {"status": "active"})
        assert response["Location"] == f"{SUBSCRIBERS}?status=active"  # back to the same list
        assert "partner-feed (webhook) is unsubscribed." in client.get(SUBSCRIBERS).content.decode()
        subscriber.refresh_from_db()
        assert subscriber.status == Subscriber.Status.UNSUBSCRIBED
        assert subscriber.unsubscribed_at is not None
        assert AuditEvent.objects.get(action="subscriber.remove").actor == "bob"
        assert "partner-feed" not in client.get(f"{SUBSCRIBERS}?status=active").content.decode()
        assert "partner-feed" in client.get(f"{SUBSCRIBERS}?status=unsubscribed").content.decode()

    def test_internal_email_and_disabled_channels_are_not_offered(self) -> None:
        internal = self.webhook("internal-hook", internal=True)
        email = actions.do_create_channel(
            name="team", kind="email", config={"to": ["a@northwind.example"]},
            acting_user=self.alice,
        )  # fmt: skip
        disabled = self.webhook("gone-hook")
        actions.do_set_channel_enabled(disabled, enabled=False, reason="gone", acting_user=None)
        client = self.as_(self.bob)
        assert (
            "Add a Slack or webhook subscriber</a>" not in client.get(SUBSCRIBERS).content.decode()
        )
        for channel in (internal, email, disabled):
            response = client.post(NEW_SUBSCRIBER, {"channel": channel.pk})
            assert response.status_code == 400
            assert "Select a valid choice." in response.content.decode()
        assert not Subscriber.objects.exists()

    def test_the_list_filters_by_state_and_pages(self) -> None:
        for i in range(102):
            actions.do_subscribe(f"reader{i:03}@example.net")
        confirmed = Subscriber.objects.get(email="reader000@example.net")
        actions.do_confirm_subscription(confirmed.token)
        client = self.as_(self.bob)
        row = '<tr><th scope="row">'
        first = client.get(SUBSCRIBERS).content.decode()
        assert first.count(row) == 100 and "reader101@example.net" in first  # newest first
        assert 'href="?page=2">More</a>' in first
        second = client.get(f"{SUBSCRIBERS}?page=2").content.decode()
        assert second.count(row) == 2 and "reader000@example.net" in second
        active = client.get(f"{SUBSCRIBERS}?status=active").content.decode()
        assert active.count(row) == 1 and "reader000@example.net" in active
        pending = client.get(f"{SUBSCRIBERS}?status=pending").content.decode()
        assert pending.count(row) == 100 and "reader000@example.net" not in pending
        assert 'href="?status=pending&amp;page=2">More</a>' in pending
        pending = client.get(f"{SUBSCRIBERS}?status=pending&page=2").content.decode()
        assert pending.count(row) == 1 and "reader001@example.net" in pending

    def test_support_may_not_remove_a_subscriber(self) -> None:
        actions.do_subscribe("reader@example.net")
        subscriber = Subscriber.objects.get()
        for user in (self.sam, self.vera, self.charlie):
            client = self.as_(user)
            assert client.get(SUBSCRIBERS).status_code == 403
            assert client.post(f"{SUBSCRIBERS}{subscriber.pk}/remove/").status_code == 403
        subscriber.refresh_from_db()
        assert subscriber.status == Subscriber.Status.PENDING
        with pytest.raises(HeraldError, match="sam may not remove a subscriber"):
            actions.do_remove_subscriber(subscriber, acting_user=self.sam)

    def test_hostile_product_names_are_shown_escaped(self) -> None:
        Product.objects.create(name=HOSTILE, slug="hostile")
        self.webhook()
        client = self.as_(self.bob)
        channel = Channel.objects.get()
        client.post(NEW_SUBSCRIBER, {"channel": channel.pk, "products": ["hostile"]})
        for url in (SUBSCRIBERS, NEW_SUBSCRIBER):
            page = client.get(url).content.decode()
            assert HOSTILE not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in client.get(SUBSCRIBERS).content.decode()

    def test_the_notify_desk_links_to_both_pages(self) -> None:
        page = self.as_(self.bob).get("/desk/notify/campaigns/").content.decode()
        assert f'<a href="{CHANNELS}">Channels</a>' in page
        assert f'<a href="{SUBSCRIBERS}">Subscribers</a>' in page
