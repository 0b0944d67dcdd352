"""Reports by e-mail: `herald mail ingest`, replies finding their report, and every bad input."""

from __future__ import annotations

import io
import sys
from email.message import EmailMessage
from unittest import mock

import pytest
from django.core.management import call_command
from django.test import override_settings

from herald.intake.files import open_stored
from herald.intake.models import Attachment, InboundMail, Report, ReportMessage
from herald.intake.tests.base import REPORTER, IntakeTestCase, message
from herald.intake.tests.services import Keyring


def reporter_bodies(report: Report) -> list[str]:
    return [m.body for m in report.messages.filter(internal=False)]


def internal_bodies(report: Report) -> str:
    return "\n".join(m.body for m in report.messages.filter(internal=True))


class IngestCommand(IntakeTestCase):
    def ingest(self, raw: bytes) -> str:
        out = io.StringIO()
        stdin = mock.Mock()
        stdin.buffer = io.BytesIO(raw)
        with mock.patch.object(sys, "stdin", stdin), self.committing():
            call_command("mail", "ingest", stdout=out)
        self.run_worker()
        return out.getvalue()

    def test_a_message_piped_in_becomes_a_report_and_is_acknowledged_with_the_private_link(
        self,
    ) -> None:
        sent = message().as_bytes()
        output = self.ingest(sent)
        report = Report.objects.get()
        assert report.tracking_id in output
        assert report.source == "email" and report.reporter.email == REPORTER
        assert report.reporter.name == "Ada Lovelace"
        [ack] = self.mail_to_reporter()
        assert f"[{report.tracking_id}]" in ack["Subject"]
        assert f"https://herald.example/security/reports/{report.token}/" in ack.get_content()
        assert f"r-{report.reply_token}@example.com" in ack["Reply-To"]
        raw = InboundMail.objects.get()
        assert raw.report == report and raw.status == InboundMail.Status.PROCESSED
        # The raw message is kept exactly as it came.
        assert open_stored(raw.path).read_bytes() == sent

    def test_a_message_without_a_sender_is_kept_whole_and_flagged_for_a_person(self) -> None:
        raw = b"Subject: hello\r\n\r\nthere is no From header here\r\n"
        output = self.ingest(raw)
        inbound = InboundMail.objects.get()
        assert inbound.status == InboundMail.Status.FLAGGED
        assert "No sender" in inbound.problem and "flagged" in output
        assert open_stored(inbound.path).read_bytes() == raw
        assert not Report.objects.exists()
        assert self.inbox.messages == []

    def test_binary_garbage_is_kept_and_flagged_never_a_crash(self) -> None:
        raw = bytes(range(256)) * 40
        self.ingest(raw)
        inbound = InboundMail.objects.get()
        assert inbound.status == InboundMail.Status.FLAGGED
        assert open_stored(inbound.path).read_bytes() == raw

    def test_an_unexpected_failure_while_processing_keeps_the_message_and_flags_it(self) -> None:
        with mock.patch("herald.intake.actions.parse_mail", side_effect=RuntimeError("boom")):
            self.ingest(message().as_bytes())
        inbound = InboundMail.objects.get()
        assert inbound.status == InboundMail.Status.FLAGGED
        assert "RuntimeError: boom" in inbound.problem

    def test_a_message_over_the_size_limit_is_kept_unopened_and_flagged(self) -> None:
        with override_settings(HERALD_INTAKE_MAX_MESSAGE_BYTES=2000):
            self.ingest(message(body="x" * 5000).as_bytes())
        inbound = InboundMail.objects.get()
        assert inbound.status == InboundMail.Status.FLAGGED
        assert "over the limit" in inbound.problem
        assert inbound.size > 5000 and not Report.objects.exists()

    def test_the_database_being_down_makes_the_mta_try_again_later(self) -> None:
        from django.db import OperationalError

        stdin = mock.Mock()
        stdin.buffer = io.BytesIO(message().as_bytes())
        with (
            mock.patch.object(sys, "stdin", stdin),
            mock.patch(
                "herald.intake.management.commands.mail.do_receive_email",
                side_effect=OperationalError("database is locked"),
            ),
            pytest.raises(SystemExit) as exc,
        ):
            call_command("mail", "ingest", stderr=io.StringIO())
        assert exc.value.code == 75


