"""The audit chain shows any edit, insertion or removal made behind Herald's back.

The chain itself catches edits in the middle; its signed anchor outside the
database (herald.audit.anchor) catches what the database alone cannot show:
truncation with the head, deletion of everything, a chain recomputed with
Herald's own hash. Advisory rows edited directly show against their last
audited state.
"""

from __future__ import annotations

import json
import os
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from herald.audit import anchor
from herald.audit.actions import _digest, _fields, record, verify
from herald.audit.models import AuditEvent
from herald.test import HeraldTestCase


def raw_sql(sql: str, params: list[str] | None = None) -> None:
    """Tamper as an attacker with database access would: around the ORM."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])


class ChainCase(HeraldTestCase):
    def setUp(self) -> None:
        # The commits' callbacks run, as in production: each writes a checkpoint.
        with self.captureOnCommitCallbacks(execute=True):
            self.advisory = self.published()  # declare, create, publish: three events
        assert AuditEvent.objects.count() == 3

    def run_verify(self) -> str:
        out, err = StringIO(), StringIO()
        try:
            call_command("audit", "verify", stdout=out, stderr=err)
        finally:
            self.verify_errors = err.getvalue()
        return out.getvalue()

    def assert_verify_reports(self, words: str) -> None:
        with pytest.raises(CommandError, match="audit chain broken"):
            self.run_verify()
        assert words in self.verify_errors, self.verify_errors


class AuditChain(ChainCase):
    def test_an_untouched_chain_verifies(self) -> None:
        assert verify() == []
        out = self.run_verify()
        assert "audit chain intact: 3 events" in out
        assert "the last at #3" in out

    def test_editing_an_event_in_the_database_is_detected(self) -> None:
        raw_sql("UPDATE audit_auditevent SET actor = %s WHERE seq = 2", ["mallory"])
        problems = verify()
        assert [(p.seq, "edited" in p.problem) for p in problems] == [(2, True)]
        with pytest.raises(CommandError, match="audit chain broken"):
            self.run_verify()

    def test_editing_the_before_and_after_state_is_detected(self) -> None:
        event = AuditEvent.objects.get(seq=3)
        after = dict(event.after or {})
        after["title"] = "Something harmless"
        AuditEvent.objects.filter(seq=3).update(after=after)
        assert [p.seq for p in verify()] == [3]

    def test_removing_an_event_in_the_middle_is_detected(self) -> None:
        raw_sql("DELETE FROM audit_auditevent WHERE seq = 2")
        problems = verify()
        assert any("removed" in p.problem for p in problems)

    def test_removing_the_newest_event_is_detected(self) -> None:
        raw_sql("DELETE FROM audit_auditevent WHERE seq = 3")
        problems = verify()
        assert any("newest events removed" in p.problem for p in problems)

    def test_inserting_a_forged_event_is_detected(self) -> None:
        last = AuditEvent.objects.get(seq=3)
        AuditEvent.objects.create(
            seq=4,
            at=last.at,
            actor="mallory",
            action="advisory.publish",
            object_type="advisories.advisory",
            object_id="X",
            prev_hash=last.hash,
            hash="f" * 64,
        )
        problems = verify()
        assert any(p.seq == 4 and "edited" in p.problem for p in problems)

    def test_events_can_be_listed_by_object_for_review(self) -> None:
        import json
        from io import StringIO

        advisory_id = AuditEvent.objects.get(seq=3).object_id  # the public number
        out = StringIO()
        call_command("audit", "list", "--object", advisory_id, stdout=out)
        lines = [json.loads(line) for line in out.getvalue().splitlines()]
        assert [e["action"] for e in lines] == ["advisory.create", "advisory.publish"]
        assert all(len(e["hash"]) == 64 for e in lines)


class AuditAnchor(ChainCase):
    """What only the checkpoints outside the database can show."""

    # Inside a test case, setUp's three actions share the test's transaction, so
    # they left one checkpoint (#3); in production each commit leaves one.

    def test_each_committed_transaction_appends_one_signed_checkpoint(self) -> None:
        lines = anchor.anchor_path().read_text().splitlines()
        assert [json.loads(line)["seq"] for line in lines] == [3]
        with self.captureOnCommitCallbacks(execute=True), transaction.atomic():
            record(acting_user=None, action="test.one", object_type="t", object_id="1")
            record(acting_user=None, action="test.two", object_type="t", object_id="2")
        lines = anchor.anchor_path().read_text().splitlines()
        assert [json.loads(line)["seq"] for line in lines] == [3, 5]

    def test_a_rolled_back_transaction_leaves_no_checkpoint(self) -> None:
        with self.captureOnCommitCallbacks(execute=True), transaction.atomic():
            try:
                with transaction.atomic():
                    record(acting_user=None, action="test.gone", object_type="t", object_id="1")
                    raise RuntimeError("rolled back")
            except RuntimeError:
                pass
        assert len(anchor.anchor_path().read_text().splitlines()) == 1
        assert self.run_verify()

    def test_removing_the_newest_events_with_the_head_row_is_detected(self) -> None:
        raw_sql("DELETE FROM audit_auditevent WHERE seq = 3")
        raw_sql("DELETE FROM audit_audithead")
        assert verify() == []  # the chain alone cannot tell
        self.assert_verify_reports("the anchor saw event #3")

    def test_moving_the_head_back_with_the_newest_events_is_detected(self) -> None:
        second = AuditEvent.objects.get(seq=2)
        raw_sql("DELETE FROM audit_auditevent WHERE seq = 3")
        raw_sql("UPDATE audit_audithead SET seq = 2, hash = %s", [second.hash])
        assert verify() == []
        self.assert_verify_reports("but the chain ends at #2: newest events removed")

    def test_deleting_every_event_is_detected(self) -> None:
        raw_sql("DELETE FROM audit_auditevent")
        raw_sql("DELETE FROM audit_audithead")
        assert verify() == []
        self.assert_verify_reports("the chain ends at #0")

    def test_a_chain_recomputed_with_heralds_own_hash_is_detected(self) -> None:
        prev = AuditEvent.objects.get(seq=1).hash
        for event in AuditEvent.objects.filter(seq__gte=2).order_by("seq"):
            event.actor = "mallory"
            event.prev_hash = prev
            event.hash = _digest(prev, _fields(event))
            raw_sql(
                "UPDATE audit_auditevent SET actor = %s, prev_hash = %s, hash = %s WHERE seq = %s",
                [event.actor, event.prev_hash, event.hash, str(event.seq)],
            )
            prev = event.hash
        raw_sql("UPDATE audit_audithead SET hash = %s", [prev])
        assert verify() == []  # a consistent chain: only the anchor knows it was rewritten
        self.assert_verify_reports("event #3 does not match its checkpoint")

    def test_deleting_the_anchor_file_is_detected(self) -> None:
        anchor.anchor_path().unlink()
        self.assert_verify_reports("not anchored")

    def test_a_forged_checkpoint_line_is_detected(self) -> None:
        lines = anchor.anchor_path().read_text().splitlines()
        forged = json.loads(lines[-1])
        forged["seq"], forged["hash"] = 2, AuditEvent.objects.get(seq=2).hash
        with anchor.anchor_path().open("a") as fh:
            fh.write(json.dumps(forged) + "\n")
        self.assert_verify_reports("anchor line 2 is damaged or forged")

    def test_herald_audit_anchor_starts_an_anchor_for_an_unanchored_chain(self) -> None:
        anchor.anchor_path().unlink()
        call_command("audit", "anchor", stdout=StringIO())
        assert "the last at #3" in self.run_verify()

    def test_an_advisory_edited_in_the_database_is_reported(self) -> None:
        raw_sql(
            "UPDATE advisories_advisory SET title = %s, severity = %s WHERE id = %s",
            ["Nothing to see", "low", str(self.advisory.pk)],
        )
        self.assert_verify_reports(f"advisory {self.advisory.identifier} differs")
        assert "in: severity, title" in self.verify_errors

    def with_affected_rows(self) -> int:
        with self.captureOnCommitCallbacks(execute=True):
            advisory = self.published(affected=[{"product": "cloud", "fixed": "1.4"}])
        return advisory.pk

    def test_an_affected_version_edited_in_the_database_is_reported(self) -> None:
        pk = self.with_affected_rows()
        raw_sql("UPDATE advisories_affected SET fixed = %s WHERE advisory_id = %s", ["99", str(pk)])
        self.assert_verify_reports(" affected: edited outside Herald")

    def test_renaming_a_product_is_not_an_edit_of_its_advisories(self) -> None:
        self.with_affected_rows()
        raw_sql("UPDATE core_product SET name = %s WHERE slug = %s", ["Renamed", "cloud"])
        assert "audit chain intact" in self.run_verify()

    def test_an_advisory_inserted_in_the_database_is_reported(self) -> None:
        AuditEvent.objects.filter(object_pk=str(self.advisory.pk)).update(object_pk="0")
        self.assert_verify_reports("has no audited state")


def test_a_checkpoint_costs_well_under_a_millisecond_beside_a_commit() -> None:
    """Not a benchmark: a guard that signing stays cheap enough to do after every commit."""
    import time

    anchor._signer(anchor.anchor_dir())  # the key is made once, on first use
    message = anchor._message(1, "0" * 64, "2026-01-01T00:00:00+00:00")
    signer = anchor._signer(anchor.anchor_dir())
    started = time.perf_counter()
    for _ in range(200):
        anchor.pgp.sign(signer, message, mode=anchor.pgp.SignatureMode.DETACHED)
    assert (time.perf_counter() - started) / 200 < 0.005


class AnchorCopies(ChainCase):
    def test_each_checkpoint_also_goes_to_syslog_when_asked(self) -> None:
        import logging
        import logging.handlers
        import socket

        receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        receiver.bind(("127.0.0.1", 0))
        receiver.settimeout(5)
        # What HERALD_AUDIT_SYSLOG=127.0.0.1:PORT configures (herald/settings.py).
        handler = logging.handlers.SysLogHandler(address=receiver.getsockname())
        logger = logging.getLogger("herald.audit.anchor")
        level = logger.level
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        try:
            seq = anchor.write_checkpoint()
            message = receiver.recv(4096).decode()
        finally:
            logger.removeHandler(handler)
            logger.setLevel(level)
            handler.close()
            receiver.close()
        head = AuditEvent.objects.get(seq=seq)
        assert f"audit checkpoint #{seq} {head.hash}" in message

    def test_a_syslog_socket_that_does_not_exist_is_a_configuration_error(self) -> None:
        import subprocess
        import sys
        import tempfile

        with tempfile.TemporaryDirectory() as home:
            done = subprocess.run(
                [sys.executable, "-m", "herald.cli", "check"],
                env={
                    **{k: v for k, v in os.environ.items() if k != "HERALD_TEST_DB"},
                    "HERALD_HOME": home,
                    "HERALD_AUDIT_SYSLOG": "/nonexistent/log",
                    "DATABASE_URL": "",
                },
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
        assert done.returncode != 0 and "herald.E031" in done.stderr
        assert "Traceback" not in done.stderr
