"""A worker outlives PostgreSQL outages: real processes, a real cut of the connection."""

from __future__ import annotations

import signal

import pytest
from django.db import connection

from conftest import require_service
from herald.core.models import WorkerHeartbeat
from herald.core.tests.proxy import proxy_to
from herald.notify import actions
from herald.notify.models import Delivery
from herald.notify.tests.peers import smtp_server
from herald.notify.tests.test_workers import WorkerTestCase, start, wait_for


@pytest.mark.postgres_only
class DatabaseOutageTests(WorkerTestCase):
    recipients = 5

    def test_a_worker_waits_out_outages_and_then_sends_what_was_queued(self) -> None:
        require_service("postgres")
        db = connection.settings_dict
        campaign = self.campaign()
        log = self.log()
        log.unlink(missing_ok=True)

        def said(text: str, times: int) -> bool:
            return log.exists() and log.read_text().count(text) >= times

        with (
            smtp_server() as sink,
            proxy_to(db["HOST"] or "127.0.0.1", int(db["PORT"] or 5432)) as proxy,
        ):
            proxied = f"postgres://{db['USER']}@127.0.0.1:{proxy.port}/{db['NAME']}"
            proxy.cut()  # the worker starts while the database is down
            worker = start(
                ["worker", "--interval", "0.1"], sink, log,
                DATABASE_URL=proxied, HERALD_WORKER_RETRY_MAX="0.5",
            )  # fmt: skip
            try:
                wait_for(lambda: said("database unreachable", 1), 30, "the outage in the log")
                assert worker.poll() is None, "the worker gave up"
                proxy.restore()
                wait_for(WorkerHeartbeat.objects.exists, 30, "the worker's heartbeat")
                proxy.cut()  # and loses it while running
                actions.do_send_campaign(campaign, acting_user=self.alice)
                wait_for(lambda: said("database unreachable", 2), 30, "the second outage")
                assert worker.poll() is None, "the worker died in the outage"
                proxy.restore()
                wait_for(
                    lambda: (
                        Delivery.objects.filter(campaign=campaign, status="sent").count()
                        == self.recipients
                    ),
                    60,
                    "the campaign sent after the outage",
                )
            finally:
                worker.send_signal(signal.SIGTERM)
                worker.wait(timeout=30)
            assert len(sink.by_message_id()) == self.recipients
        text = log.read_text()
        # One line when each outage starts and one when it ends, not one per retry.
        assert text.count("database unreachable") == 2, text
        assert text.count("database reachable again") == 2, text
        assert not WorkerHeartbeat.objects.exists(), "a worker that stopped still looks alive"
