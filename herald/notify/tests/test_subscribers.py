"""Public subscription: double opt-in, filters, RFC 8058 one-click unsubscribe, preferences."""

from __future__ import annotations

from django.test import override_settings

from herald.core.models import Product
from herald.notify import delivery
from herald.notify.models import Delivery, Subscriber
from herald.notify.tests.peers import smtp_server
from herald.test import HeraldTestCase


class SubscriptionTests(HeraldTestCase):
    def sign_up(self, email: str, **filters: object) -> Subscriber:
        response = self.client.post("/security/subscribe/", {"email": email, **filters})
        assert response.status_code == 200 and b"Check your inbox" in response.content
        return Subscriber.objects.get(email=email)

    def confirm(self, subscriber: Subscriber) -> None:
        url = f"/security/subscribe/confirm/{subscriber.token}/"
        assert self.client.get(url).status_code == 200  # a mail scanner's GET confirms nothing
        assert Subscriber.objects.get(pk=subscriber.pk).status == "pending"
        self.client.post(url)

    def test_signing_up_sends_a_confirmation_and_nothing_else_until_confirmed(self) -> None:
        subscriber = self.sign_up("ana@example.org")
        confirmation = Delivery.objects.get(recipient="ana@example.org")
        assert subscriber.token in confirmation.message.text
        self.published()
        assert Delivery.objects.filter(recipient="ana@example.org").count() == 1
        self.confirm(subscriber)
        self.published(title="A second advisory")
        assert Delivery.objects.filter(recipient="ana@example.org").count() == 2

    def test_the_confirmation_names_a_vendor_ending_in_s_without_a_possessive(self) -> None:
        from herald.core.models import VendorProfile

        VendorProfile.objects.update(name="Northwind Analytics")
        subscriber = self.sign_up("ana@example.org")
        text = Delivery.objects.get(recipient="ana@example.org").message.text
        page = self.client.get(f"/security/subscribe/confirm/{subscriber.token}/")
        for said in (text, page.content.decode()):
            assert "Analytics's" not in said and "Analytics'" not in said
            assert "security advisories from Northwind Analytics" in said

    def test_the_sign_up_page_tells_a_visitor_nothing_about_the_desks_mail(self) -> None:
        # Whether the desk has a mail server, and where staff read what it keeps,
        # is the desk's business: the public page is the same either way.
        pages = []
        for email, url in (("kim@example.org", ""), ("lee@example.org", "smtp://127.0.0.1:2525")):
            with override_settings(HERALD_SMTP_URL=url):
                response = self.client.post("/security/subscribe/", {"email": email})
            assert b"Check your inbox" in response.content
            for secret in (b"outbox", b"/desk/", b"mail server", b"staff"):
                assert secret not in response.content, secret
            pages.append(response.content.decode().split("<main", 1)[1])
        assert pages[0] == pages[1]

    def test_subscribers_filter_by_product_and_minimum_severity(self) -> None:
        Product.objects.create(name="Northwind Agent", slug="agent")
        only_agent = self.sign_up("agent@example.org", products=["agent"])
        only_high = self.sign_up("high@example.org", min_severity="high")
        for sub in (only_agent, only_high):
            self.confirm(sub)
        self.published(severity="medium", affected=[{"product": "cloud"}])
        self.published(title="Agent RCE", severity="critical", cve_ids=[],
                       affected=[{"product": "agent", "deployment": "self_hosted"}])  # fmt: skip
        told = sorted(
            Delivery.objects.filter(message__source="revision").values_list(
                "recipient", "message__subject"
            )
        )
        assert [r for r, _ in told] == ["agent@example.org", "high@example.org"]
        assert all("Agent RCE" in subject for _, subject in told)

    def test_mail_carries_one_click_unsubscribe_headers_and_a_preferences_link(self) -> None:
        subscriber = self.sign_up("ana@example.org")
        self.confirm(subscriber)
        self.published()
        with (
            smtp_server() as sink,
            override_settings(HERALD_SMTP_URL=f"smtp://127.0.0.1:{sink.port}"),
        ):
            delivery.drain(seconds=5, sessions=1)
        advisory_mail = next(m for m in sink.messages if "Published" in str(m["Subject"]))
        unsubscribe = f"/security/unsubscribe/{subscriber.token}/"
        assert unsubscribe in advisory_mail["List-Unsubscribe"]
        assert advisory_mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        body = bytes(advisory_mail.get_payload(decode=True)).decode()
        assert f"/security/subscriptions/{subscriber.token}/" in body
        # RFC 8058: the mail client POSTs this body, with no cookie and no CSRF token.
        self.client.logout()
        response = self.client.post(
            unsubscribe, "List-Unsubscribe=One-Click",
            content_type="application/x-www-form-urlencoded",
        )  # fmt: skip
        assert response.status_code == 200
        assert Subscriber.objects.get(pk=subscriber.pk).status == "unsubscribed"
        self.published(title="After leaving")
        assert not Delivery.objects.filter(
            recipient="ana@example.org", message__subject__contains="After leaving"
        ).exists()

    def test_the_preferences_page_changes_the_filters(self) -> None:
        subscriber = self.sign_up("ana@example.org")
        self.confirm(subscriber)
        url = f"/security/subscriptions/{subscriber.token}/"
        assert b"Active" in self.client.get(url).content
        self.client.post(url, {"min_severity": "critical"})
        assert Subscriber.objects.get(pk=subscriber.pk).min_severity == "critical"

    def test_signing_up_twice_sends_one_confirmation_a_day_and_reveals_nothing(self) -> None:
        self.sign_up("ana@example.org")
        self.sign_up("ana@example.org")
        assert Delivery.objects.filter(recipient="ana@example.org").count() == 1

    def test_one_client_may_sign_up_ten_addresses_an_hour_and_the_eleventh_is_refused(
        self,
    ) -> None:
        for i in range(10):
            self.sign_up(f"reader{i}@example.org")
        response = self.client.post("/security/subscribe/", {"email": "reader10@example.org"})
        assert response.status_code == 429
        assert b"Too many sign-ups in the last hour" in response.content
        assert not Subscriber.objects.filter(email="reader10@example.org").exists()
        assert Delivery.objects.count() == 10
        # Another client is not held back by the first one's sign-ups.
        other = self.client_class(REMOTE_ADDR="192.0.2.7")
        assert other.post("/security/subscribe/", {"email": "x@example.org"}).status_code == 200

    @override_settings(HERALD_SUBSCRIBE_RATE_PER_IP=2)
    def test_the_limit_is_a_setting_and_repeats_of_one_address_count(self) -> None:
        for _ in range(2):
            self.sign_up("ana@example.org")
        response = self.client.post("/security/subscribe/", {"email": "bob@example.org"})
        assert response.status_code == 429
        assert not Subscriber.objects.filter(email="bob@example.org").exists()

    def test_one_address_gets_one_confirmation_a_day_whoever_asks(self) -> None:
        for i in range(5):
            client = self.client_class(REMOTE_ADDR=f"192.0.2.{i + 1}")
            assert (
                client.post("/security/subscribe/", {"email": "ana@example.org"}).status_code == 200
            )
        assert Delivery.objects.filter(recipient="ana@example.org").count() == 1

    def test_an_invalid_address_is_refused_by_the_form(self) -> None:
        response = self.client.post("/security/subscribe/", {"email": "not an address"})
        assert b"Check your inbox" not in response.content
        assert not Subscriber.objects.exists()

    def test_an_unknown_token_is_not_found(self) -> None:
        assert self.client.get("/security/subscriptions/nope/").status_code == 404
