"""Health, readiness, metrics, `herald status` and `herald --version`, as operators use them."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from importlib.metadata import version
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.test import SimpleTestCase, override_settings
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from herald.core.tests.test_unavailable import database_unreachable, wsgi_get
from herald.intake import actions as intake
from herald.notify import actions
from herald.notify.customer_files import parse_customer_file
from herald.ops.worker import Heartbeat
from herald.publishing.store import serving
from herald.publishing.store.serving import Front
from herald.test import HeraldTestCase


def a_worker_beats() -> None:
    Heartbeat("test-worker", "localhost", timezone.now()).beat()


class OperationsTestCase(HeraldTestCase):
    def setUp(self) -> None:
        super().setUp()
        site = tempfile.TemporaryDirectory()
        self.addCleanup(site.cleanup)
        overridden = override_settings(HERALD_SITE_DIR=site.name)
        overridden.enable()
        self.addCleanup(overridden.disable)
        serving.sync()  # this machine's served copy is current

    def readyz(self) -> tuple[int, dict[str, Any]]:
        response = self.client.get("/readyz")
        assert response["Content-Type"] == "application/json"
        return response.status_code, json.loads(response.content)


class HealthTests(OperationsTestCase):
    def test_the_front_answers_healthz_without_django(self) -> None:
        def django(environ: Any, start_response: Any) -> Any:
            raise AssertionError("healthz reached Django")

        status, headers, body = wsgi_get(Front(django), "/healthz")
        assert (status, json.loads(body)) == ("200 OK", {"status": "ok"})
        assert headers["Cache-Control"] == "no-store"

    def test_ready_when_every_check_passes(self) -> None:
        a_worker_beats()
        status, body = self.readyz()
        assert status == 200, body
        assert body["ready"] is True and body["failing"] == []
        assert set(body["checks"]) == {"database", "migrations", "served_copy", "worker"}

    def test_not_ready_without_a_worker_heartbeat_naming_the_check(self) -> None:
        status, body = self.readyz()
        assert status == 503
        assert body["failing"] == ["worker"]
        assert "no worker running" in body["checks"]["worker"]["detail"]

    @override_settings(HERALD_WORKER_STALE=-1)
    def test_not_ready_when_the_newest_heartbeat_is_stale(self) -> None:
        a_worker_beats()
        status, body = self.readyz()
        assert (status, body["failing"]) == (503, ["worker"])
        assert "last heartbeat" in body["checks"]["worker"]["detail"]

    @override_settings(HERALD_SITE_LAG_LIMIT=-1)
    def test_not_ready_when_the_served_copy_is_behind_the_database(self) -> None:
        a_worker_beats()
        self.published(self.declare())  # new files in the database, not yet synced here
        status, body = self.readyz()
        assert (status, body["failing"]) == (503, ["served_copy"])
        serving.sync()
        assert self.readyz()[0] == 200

    def test_herald_status_prints_the_same_checks_and_fails_when_not_ready(self) -> None:
        out = StringIO()
        with pytest.raises(SystemExit) as exit_:
            call_command("status", stdout=out)
        assert exit_.value.code == 1
        text = out.getvalue()
        assert "ok   database" in text and "FAIL worker" in text and "Not ready: worker" in text
        a_worker_beats()
        out = StringIO()
        call_command("status", "--json", stdout=out)
        body = json.loads(out.getvalue())
        assert body["ready"] is True and body["version"] == version("herald")


class HealthInOutageTests(SimpleTestCase):
    databases = {"default"}

    def test_healthz_answers_without_the_database(self) -> None:
        with database_unreachable():
            response = self.client.get("/healthz")
        assert response.status_code == 200
        assert json.loads(response.content) == {"status": "ok"}

    def test_not_ready_when_the_database_is_unreachable(self) -> None:
        with database_unreachable():
            response = self.client.get("/readyz")
        status, body = response.status_code, json.loads(response.content)
        assert status == 503
        assert body["failing"] == ["database", "migrations", "served_copy", "worker"]
        assert body["checks"]["database"]["detail"].startswith("unreachable")


def scrape(client: Any, **extra: Any) -> dict[str, float]:
    response = client.get("/metrics", **extra)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=")
    values: dict[str, float] = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            values[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return values


class MetricsTests(OperationsTestCase):
    def test_the_metrics_parse_and_follow_the_data(self) -> None:
        before = scrape(self.client)
        assert before["herald_deliveries{channel=email,state=pending}"] == 0
        assert before["herald_publication_duration_seconds_count"] == 0
        assert before["herald_reports_received_total{source=web}"] == 0

        rows = "customer_id,organisation,region,contact_email,product,deployment\n"
        rows += "c1,One,EU,c1@example.com,cloud,cloud\nc2,Two,EU,c2@example.com,cloud,cloud"
        actions.do_import_customers(parse_customer_file(rows), acting_user=self.alice)
        advisory = self.published(
            self.declare(), confirmed_exposure=True, affected=[{"product": "cloud"}]
        )
        campaign = advisory.campaigns.get()
        actions.do_approve_campaign(campaign, acting_user=self.alice)
        actions.do_send_campaign(campaign, acting_user=self.alice)
        intake.do_submit_report(source="web", email="r@example.org", title="t", body="b")
        a_worker_beats()

        after = scrape(self.client)
        # Two campaign contacts and the reporter's acknowledgement: one outbox for all.
        assert after["herald_deliveries{channel=email,state=pending}"] == 3
        assert after["herald_delivery_oldest_pending_age_seconds"] >= 0
        assert after["herald_publication_duration_seconds_count"] >= 1
        assert after["herald_publication_duration_seconds_sum"] > 0
        assert after["herald_publication_last_timestamp_seconds"] > 0
        assert after["herald_reports_received_total{source=web}"] == 1
        assert 0 <= after["herald_worker_heartbeat_age_seconds"] < 60
        assert after["herald_served_copy_generations_behind"] >= 1  # not synced since
        serving.sync()
        assert scrape(self.client)["herald_served_copy_generations_behind"] == 0

    def test_only_loopback_reads_the_metrics_by_default(self) -> None:
        assert self.client.get("/metrics", REMOTE_ADDR="192.0.2.7").status_code == 403
        assert self.client.get("/metrics", REMOTE_ADDR="::1").status_code == 200
        # Through a reverse proxy on this machine every visitor would look like loopback.
        proxied = self.client.get("/metrics", HTTP_X_FORWARDED_FOR="192.0.2.7")
        assert proxied.status_code == 403

    @override_settings(HERALD_METRICS_ALLOW=["10.0.0.0/8"])
    def test_configured_networks_read_the_metrics(self) -> None:
        assert self.client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200
        assert self.client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 403

    @override_settings(HERALD_METRICS_TOKEN="s3cret-metrics-token", HERALD_METRICS_ALLOW=[])
    def test_a_bearer_token_reads_the_metrics_from_anywhere(self) -> None:
        denied = self.client.get("/metrics", REMOTE_ADDR="192.0.2.7")
        assert denied.status_code == 401 and denied["WWW-Authenticate"].startswith("Bearer")
        wrong = self.client.get("/metrics", HTTP_AUTHORIZATION="Bearer nope")
        assert wrong.status_code == 401
        scrape(
            self.client,
            REMOTE_ADDR="192.0.2.7",
            HTTP_X_FORWARDED_FOR="198.51.100.1",
            HTTP_AUTHORIZATION="Bearer s3cret-metrics-token",
        )


class VersionTests(HeraldTestCase):
    def test_herald_version_prints_the_installed_version(self) -> None:
        done = subprocess.run(
            [sys.executable, "-m", "herald.cli", "--version"],
            capture_output=True,
            text=True,
            check=True,
        )
        assert done.stdout.strip() == f"herald {version('herald')}"
