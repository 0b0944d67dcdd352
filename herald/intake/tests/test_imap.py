"""`herald mail poll` against a real Dovecot IMAP server on loopback."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from herald.intake.imap import ImapSettings, MailboxUnreachable, poll
from herald.intake.models import InboundMail, Mailbox, Report
from herald.intake.tests.base import DovecotTestCase, message
from herald.intake.tests.services import free_port


class ImapPolling(DovecotTestCase):
    def setUp(self) -> None:
        super().setUp()
        # A folder of its own per test, so each starts empty with its own UIDs.
        self.folder = f"Reports{self._testMethodName[-20:]}".replace("_", "")
        self.dovecot.create(self.folder)

    def imap(self, **overrides: object) -> ImapSettings:
        values: dict[str, object] = {
            "host": "127.0.0.1",
            "port": self.dovecot.port,
            "user": self.dovecot.user,
            "password": self.dovecot.password,
            "folder": self.folder,
            "tls": "none",
            "timeout": 5,
            "retries": 2,
        }
        values.update(overrides)
        return ImapSettings(**values)  # type: ignore[arg-type]

    def poll(self, settings: ImapSettings | None = None) -> object:
        with self.committing():
            result = poll(settings or self.imap(), sleep=lambda seconds: None)
        self.run_worker()
        return result

    def test_new_messages_become_reports_and_none_is_fetched_twice(self) -> None:
        self.dovecot.deliver(message(subject="First").as_bytes(), self.folder)
        self.dovecot.deliver(message(subject="Second").as_bytes(), self.folder)
        first = self.poll()
        assert first.fetched == 2  # type: ignore[attr-defined]
        assert sorted(Report.objects.values_list("title", flat=True)) == ["First", "Second"]
        assert len(self.mail_to_reporter()) == 2
        again = self.poll()
        assert again.fetched == 0  # type: ignore[attr-defined]
        self.dovecot.deliver(message(subject="Third").as_bytes(), self.folder)
        third = self.poll()
        assert third.fetched == 1 and Report.objects.count() == 3  # type: ignore[attr-defined]
        mailbox = Mailbox.objects.get()
        assert mailbox.last_uid == 3 and mailbox.uidvalidity
        assert mailbox.consecutive_failures == 0 and mailbox.last_success_at

    def test_a_rebuilt_folder_with_a_new_uidvalidity_is_not_fetched_again(self) -> None:
        self.dovecot.deliver(message(subject="Old").as_bytes(), self.folder)
        self.poll()
        before = Mailbox.objects.get().uidvalidity
        self.dovecot.rebuild(self.folder)
        self.dovecot.deliver(message(subject="New").as_bytes(), self.folder)
        result = self.poll()
        assert Mailbox.objects.get().uidvalidity != before
        assert result.skipped == 1 and result.fetched == 1  # type: ignore[attr-defined]
        assert sorted(Report.objects.values_list("title", flat=True)) == ["New", "Old"]

    def test_a_bad_message_in_the_mailbox_is_flagged_and_the_poll_goes_on(self) -> None:
        self.dovecot.deliver(b"Subject: no sender\r\n\r\nhello\r\n", self.folder)
        self.dovecot.deliver(message(subject="Good").as_bytes(), self.folder)
        result = self.poll()
        assert result.fetched == 2 and result.flagged == 1  # type: ignore[attr-defined]
        assert InboundMail.objects.filter(status="flagged").count() == 1
        assert Report.objects.get().title == "Good"

    def test_a_wrong_password_is_retried_then_recorded_and_reported(self) -> None:
        with pytest.raises(MailboxUnreachable) as exc:
            self.poll(self.imap(password="wrong", retries=3))
        assert "after 3 tries" in str(exc.value)
        mailbox = Mailbox.objects.get()
        assert mailbox.consecutive_failures == 1 and "after 3 tries" in mailbox.last_error

    def test_an_unreachable_server_fails_the_command_and_shows_in_the_desk(self) -> None:
        port = free_port()  # nothing listens there
        with (
            override_settings(
                HERALD_IMAP_HOST="127.0.0.1",
                HERALD_IMAP_PORT=port,
                HERALD_IMAP_USER="x",
                HERALD_IMAP_PASSWORD="y",
                HERALD_IMAP_TLS="none",
                HERALD_IMAP_RETRIES=2,
            ),
            pytest.raises(CommandError) as exc,
        ):
            # Two tries: one pause of a second between them.
            call_command("mail", "poll", stdout=io.StringIO())
        assert "unreachable after 2 tries" in str(exc.value)
        self.login(self.bob)
        page = self.client.get("/desk/reports/mail/").content.decode()
        assert f"127.0.0.1:{port}" in page and "unreachable" in page

    def test_the_poll_command_reads_its_mailbox_from_the_settings(self) -> None:
        self.dovecot.deliver(message(subject="Via the command").as_bytes(), self.folder)
        out = io.StringIO()
        with (
            override_settings(
                HERALD_IMAP_HOST="127.0.0.1",
                HERALD_IMAP_PORT=self.dovecot.port,
                HERALD_IMAP_USER=self.dovecot.user,
                HERALD_IMAP_PASSWORD=self.dovecot.password,
                HERALD_IMAP_TLS="none",
                HERALD_IMAP_FOLDER=self.folder,
            ),
            self.committing(),
        ):
            call_command("mail", "poll", stdout=out)
        report = Report.objects.get()
        assert f"1 fetched, 0 flagged, 0 skipped (already stored): {report.tracking_id}" in (
            out.getvalue()
        )
