"""Where mail goes: every sender uses the one transport, SMTP when set, else the local outbox."""

from __future__ import annotations

import email
import email.policy
import json
from io import StringIO

from django.core.management import call_command
from django.test import override_settings

from herald.core.mail import where_mail_goes
from herald.core.models import LocalMail
from herald.intake.models import ReportMessage
from herald.intake.tests.base import REPORTER, IntakeTestCase
from herald.notify import delivery
from herald.notify.models import Delivery, Subscriber
from herald.notify.tests.peers import smtp_server

SUBSCRIBER = "ana@example.org"
NO_SMTP = override_settings(HERALD_SMTP_URL="")  # the embedded default


class Transport(IntakeTestCase):
    def acknowledge_a_report(self) -> ReportMessage:
        report = self.submit()  # the worker runs the queued acknowledgement
        return report.messages.get(kind="to_reporter")

    def subscribe(self) -> Subscriber:
        with self.committing():
            response = self.client.post("/security/subscribe/", {"email": SUBSCRIBER})
        assert response.status_code == 200
        delivery.drain(seconds=5, sessions=1)
        return Subscriber.objects.get(email=SUBSCRIBER)

    def kept_for(self, address: str) -> email.message.EmailMessage:
        [kept] = [m for m in LocalMail.objects.all() if address in m.recipients]
        parsed = email.message_from_bytes(bytes(kept.raw), policy=email.policy.default)
        assert isinstance(parsed, email.message.EmailMessage)
        return parsed

    @NO_SMTP
    def test_without_smtp_the_acknowledgement_is_kept_in_the_outbox_with_the_private_link(
        self,
    ) -> None:
        ack = self.acknowledge_a_report()
        assert ReportMessage.objects.get(pk=ack.pk).mail_status == "sent"
        kept = self.kept_for(REPORTER)
        report = ack.report
        assert kept["To"] == REPORTER and f"[{report.tracking_id}]" in kept["Subject"]
        assert f"https://herald.example/security/reports/{report.token}/" in kept.get_content()
        assert self.inbox.messages == []  # nothing went to the SMTP peer

    @NO_SMTP
    def test_without_smtp_the_subscription_confirmation_is_kept_in_the_outbox(self) -> None:
        subscriber = self.subscribe()
        confirmation = Delivery.objects.get(recipient=SUBSCRIBER)
        assert confirmation.status == "sent" and "local outbox" in confirmation.response
        kept = self.kept_for(SUBSCRIBER)
        assert kept["Message-ID"] == confirmation.rfc_message_id
        body = kept.get_content()
        assert f"https://herald.example/security/subscribe/confirm/{subscriber.token}/" in body

    def test_with_smtp_set_both_go_to_that_server_and_nothing_is_kept(self) -> None:
        with (
            smtp_server() as sink,
            override_settings(HERALD_SMTP_URL=f"smtp://127.0.0.1:{sink.port}?timeout=5"),
        ):
            self.acknowledge_a_report()
            self.subscribe()
        received = sorted(str(m["To"]) for m in sink.messages)
        assert received == sorted([REPORTER, SUBSCRIBER])
        assert not LocalMail.objects.exists()
        assert Delivery.objects.get(recipient=SUBSCRIBER).status == "sent"

    @NO_SMTP
    def test_the_desk_lists_kept_mail_and_shows_it_with_clickable_links(self) -> None:
        ack = self.acknowledge_a_report()
        kept = LocalMail.objects.get()
        self.login(self.bob)
        listing = self.client.get("/desk/outbox/").content.decode()
        assert "No mail server is configured" in listing and REPORTER in listing
        assert f'href="/desk/outbox/{kept.pk}/"' in listing
        page = self.client.get(f"/desk/outbox/{kept.pk}/").content.decode()
        link = f"https://herald.example/security/reports/{ack.report.token}/"
        assert f'<a href="{link}"' in page
        raw = self.client.get(f"/desk/outbox/{kept.pk}.eml")
        assert raw["Content-Type"] == "message/rfc822" and raw.content == bytes(kept.raw)

    @NO_SMTP
    def test_the_cli_lists_kept_mail_as_json(self) -> None:
        self.acknowledge_a_report()
        subscriber = self.subscribe()
        out = StringIO()
        call_command("mail", "outbox", "--json", stdout=out, stderr=StringIO())
        listed = json.loads(out.getvalue())
        assert sorted(m["to"][0] for m in listed) == sorted([REPORTER, SUBSCRIBER])
        assert all(m["subject"] and m["created"] for m in listed)
        text = StringIO()
        call_command("mail", "outbox", str(listed[0]["id"]), stdout=text)
        assert f"Subject: {listed[0]['subject']}" in text.getvalue()
        # One message as a person reads it: the link whole, never cut by "=" soft breaks.
        [kept] = [m for m in listed if m["to"] == [SUBSCRIBER]]
        shown, raw = StringIO(), StringIO()
        call_command("mail", "outbox", str(kept["id"]), stdout=shown)
        call_command("mail", "outbox", str(kept["id"]), "--raw", stdout=raw)
        link = f"/security/subscribe/confirm/{subscriber.token}/"
        assert link in shown.getvalue() and "Content-Transfer-Encoding" not in shown.getvalue()
        assert "Content-Transfer-Encoding" in raw.getvalue()

    def test_it_says_where_mail_goes_and_never_the_password(self) -> None:
        with NO_SMTP:
            said = where_mail_goes()
        assert "local outbox" in said and "https://herald.example/desk/outbox/" in said
        with override_settings(HERALD_SMTP_URL="smtp://mailer:s3cret@mail.example:587"):
            said = where_mail_goes()
        assert "mail.example:587" in said and "s3cret" not in said

    @NO_SMTP
    @override_settings(HERALD_MAIL_FROM="Northwind PSIRT <psirt@northwind.example>")
    def test_reporter_and_subscriber_mail_share_one_from_address(self) -> None:
        self.acknowledge_a_report()
        self.subscribe()
        senders = {str(self.kept_for(a)["From"]) for a in (REPORTER, SUBSCRIBER)}
        assert senders == {"Northwind PSIRT <psirt@northwind.example>"}
