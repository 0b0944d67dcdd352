"""First run: setup, demo data, configuration checks, the worker, and the server."""

from __future__ import annotations

import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import TestCase
from django.utils import timezone

from herald.advisories.models import Advisory
from herald.audit.actions import verify
from herald.audit.models import AuditEvent
from herald.publication.actions import do_schedule_publication
from herald.test import HeraldTransactionTestCase

HERALD = [sys.executable, "-m", "herald.cli"]
# These subprocesses run Herald as a new user would: on the embedded default.
EMBEDDED_ONLY = {"DATABASE_URL", "HERALD_TEST_DB"}


def run_herald(
    *args: str, home: Path, env: dict[str, str] | None = None, timeout: int = 120
) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k not in EMBEDDED_ONLY}
    environ.update({"HERALD_HOME": str(home), **(env or {})})
    return subprocess.run(
        [*HERALD, *args], env=environ, capture_output=True, text=True, timeout=timeout, check=False
    )


class Setup(TestCase):
    def test_setup_creates_an_admin_once_and_demo_data_in_every_state(self) -> None:
        out = StringIO()
        call_command("setup", "--demo", stdout=out)
        assert "password:" in out.getvalue()
        states = set(Advisory.objects.values_list("state", "status"))
        assert {
            ("draft", "fixed"),
            ("published", "reported"),
            ("published", "fixed"),
            ("published", "resolved"),
            ("withdrawn", "reported"),
        } <= states
        assert Advisory.objects.filter(embargo_until__gt=timezone.now()).exists()
        assert verify() == []
        # The signing key names the demo's vendor, not the placeholder profile.
        import pysequoia

        from herald.publishing.store.signing import active_key

        key = active_key()
        assert key is not None
        user_ids = pysequoia.Cert.from_bytes(key.public_key.encode()).user_ids
        assert "Northwind Analytics Security <security@northwind.example>" in str(user_ids)

        # The admin may add a passkey at once: allauth refuses second factors to an
        # account with an unverified address, and a new desk has no mail server.
        from allauth.mfa.internal.flows.add import validate_can_add_authenticator
        from django.contrib.auth import get_user_model

        admin = get_user_model().objects.get(username="admin")
        self.client.force_login(admin)
        self.client.get("/desk/account/email/")  # allauth lists (and records) the address
        validate_can_add_authenticator(admin)

        again = StringIO()
        call_command("setup", "--demo", stdout=again)
        assert "password:" not in again.getvalue()
        assert "Demo data skipped" in again.getvalue()
        assert Advisory.objects.count() == 5


@pytest.mark.usefixtures("tmp_path")
class Configuration(TestCase):
    @pytest.fixture(autouse=True)
    def _tmp(self, tmp_path: Path) -> None:
        self.tmp = tmp_path

    def test_a_bad_database_url_is_a_named_check_error_not_a_crash(self) -> None:
        result = run_herald("check", home=self.tmp, env={"DATABASE_URL": "mysql://x@y/z"})
        assert result.returncode != 0
        assert "herald.E001" in result.stderr and "DATABASE_URL" in result.stderr

    def test_a_short_secret_key_is_refused_by_the_checks(self) -> None:
        result = run_herald("check", home=self.tmp, env={"HERALD_SECRET_KEY": "short"})
        assert result.returncode != 0 and "herald.E004" in result.stderr

    def test_a_non_boolean_flag_is_named(self) -> None:
        result = run_herald("check", home=self.tmp, env={"HERALD_DEBUG": "maybe"})
        assert result.returncode != 0 and "HERALD_DEBUG" in result.stderr

    def test_the_help_lists_herald_commands(self) -> None:
        result = run_herald("--help", home=self.tmp)
        assert result.returncode == 0
        for command in ("setup", "serve", "worker", "incident", "advisory", "export", "import"):
            assert f"  {command}" in result.stdout

    def test_serve_refuses_an_unmigrated_database(self) -> None:
        result = run_herald("serve", "--no-worker", home=self.tmp)
        assert result.returncode != 0 and "herald setup" in result.stderr

    def test_the_secret_key_is_generated_once_and_kept_private(self) -> None:
        run_herald("check", home=self.tmp)
        key_file = self.tmp / "secret_key"
        first = key_file.read_text()
        run_herald("check", home=self.tmp)
        assert key_file.read_text() == first and len(first) >= 50
        assert key_file.stat().st_mode & 0o077 == 0

    def test_the_desk_and_its_database_are_private_to_their_owner(self) -> None:
        # Embargoed drafts, TOTP secrets and sessions: as private as the secret key,
        # whatever the umask. An existing desk made looser is tightened by setup.
        home = self.tmp / "desk"
        umask = os.umask(0o022)
        try:
            for _ in range(2):
                result = run_herald("setup", home=home)
                assert result.returncode == 0, result.stderr
                assert home.stat().st_mode & 0o777 == 0o700
                files = [home / "herald.sqlite3", home / "secret_key"] + [
                    p for p in home.glob("herald.sqlite3-*")
                ]
                modes = {p.name: oct(p.stat().st_mode & 0o777) for p in files}
                assert set(modes.values()) == {"0o600"}, modes
                home.chmod(0o755)
                for path in files:
                    path.chmod(0o644)
        finally:
            os.umask(umask)
        # SQLite gives the write-ahead log the database file's mode.
        import sqlite3

        db = sqlite3.connect(home / "herald.sqlite3")
        (home / "herald.sqlite3").chmod(0o600)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("CREATE TABLE IF NOT EXISTS t (x)")
        db.execute("INSERT INTO t VALUES (1)")
        db.commit()
        wal = home / "herald.sqlite3-wal"
        assert wal.exists() and wal.stat().st_mode & 0o777 == 0o600
        db.close()


