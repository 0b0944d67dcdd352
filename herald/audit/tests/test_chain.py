"""The audit chain shows any edit, insertion or removal made behind Herald's back."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from herald.audit.actions import verify
from herald.audit.models import AuditEvent
from herald.test import HeraldTestCase


def raw_sql(sql: str, params: list[str] | None = None) -> None:
    """Tamper as an attacker with database access would: around the ORM."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])


class AuditChain(HeraldTestCase):
    def setUp(self) -> None:
        self.published()  # declare, create, publish: three linked events
        assert AuditEvent.objects.count() == 3

    def test_an_untouched_chain_verifies(self) -> None:
        assert verify() == []
        out = self.run_verify()
        assert "audit chain intact: 3 events" in out

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

    def run_verify(self) -> str:
        from io import StringIO

        out, err = StringIO(), StringIO()
        call_command("audit", "verify", stdout=out, stderr=err)
        return out.getvalue()