class BadInput(IntakeTestCase):
    def test_an_unknown_charset_is_read_as_utf8_and_noted(self) -> None:
        raw = (
            "From: ada@researcher.example\r\nTo: security@example.com\r\n"
            "Subject: =?x-klingon?Q?Caf=C3=A9?=\r\nMIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=x-klingon\r\n\r\n"
            "Caf\xc3\xa9 is vulnerable\r\n"
        ).encode("latin-1")
        self.receive(raw)
        report = Report.objects.get()
        assert "Café is vulnerable" in report.body
        assert "unknown charset" in internal_bodies(report)

    def test_a_body_that_lies_about_its_charset_is_still_read(self) -> None:
        raw = (
            b"From: ada@researcher.example\r\nSubject: wrong charset\r\n"
            b"Content-Type: text/plain; charset=utf-8\r\n\r\n"
            b"Stra\xdfe and \xe9t\xe9: \x80 euros\r\n"
        )
        self.receive(raw)
        report = Report.objects.get()
        assert "Straße and été: € euros" in report.body
        assert "not valid utf-8" in internal_bodies(report)

    def test_html_and_script_are_stored_as_text_and_shown_escaped(self) -> None:
        msg = EmailMessage()
        msg["From"] = '"<img src=x onerror=alert(1)>" <ada@researcher.example>'
        msg["Subject"] = "<script>alert('subject')</script>"
        msg.set_content(
            "<html><body><p>Hello</p><script>alert('body')</script>"
            "<a href='javascript:x'>link</a></body></html>",
            subtype="html",
        )
        self.receive(msg)
        report = Report.objects.get()
        assert "alert('body')" not in report.body and "Hello" in report.body
        assert report.title == "<script>alert('subject')</script>"
        page = self.client.get(f"/security/reports/{report.token}/").content.decode()
        assert "<script>alert(" not in page
        assert "&lt;script&gt;alert(&#x27;subject&#x27;)&lt;/script&gt;" in page
        self.login(self.bob)
        desk = self.client.get(f"/desk/reports/{report.tracking_id}/").content.decode()
        assert "<script>alert(" not in desk and "<img src=x" not in desk

    def test_nul_bytes_and_broken_base64_do_not_stop_the_ingest(self) -> None:
        raw = (
            b"From: ada@researcher.example\r\nSubject: nul\x00 here\r\nMIME-Version: 1.0\r\n"
            b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\n'
            b"Content-Type: text/plain\r\n\r\nbody with \x00 a NUL\r\n--b\r\n"
            b"Content-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n"
            b'Content-Disposition: attachment; filename="../../etc/passwd.png"\r\n\r\n'
            b"!!!not base64!!!\r\n--b--\r\n"
        )
        inbound = self.receive(raw)
        report = Report.objects.get()
        assert inbound.status == InboundMail.Status.PROCESSED
        assert "\x00" not in report.body and "\x00" not in report.title
        assert "a NUL" in report.body

    def test_too_many_attachments_keep_the_first_ones_and_note_the_rest(self) -> None:
        msg = message()
        for i in range(8):
            msg.add_attachment(
                f"log line {i}\n".encode(), maintype="text", subtype="plain", filename=f"log{i}.txt"
            )
        with override_settings(HERALD_INTAKE_MAX_ATTACHMENTS=5):
            self.receive(msg)
        report = Report.objects.get()
        assert report.attachments.count() == 5
        assert "3 attachment(s) beyond the limit of 5" in internal_bodies(report)

    def test_a_huge_attachment_is_not_kept_but_the_report_is(self) -> None:
        msg = message()
        msg.add_attachment(b"A" * 50_000, maintype="text", subtype="plain", filename="big.txt")
        msg.add_attachment(b"small", maintype="text", subtype="plain", filename="small.txt")
        with override_settings(HERALD_INTAKE_MAX_ATTACHMENT_BYTES=10_000):
            self.receive(msg)
        report = Report.objects.get()
        assert [a.filename for a in report.attachments.all()] == ["small.txt"]
        assert "big.txt: 50,000 bytes is over the limit" in internal_bodies(report)

    def test_an_attachment_is_typed_by_its_bytes_and_executables_are_refused(self) -> None:
        msg = message()
        msg.add_attachment(
            b"MZ\x90\x00rest-of-an-exe", maintype="image", subtype="png", filename="screenshot.png"
        )
        msg.add_attachment(
            b"<html><script>x</script></html>",
            maintype="text",
            subtype="plain",
            filename="notes.txt",
        )
        msg.add_attachment(
            b"\x89PNG\r\n\x1a\n0000",
            maintype="application",
            subtype="octet-stream",
            filename="real.png",
        )
        self.receive(msg)
        report = Report.objects.get()
        [png] = report.attachments.all()
        assert png.filename == "real.png" and png.detected_type == "image/png"
        assert png.declared_type == "application/octet-stream"
        notes = internal_bodies(report)
        assert "screenshot.png: files of type application/x-msdownload" in notes
        assert "notes.txt: files of type text/html" in notes

    def test_attachments_are_stored_outside_the_web_root(self) -> None:
        from django.conf import settings

        msg = message()
        msg.add_attachment(b"trace\n", maintype="text", subtype="plain", filename="trace.txt")
        self.receive(msg)
        attachment = Attachment.objects.get()
        path = open_stored(attachment.path)
        assert path.read_bytes() == b"trace\n"
        assert not str(path).startswith(str(settings.STATIC_ROOT))
        assert str(path).startswith(str(self.storage))

    def test_an_auto_reply_is_recorded_but_never_answered(self) -> None:
        self.receive(message(Auto_Submitted="auto-replied"))
        report = Report.objects.get()
        assert self.inbox.messages == []
        assert "Not acknowledged" in internal_bodies(report)

    def test_a_bounce_is_flagged_for_a_person_and_not_made_a_report(self) -> None:
        inbound = self.receive(message(sender="MAILER-DAEMON@mx.example", subject="Undelivered"))
        assert inbound.status == InboundMail.Status.FLAGGED
        assert not Report.objects.exists()