class ScheduledPublication(HeraldTransactionTestCase):
    def test_the_worker_publishes_an_advisory_when_its_embargo_ends(self) -> None:
        ends = timezone.now() + dt.timedelta(seconds=4)  # room for a busy machine
        advisory = self.draft(embargo_until=ends)
        do_schedule_publication(advisory, acting_user=self.bob, at=ends)  # commits: task queued
        call_command("worker", "--batch", stdout=StringIO(), stderr=StringIO())
        advisory.refresh_from_db()
        assert advisory.state == Advisory.State.DRAFT  # not before its time
        time.sleep(max(0.0, (ends - timezone.now()).total_seconds()) + 0.2)
        call_command("worker", "--batch", stdout=StringIO(), stderr=StringIO())
        advisory.refresh_from_db()
        assert advisory.state == Advisory.State.PUBLISHED
        # The worker publishes as Herald's service account, a real account; who set
        # the schedule stays on the advisory.
        assert advisory.revisions.get().created_by == "herald-service"
        assert advisory.scheduled_by == "bob"
        published = AuditEvent.objects.get(action="advisory.publish")
        assert published.actor_user is not None
        assert published.actor_user.get_username() == published.actor == "herald-service"

    def test_scheduling_before_the_embargo_ends_is_refused(self) -> None:
        from django.core.exceptions import ValidationError

        advisory = self.draft(embargo_until=timezone.now() + dt.timedelta(days=2))
        with pytest.raises(ValidationError) as exc:
            do_schedule_publication(
                advisory, acting_user=self.bob, at=timezone.now() + dt.timedelta(days=1)
            )
        assert "scheduled_publish_at" in exc.value.message_dict


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_answers_on_its_port_with_the_worker_running(tmp_path: Path) -> None:
    setup = run_herald("setup", "--demo", home=tmp_path)
    assert setup.returncode == 0, setup.stderr
    port = free_port()
    environ = {k: v for k, v in os.environ.items() if k not in EMBEDDED_ONLY}
    environ["HERALD_HOME"] = str(tmp_path)
    server = subprocess.Popen(
        [*HERALD, "serve", "--port", str(port), "--workers", "1"],
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/security/advisories/", timeout=5
                ) as response:
                    body = response.read().decode()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.3)
        assert "Northwind Analytics" in body
        assert "Privilege escalation through team invitations" not in body  # the embargoed draft
        # Set up for port 8000, served on another: every absolute URL says the port served.
        with urllib.request.urlopen(
            f"http://127.0.0.1:{port}/.well-known/security.txt", timeout=5
        ) as response:
            assert f"Canonical: http://127.0.0.1:{port}/" in response.read().decode()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            output = server.communicate(timeout=60)[0]
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            output = server.communicate()[0]
            pytest.fail(f"herald serve did not stop on SIGTERM within 60 s:\n{output}")
    assert "worker running" in output
    assert (
        f"Public base URL: http://127.0.0.1:{port} (follows the address herald serve listens on"
        in output
    )
    assert "Mail goes to the local outbox" in output
