"""The intake's test case: the cast, a real SMTP server on loopback, private storage.

Mail to reporters goes through the real path: the action writes the row, the
commit enqueues the task, ``run_worker`` runs the queue, Django's SMTP backend
talks to an aiosmtpd server on loopback, and ``self.inbox`` holds what arrived.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from email.utils import make_msgid
from io import StringIO
from pathlib import Path
from typing import Any, ClassVar, cast
from unittest import mock

from django.contrib.auth.models import AbstractUser, User
from django.core.management import call_command
from django.test import override_settings

from herald.intake import actions
from herald.intake.models import Report
from herald.intake.tests.services import Dovecot, Inbox, SmtpServer
from herald.publication.actions import do_update_vendor_profile
from herald.test import HeraldTestCase

REPORTER = "ada@researcher.example"


class IntakeTestCase(HeraldTestCase):
    smtp: ClassVar[SmtpServer]
    _overrides: ClassVar[override_settings]
    inbox: ClassVar[Inbox]
    storage: ClassVar[Path]

    @classmethod
    def setUpClass(cls) -> None:
        cls.smtp = SmtpServer()
        cls.smtp.start()
        cls.inbox = cls.smtp.inbox
        cls.storage = Path(tempfile.mkdtemp(prefix="herald-intake-"))
        cls._overrides = override_settings(
            **cls.smtp.settings(),
            HERALD_INTAKE_STORAGE=str(cls.storage / "store"),
            HERALD_GNUPG_HOME=str(cls.storage / "no-gnupg"),
            DEFAULT_FROM_EMAIL="herald@example.com",
            # Reporter mail is sent by notify's engine inside the test's transaction,
            # which only this connection sees: one sender, no threads or processes.
            HERALD_NOTIFY_SENDERS="1",
        )
        cls._overrides.enable()
        super().setUpClass()

    @classmethod
    def tearDownClass(cls) -> None:
        super().tearDownClass()
        cls._overrides.disable()
        cls.smtp.stop()
        shutil.rmtree(cls.storage, ignore_errors=True)

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        do_update_vendor_profile(acting_user=None, base_url="https://herald.example")

    def setUp(self) -> None:
        super().setUp()
        self.inbox.clear()

    # ------------------------------------------------------------ helpers

    def login(self, user: AbstractUser) -> None:
        self.client.force_login(cast(User, user))

    @contextmanager
    def committing(self) -> Iterator[None]:
        """Run what the actions leave for after the commit, as a real commit would."""
        with self.captureOnCommitCallbacks(execute=True):
            yield

    def run_worker(self) -> None:
        """Run the real ``db_worker`` over the queue, inside this test's transaction.

        The worker closes "old" connections between tasks, which inside a test's
        transaction would close the test's own; only that is switched off.
        """
        with mock.patch("django_tasks_db.management.commands.db_worker.close_old_connections"):
            call_command(
                "db_worker",
                queue_name="*",
                batch=True,
                reload=False,
                verbosity=0,
                stdout=StringIO(),
                stderr=StringIO(),
            )

    def submit(self, **overrides: Any) -> Report:
        values: dict[str, Any] = {
            "source": Report.Source.WEB,
            "email": REPORTER,
            "title": "SQL injection in the export endpoint",
            "body": "POST /export?id=1' OR 1=1 -- returns every project.",
            "name": "Ada Lovelace",
            "handle": "ada",
        }
        values.update(overrides)
        with self.committing():
            report = actions.do_submit_report(**values)
        self.run_worker()
        return report

    def receive(self, raw: bytes | EmailMessage, **kwargs: Any) -> Any:
        data = raw.as_bytes() if isinstance(raw, EmailMessage) else raw
        with self.committing():
            inbound = actions.do_receive_email(data, **kwargs)
        self.run_worker()
        return inbound

    def mail_to_reporter(self, address: str = REPORTER) -> list[EmailMessage]:
        return self.inbox.to(address)


def message(
    *,
    sender: str = f"Ada Lovelace <{REPORTER}>",
    to: str = "security@example.com",
    subject: str = "XSS in project names",
    body: str = "A project named <script>alert(1)</script> runs for every viewer.",
    **headers: str,
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = make_msgid(domain="researcher.example")
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    return msg


class DovecotTestCase(IntakeTestCase):
    """A real Dovecot IMAP server on loopback for the class, stopped however it ends."""

    dovecot: ClassVar[Dovecot]

    @classmethod
    def setUpClass(cls) -> None:
        # Skips here, before the class's transaction opens, when Dovecot is missing:
        # a skip later would leave setUpTestData's rows to every later test.
        cls.dovecot = Dovecot()
        super().setUpClass()
        try:
            cls.dovecot.start()
        except BaseException:
            cls.dovecot.stop()
            super().tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls) -> None:
        cls.dovecot.stop()
        super().tearDownClass()