class Replies(IntakeTestCase):
    def test_an_answer_to_the_acknowledgement_lands_on_its_report(self) -> None:
        self.receive(message())
        report = Report.objects.get()
        [ack] = self.mail_to_reporter()
        reply = message(
            to=str(ack["Reply-To"]),
            subject=f"Re: {ack['Subject']}",
            body="Here is the proof of concept.",
            In_Reply_To=str(ack["Message-ID"]),
        )
        self.receive(reply)
        assert Report.objects.count() == 1
        assert "Here is the proof of concept." in reporter_bodies(report)

    def test_a_reply_found_only_by_its_threading_headers_lands_on_its_report(self) -> None:
        self.receive(message())
        report = Report.objects.get()
        [ack] = self.mail_to_reporter()
        # Sent to the plain address from another account: only References remains.
        self.receive(
            message(
                sender="ada@other.example",
                subject="more",
                body="Also the API.",
                References=str(ack["Message-ID"]),
            )
        )
        assert Report.objects.count() == 1
        reply = report.messages.get(kind=ReportMessage.Kind.FROM_REPORTER)
        assert reply.body == "Also the API." and reply.email_from == "ada@other.example"

    def test_the_tracking_id_in_a_subject_counts_only_from_the_reporters_address(self) -> None:
        report = self.submit()
        self.receive(message(subject=f"Re: [{report.tracking_id}] update", body="Still there."))
        assert "Still there." in reporter_bodies(report)
        self.receive(
            message(
                sender="mallory@evil.example",
                subject=f"[{report.tracking_id}] hijack",
                body="Injected.",
            )
        )
        assert "Injected." not in reporter_bodies(report)
        assert Report.objects.get(reporter__email="mallory@evil.example").body == "Injected."

    def test_a_reply_moves_a_report_that_needed_more_information_back_to_new(self) -> None:
        report = self.submit()
        from herald.intake.actions import do_change_state

        with self.committing():
            do_change_state(report, "needs_more_info", acting_user=self.bob, message="Which URL?")
        self.run_worker()
        [_, question] = self.mail_to_reporter()
        assert "Which URL?" in question.get_content()
        self.receive(message(to=str(question["Reply-To"]), body="https://app.example/export"))
        report.refresh_from_db()
        assert report.state == "new"


class Encrypted(IntakeTestCase):
    keyring: Keyring

    def setUp(self) -> None:
        super().setUp()
        self.keyring = Keyring()
        self.addCleanup(self.keyring.close)
        overrides = override_settings(HERALD_GNUPG_HOME=str(self.keyring.home))
        overrides.enable()
        self.addCleanup(overrides.disable)

    def test_a_pgp_mime_report_is_decrypted(self) -> None:
        inner = EmailMessage()
        inner.set_content("The admin API takes any token. Secret details here.")
        inner.add_attachment(b"poc\n", maintype="text", subtype="plain", filename="poc.txt")
        armored = self.keyring.encrypt(inner.as_bytes())
        msg = EmailMessage()
        msg["From"] = REPORTER
        msg["To"] = "security@example.com"
        msg["Subject"] = "Encrypted report"
        msg.set_type("multipart/encrypted")
        msg.set_param("protocol", "application/pgp-encrypted")
        control = EmailMessage()
        control.set_content(b"Version: 1\n", maintype="application", subtype="pgp-encrypted")
        payload = EmailMessage()
        payload.set_content(armored, maintype="application", subtype="octet-stream")
        msg.attach(control)
        msg.attach(payload)
        self.receive(msg)
        report = Report.objects.get()
        assert report.encrypted
        assert "The admin API takes any token." in report.body
        assert [a.filename for a in report.attachments.all()] == ["poc.txt"]

    def test_an_inline_pgp_report_from_the_form_is_decrypted(self) -> None:
        armored = self.keyring.encrypt(b"Inline secret: the reset token is predictable.")
        report = self.submit(body=armored.decode())
        assert report.encrypted
        assert report.body == "Inline secret: the reset token is predictable."

    def test_a_message_encrypted_to_another_key_is_kept_encrypted_and_noted(self) -> None:
        other = Keyring()
        self.addCleanup(other.close)
        armored = other.encrypt(b"not for you")
        self.receive(message(body=armored.decode()))
        report = Report.objects.get()
        assert "BEGIN PGP MESSAGE" in report.body
        assert "could not decrypt" in internal_bodies(report)
