"""Real worker processes: killed mid-campaign, and several at once on PostgreSQL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from django.db import connection

from conftest import require_service
from herald.notify import actions
from herald.notify.customer_files import parse_customer_file
from herald.notify.models import Campaign, Delivery
from herald.notify.tests.peers import SMTPSink, smtp_server
from herald.publication.actions import do_publish_advisory
from herald.test import HeraldTransactionTestCase


def database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        # The same transaction mode as settings.py: IMMEDIATE, so writers queue.
        return f"sqlite:///{db['NAME']}?transaction_mode=IMMEDIATE&timeout=20"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return (
        f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
        f"/{db['NAME']}"
    )


def start(args: list[str], sink: SMTPSink, log: Path, **env: str) -> subprocess.Popen[bytes]:
    environment = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "HERALD_SMTP_URL": f"smtp://127.0.0.1:{sink.port}?timeout=5",
        "HERALD_NOTIFY_LEASE": "3",
        "HERALD_NOTIFY_BATCH": "10",
        "HERALD_NOTIFY_SESSIONS": "2",
        "HERALD_LOG_LEVEL": "WARNING",
        **env,
    }
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "herald.cli", *args], env=environment, stdout=out, stderr=out
        )


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


class WorkerTestCase(HeraldTransactionTestCase):
    recipients = 60

    def campaign(self) -> Campaign:
        rows = ["customer_id,organisation,region,contact_email,product,deployment"]
        rows += [
            f"c{i},Customer {i},EU,c{i}@example.com,cloud,cloud" for i in range(self.recipients)
        ]
        actions.do_import_customers(parse_customer_file("\n".join(rows)), acting_user=self.alice)
        advisory = do_publish_advisory(
            self.draft(confirmed_exposure=True, affected=[{"product": "cloud"}]),
            acting_user=self.bob,
        )
        campaign = advisory.campaigns.get()
        actions.do_approve_campaign(campaign, acting_user=self.alice)
        return campaign

    def log(self) -> Path:
        # Beside the SQLite test database, else (PostgreSQL) in the temporary directory.
        name = str(connection.settings_dict["NAME"])
        folder = Path(name).parent if os.sep in name else Path(tempfile.gettempdir())
        return folder / f"herald-worker-{self.id()[-40:]}.log"


class KilledWorkerTests(WorkerTestCase):
    def test_a_worker_killed_mid_campaign_loses_nothing_and_sends_nothing_twice(self) -> None:
        campaign = self.campaign()
        # The server holds every message after the 25th, unanswered: the worker is
        # killed while it waits, with rows claimed and a message in flight.
        with smtp_server(gate=threading.Event(), hold_after=25) as sink:
            actions.do_send_campaign(campaign, acting_user=self.alice)  # enqueues the drain
            # One sender driving three sessions in rounds: each holds a message
            # in flight when the worker dies.
            first = start(
                ["worker", "--interval", "0.1"], sink, self.log(),
                HERALD_NOTIFY_SESSIONS="3", HERALD_NOTIFY_SENDERS="1",
            )  # fmt: skip
            try:
                wait_for(lambda: sink.count() >= 25, 60, "the first 25 messages")
                time.sleep(0.5)
                assert Delivery.objects.filter(status="sending").exists()
            finally:
                first.send_signal(signal.SIGKILL)
                first.wait()
            assert sink.gate is not None
            sink.gate.set()
            second = start(["worker", "--interval", "0.1"], sink, self.log())
            try:
                wait_for(
                    lambda: (
                        Delivery.objects.filter(campaign=campaign, status="sent").count()
                        == self.recipients
                    ),
                    60,
                    "every delivery sent",
                )
            finally:
                second.send_signal(signal.SIGTERM)
                second.wait(timeout=30)
        counts = sink.by_message_id()
        expected = set(
            Delivery.objects.filter(campaign=campaign).values_list("rfc_message_id", flat=True)
        )
        assert set(counts) == expected and len(expected) == self.recipients
        assert max(counts.values()) == 1, [k for k, n in counts.items() if n > 1]
        lost = Delivery.objects.filter(history__outcome="worker lost").distinct().count()
        assert lost >= 1  # the rows the dead worker held were taken over, and say so


@pytest.mark.postgres_only
class SeveralWorkersTests(WorkerTestCase):
    recipients = 400

    def test_several_workers_on_postgresql_share_a_campaign_and_send_each_message_once(
        self,
    ) -> None:
        require_service("postgres")
        campaign = self.campaign()
        with smtp_server(delay=0.004) as sink:
            actions.do_send_campaign(campaign, acting_user=self.alice)
            workers = [
                start(["deliveries", "run", "--seconds", "30"], sink, self.log()) for _ in range(4)
            ]
            for worker in workers:
                assert worker.wait(timeout=90) == 0
        counts = sink.by_message_id()
        assert len(counts) == self.recipients and max(counts.values()) == 1
        assert Delivery.objects.filter(campaign=campaign, status="sent").count() == self.recipients
        pids = {
            token.split(":")[1]
            for token in Delivery.objects.values_list("claimed_by", flat=True).distinct()
        }
        assert len(pids) >= 2, "the work was not shared"
