"""DESIGN.md's rules, one group of tests per rule; each breaks when its rule breaks."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import TestCase

from herald.advisories.models import Advisory, Revision
from herald.advisories.queries import (
    access_public_advisory,
    current_advisories,
    past_advisories,
    public_advisories,
)
from herald.audit.actions import verify
from herald.audit.models import AuditEvent
from herald.core.errors import ConflictError, HeraldError
from herald.incidents.actions import do_resolve_incident
from herald.incidents.models import Incident, IncidentEvent
from herald.notify.actions import do_create_channel
from herald.notify.models import Message
from herald.publication.actions import (
    do_create_advisory,
    do_mark_fixed,
    do_publish_advisory,
    do_resolve_advisory,
    do_update_advisory,
    do_withdraw_advisory,
)
from herald.test import HeraldTestCase, publishable


def last_event(advisory: Advisory) -> IncidentEvent:
    event = advisory.incident.events.last()
    assert event is not None
    return event


def field_errors(exc: pytest.ExceptionInfo[ValidationError]) -> dict[str, list[str]]:
    return exc.value.message_dict


class Rule1NoChangeOutsideAnOpenIncident(HeraldTestCase):
    def test_it_refuses_to_create_an_advisory_in_a_resolved_incident(self) -> None:
        incident = self.declare()
        do_resolve_incident(incident, acting_user=self.bob)
        with pytest.raises(ValidationError) as exc:
            do_create_advisory(acting_user=self.bob, incident=incident, **publishable())
        assert "resolved" in field_errors(exc)["incident"][0]
        assert not Advisory.objects.exists()

    def test_it_asks_which_incident_when_some_are_open_and_none_is_named(self) -> None:
        open_one = self.declare("Something else")
        with pytest.raises(ValidationError) as exc:
            do_create_advisory(acting_user=self.bob, **publishable())
        assert open_one.identifier in field_errors(exc)["incident"][0]
        assert not Advisory.objects.exists()

    def test_creating_with_no_incident_open_declares_one_and_records_who_and_why(self) -> None:
        do_create_channel(
            name="security-team", kind="email", internal=True, acting_user=self.alice,
            config={"to": ["security@example.com"]}, events=["incident.declared"],
        )  # fmt: skip
        with self.captureOnCommitCallbacks(execute=True):
            advisory = do_create_advisory(acting_user=self.bob, **publishable())
        incident = advisory.incident
        assert incident.is_open and incident.auto_declared
        assert incident.declared_by == "bob"
        event = incident.events.get(kind=IncidentEvent.Kind.AUTO_DECLARED)
        assert "Declared automatically" in event.message and "bob" in event.message
        assert incident.declared_reason == "No incident was open; declared to draft an advisory."
        # Declared automatically or by hand, the internal channels hear of it alike.
        told = Message.objects.get(source=Message.Source.INCIDENT)
        assert told.key == f"incident:{incident.pk}"

    def test_changing_an_advisory_whose_incident_is_resolved_declares_a_new_incident(self) -> None:
        advisory = self.published()
        first = advisory.incident
        do_resolve_incident(first, acting_user=self.bob)
        advisory = do_update_advisory(
            advisory,
            acting_user=self.alice,
            change_summary="Clarify scope.",
            affected_users="Only US cloud customers.",
        )
        assert advisory.incident != first
        assert advisory.incident.auto_declared and advisory.incident.is_open
        assert advisory.identifier in advisory.incident.declared_reason
        assert advisory.revisions.latest("number").incident == advisory.incident

    def test_publishing_withdrawing_and_resolving_each_need_an_open_incident(self) -> None:
        advisory = self.draft()
        do_resolve_incident(advisory.incident, acting_user=self.bob)
        advisory = do_publish_advisory(advisory, acting_user=self.bob)
        assert advisory.incident.auto_declared
        do_resolve_incident(advisory.incident, acting_user=self.bob)
        advisory = do_resolve_advisory(advisory, acting_user=self.bob, change_summary="Done.")
        assert advisory.incident.is_open
        do_resolve_incident(advisory.incident, acting_user=self.bob)
        advisory = do_withdraw_advisory(advisory, acting_user=self.bob, reason="Duplicate.")
        assert advisory.incident.is_open
        assert Incident.objects.filter(auto_declared=True).count() == 3

    def test_naming_a_resolved_incident_for_a_change_is_refused(self) -> None:
        advisory = self.published()
        closed = self.declare("Old")
        do_resolve_incident(closed, acting_user=self.bob)
        with pytest.raises(ValidationError) as exc:
            do_update_advisory(
                advisory,
                acting_user=self.bob,
                incident=closed,
                change_summary="x",
                title="New title",
            )
        assert "incident" in field_errors(exc)
        advisory.refresh_from_db()
        assert advisory.title == publishable()["title"]


class Rule2Timeline(HeraldTestCase):
    def test_a_timeline_out_of_order_is_refused_naming_the_field(self) -> None:
        incident = self.declare()
        with pytest.raises(ValidationError) as exc:
            do_create_advisory(
                acting_user=self.bob,
                incident=incident,
                **publishable(discovered_at=dt.date(2026, 1, 10), reported_at=dt.date(2026, 1, 9)),
            )
        assert "reported_at" in field_errors(exc)
        assert "before discovered" in field_errors(exc)["reported_at"][0]
        assert not Advisory.objects.exists()

    def test_fixed_before_reported_and_disclosed_before_fixed_are_refused(self) -> None:
        incident = self.declare()
        with pytest.raises(ValidationError) as exc:
            do_create_advisory(
                acting_user=self.bob, incident=incident, **publishable(fixed_at=dt.date(2026, 1, 1))
            )
        assert "fixed_at" in field_errors(exc)
        with pytest.raises(ValidationError) as exc:
            do_create_advisory(
                acting_user=self.bob,
                incident=incident,
                **publishable(disclosed_at=dt.date(2026, 1, 11)),
            )
        assert "disclosed_at" in field_errors(exc)

    def test_the_same_day_for_every_step_is_in_order(self) -> None:
        day = dt.date(2026, 1, 10)
        advisory = self.draft(discovered_at=day, reported_at=day, fixed_at=day, disclosed_at=day)
        assert advisory.fixed_at == day

    def test_fixed_and_resolved_need_a_fixed_date(self) -> None:
        incident = self.declare()
        for status in ("fixed", "resolved"):
            with pytest.raises(ValidationError) as exc:
                do_create_advisory(
                    acting_user=self.bob,
                    incident=incident,
                    **publishable(status=status, fixed_at=None),
                )
            assert "fixed_at" in field_errors(exc)
        advisory = self.draft(status="reported", fixed_at=None)
        with pytest.raises(ValidationError):
            do_resolve_advisory(advisory, acting_user=self.bob)

    def test_marking_fixed_after_publication_must_keep_the_timeline(self) -> None:
        advisory = self.published(status="reported", fixed_at=None)
        assert advisory.disclosed_at == dt.date.today()
        with pytest.raises(ValidationError) as exc:
            do_mark_fixed(
                advisory, acting_user=self.bob, fixed_at=dt.date.today() + dt.timedelta(1)
            )
        assert "disclosed_at" in field_errors(exc)

    def test_resolved_advisories_are_past_and_published_reported_or_fixed_are_current(self) -> None:
        reported = self.published(status="reported", fixed_at=None, title="Reported one")
        fixed = self.published(title="Fixed one", cve_ids=[])
        resolved = do_resolve_advisory(
            self.published(title="Resolved one", cve_ids=[]),
            acting_user=self.bob,
            change_summary="Resolved.",
        )
        withdrawn = do_withdraw_advisory(
            self.published(title="Withdrawn one", cve_ids=[]),
            acting_user=self.bob,
            reason="Not a vulnerability.",
        )
        self.draft(title="Draft one", cve_ids=[])
        assert set(current_advisories()) == {reported, fixed}
        assert set(past_advisories()) == {resolved, withdrawn}

    def test_with_no_current_advisory_the_current_list_is_empty(self) -> None:
        do_resolve_advisory(self.published(), acting_user=self.bob, change_summary="Resolved.")
        assert not current_advisories().exists()


class Rule3Embargo(HeraldTestCase):
    def test_drafts_are_never_among_public_advisories(self) -> None:
        draft = self.draft(title="EMBARGOED-CANARY-7731")
        self.published(title="Public one", cve_ids=["CVE-2026-22222"])
        assert draft not in public_advisories()
        assert "EMBARGOED-CANARY-7731" not in str(list(public_advisories().values()))

    def test_a_draft_is_not_found_exactly_like_a_missing_advisory(self) -> None:
        draft = self.draft()
        with pytest.raises(HeraldError) as by_draft:
            access_public_advisory(draft.identifier)
        with pytest.raises(HeraldError) as by_cve:
            access_public_advisory(draft.cve_ids[0])
        assert "No published advisory" in str(by_draft.value)
        assert "No published advisory" in str(by_cve.value)

    def test_publishing_during_the_embargo_needs_a_recorded_reason(self) -> None:
        until = dt.datetime.now(dt.UTC) + dt.timedelta(days=3)
        advisory = self.draft(embargo_until=until)
        with pytest.raises(ValidationError) as exc:
            do_publish_advisory(advisory, acting_user=self.bob)
        assert "embargo_until" in field_errors(exc)
        advisory.refresh_from_db()
        assert advisory.state == Advisory.State.DRAFT
        advisory = do_publish_advisory(
            advisory, acting_user=self.bob, lift_embargo_reason="Exploited in the wild."
        )
        assert advisory.state == Advisory.State.PUBLISHED
        event = AuditEvent.objects.filter(action="advisory.publish").get()
        assert (event.after or {})["lift_embargo_reason"] == "Exploited in the wild."
        assert "Exploited in the wild." in last_event(advisory).message


class Rule4Outreach(HeraldTestCase):
    def test_publishing_with_exposure_or_user_action_creates_the_outreach_campaign(self) -> None:
        flag_sets: list[dict[str, Any]] = [
            {"confirmed_exposure": True},
            {"user_action_required": True},
        ]
        for flags in flag_sets:
            advisory = do_publish_advisory(self.draft(cve_ids=[], **flags), acting_user=self.bob)
            assert advisory.campaigns.get().status == "draft"  # approved and sent by a person
            assert "outreach campaign" in last_event(advisory).message

    def test_a_recorded_waiver_says_who_and_why(self) -> None:
        advisory = self.draft(confirmed_exposure=True)
        advisory = do_publish_advisory(
            advisory, acting_user=self.alice, outreach_waiver_reason="Only our own test tenant."
        )
        assert advisory.outreach_waived_by == "alice"
        assert advisory.outreach_waiver_reason == "Only our own test tenant."
        assert "outreach waived by alice" in last_event(advisory).message
        published = AuditEvent.objects.get(action="advisory.publish").after or {}
        assert published["confirmed_exposure"] is True

    def test_advisories_without_exposure_or_user_action_publish_without_outreach(self) -> None:
        assert self.published().state == Advisory.State.PUBLISHED


class Rule5Revisions(HeraldTestCase):
    def test_publishing_writes_the_first_revision_with_a_snapshot(self) -> None:
        advisory = self.published()
        revision = advisory.revisions.get()
        assert (revision.number, revision.kind) == (1, Revision.Kind.PUBLISHED)
        assert revision.snapshot["title"] == advisory.title
        assert revision.snapshot["state"] == "published"

    def test_changing_a_public_advisory_needs_a_change_summary(self) -> None:
        advisory = self.published()
        with pytest.raises(ValidationError) as exc:
            do_update_advisory(advisory, acting_user=self.bob, title="Changed")
        assert "change_summary" in field_errors(exc)
        assert advisory.revisions.count() == 1

    def test_each_change_after_publication_is_a_new_revision(self) -> None:
        advisory = self.published()
        advisory = do_update_advisory(
            advisory, acting_user=self.bob, change_summary="Add CWE.", cwe_ids=["CWE-79"]
        )
        advisory = do_resolve_advisory(advisory, acting_user=self.bob, change_summary="Done.")
        revisions = list(advisory.revisions.order_by("number"))
        assert [(r.number, r.kind, r.summary) for r in revisions] == [
            (1, "published", "Published."),
            (2, "updated", "Add CWE."),
            (3, "updated", "Done."),
        ]
        assert revisions[0].snapshot["vulnerabilities"][0]["cwe_ids"] == []
        assert revisions[1].snapshot["vulnerabilities"][0]["cwe_ids"] == ["CWE-79"]
        assert revisions[2].snapshot["status"] == "resolved"

    def test_a_published_advisory_never_goes_back_to_draft(self) -> None:
        advisory = self.published()
        with pytest.raises(ValidationError):
            do_update_advisory(advisory, acting_user=self.bob, change_summary="x", state="draft")
        with pytest.raises(HeraldError):
            do_publish_advisory(advisory, acting_user=self.bob)
        advisory.refresh_from_db()
        assert advisory.state == Advisory.State.PUBLISHED

    def test_a_withdrawal_is_a_revision_and_the_advisory_stays_public(self) -> None:
        advisory = do_withdraw_advisory(
            self.published(), acting_user=self.bob, reason="Not a vulnerability."
        )
        revision = advisory.revisions.latest("number")
        assert revision.kind == Revision.Kind.WITHDRAWN
        assert revision.snapshot["withdrawn_reason"] == "Not a vulnerability."
        assert advisory in public_advisories() and advisory in past_advisories()
        with pytest.raises(HeraldError):
            do_update_advisory(advisory, acting_user=self.bob, change_summary="x", title="y")

    def test_withdrawing_a_draft_is_refused(self) -> None:
        with pytest.raises(HeraldError):
            do_withdraw_advisory(self.draft(), acting_user=self.bob, reason="x")

    def test_revisions_cannot_be_edited_or_deleted(self) -> None:
        revision = self.published().revisions.get()
        revision.summary = "rewritten history"
        with pytest.raises(ValueError, match="immutable"):
            revision.save()
        with pytest.raises(ValueError, match="immutable"):
            revision.delete()

    def test_drafts_change_without_revisions(self) -> None:
        advisory = do_update_advisory(self.draft(), acting_user=self.bob, title="Better title")
        assert advisory.title == "Better title" and not advisory.revisions.exists()


class Rule6Audit(HeraldTestCase):
    def test_every_action_writes_one_audit_event_in_the_chain(self) -> None:
        def actions_of(count: int) -> list[str]:
            return list(AuditEvent.objects.order_by("seq").values_list("action", flat=True)[count:])

        start = AuditEvent.objects.count()
        incident = self.declare()
        advisory = self.draft(incident)
        advisory = do_update_advisory(advisory, acting_user=self.bob, summary="One line.")
        advisory = do_publish_advisory(advisory, acting_user=self.bob)
        advisory = do_mark_fixed(
            advisory,
            acting_user=self.bob,
            fixed_at=dt.date(2026, 1, 12),
            change_summary="Fix date confirmed.",
            resolution="Patched.",
        )
        advisory = do_resolve_advisory(advisory, acting_user=self.bob, change_summary="Resolved.")
        do_withdraw_advisory(advisory, acting_user=self.bob, reason="Duplicate.")
        do_resolve_incident(incident, acting_user=self.bob)
        assert actions_of(start) == [
            "incident.declare",
            "advisory.create",
            "advisory.update",
            "advisory.publish",
            "advisory.fix",
            "advisory.resolve",
            "advisory.withdraw",
            "incident.resolve",
        ]
        assert verify() == []

    def test_events_say_who_and_what_before_and_after(self) -> None:
        advisory = self.draft()
        do_update_advisory(advisory, acting_user=self.alice, title="Renamed")
        event = AuditEvent.objects.get(action="advisory.update")
        assert event.actor == "alice" and event.actor_user == self.alice
        assert event.object_id == advisory.identifier
        assert (event.before or {})["title"] == publishable()["title"]
        assert (event.after or {})["title"] == "Renamed"

    def test_a_refused_action_leaves_no_event_and_no_change(self) -> None:
        advisory = self.draft()
        before = AuditEvent.objects.count()
        with pytest.raises(ValidationError):
            do_update_advisory(advisory, acting_user=self.bob, cve_ids=["CVE-12-1"])
        assert AuditEvent.objects.count() == before


class BadInput(HeraldTestCase):
    def test_a_malformed_cve_id_is_refused_naming_the_field(self) -> None:
        incident = self.declare()
        for bad in ("CVE-2024-XXXXX", "cve-24-1", "CVE-1998-1234", "<script>"):
            with pytest.raises(ValidationError) as exc:
                do_create_advisory(
                    acting_user=self.bob, incident=incident, **publishable(cve_ids=[bad])
                )
            assert "cve_ids" in field_errors(exc)
        assert not Advisory.objects.exists()

    def test_cve_ids_are_normalised(self) -> None:
        advisory = self.draft(cve_ids=["cve-2026-1234", "CVE-2026-1234", " CVE-2026-99999 "])
        assert advisory.cve_ids == ["CVE-2026-1234", "CVE-2026-99999"]

    def test_an_unknown_product_is_refused(self) -> None:
        with pytest.raises(ValidationError) as exc:
            self.draft(affected=[{"product": "no-such-product"}])
        assert "no-such-product" in field_errors(exc)["affected"][0]
        assert not Advisory.objects.exists()

    def test_publishing_with_required_fields_missing_names_each(self) -> None:
        advisory = self.draft(description="", affected_users="", severity="")
        with pytest.raises(ValidationError) as exc:
            do_publish_advisory(advisory, acting_user=self.bob)
        assert {"description", "affected_users", "severity"} <= set(field_errors(exc))
        advisory.refresh_from_db()
        assert advisory.state == Advisory.State.DRAFT and not advisory.revisions.exists()

    def test_an_invalid_cvss_vector_is_refused_and_a_valid_one_sets_severity(self) -> None:
        with pytest.raises(ValidationError) as exc:
            self.draft(cvss_v3_vector="CVSS:3.1/AV:Q")
        assert "cvss_v3_vector" in field_errors(exc)
        advisory = self.draft(
            severity="low", cvss_v3_vector="CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"
        )
        assert (advisory.severity, str(advisory.cvss_v3_score)) == ("critical", "9.8")

    def test_huge_text_is_refused_not_truncated(self) -> None:
        with pytest.raises(ValidationError) as exc:
            self.draft(description="x" * 100_001)
        assert "description" in field_errors(exc)

    def test_hostile_strings_are_stored_as_given(self) -> None:
        text = "<script>alert(1)</script> ' OR 1=1 -- \u200f ünïcødé 🔥"
        advisory = self.draft(description=text)
        advisory.refresh_from_db()
        assert advisory.description == text

    def test_a_control_character_in_a_title_is_refused_naming_the_field(self) -> None:
        with pytest.raises(ValidationError) as exc:
            self.draft(title="Bell \x07 in the title")
        assert "U+0007" in field_errors(exc)["title"][0]

    def test_a_right_to_left_override_is_refused_in_any_text(self) -> None:
        for field in ("title", "summary", "description", "affected_users", "resolution"):
            with self.subTest(field), pytest.raises(ValidationError) as exc:
                self.draft(None, **{field: "evil\u202eexe.txt"})
            assert "U+202E" in field_errors(exc)[field][0]

    def test_a_javascript_link_in_markdown_is_refused(self) -> None:
        with pytest.raises(ValidationError) as exc:
            self.draft(resolution="[Fix](javascript:alert(1))")
        assert "http(s) or mailto addresses, or be relative" in field_errors(exc)["resolution"][0]

    def test_a_control_character_in_a_credit_or_a_withdrawal_reason_is_refused(self) -> None:
        with pytest.raises(ValidationError) as exc:
            self.draft(credits=[{"name": "Eve\x1b[2J", "type": "finder"}])
        assert "credits[1].name" in field_errors(exc)
        advisory = self.published()
        with pytest.raises(ValidationError) as exc:
            do_withdraw_advisory(advisory, acting_user=self.bob, reason="Dup\x00licate")
        assert "reason" in field_errors(exc)

    def test_a_second_public_advisory_with_the_same_title_that_day_is_refused(self) -> None:
        first = self.published(title="Token leak")
        second = self.draft(title="token  LEAK")
        with pytest.raises(ValidationError) as exc:
            do_publish_advisory(second, acting_user=self.bob)
        assert first.identifier in field_errors(exc)["title"][0]
        do_update_advisory(second, acting_user=self.bob, title="Token leak, again")
        do_publish_advisory(second, acting_user=self.bob)

    def test_a_cve_already_used_by_another_advisory_is_refused_naming_it(self) -> None:
        first = self.published(cve_ids=["CVE-2026-1234567"])
        with pytest.raises(ValidationError) as exc:
            self.draft(title="The same again", cve_ids=["cve-2026-1234567"])
        message = field_errors(exc)["cve_ids"][0]
        assert "CVE-2026-1234567" in message and first.identifier in message
        do_update_advisory(
            first, acting_user=self.bob, change_summary="Typo.", title="Its own CVE is fine"
        )

    def test_an_unknown_region_is_refused(self) -> None:
        with pytest.raises(ValidationError) as exc:
            self.draft(affected_regions=["APAC"])
        assert "affected_regions" in field_errors(exc)

    def test_regions_are_read_from_the_affected_users_prose(self) -> None:
        advisory = self.draft(affected_users="Only EU customers on the cloud.")
        assert advisory.affected_regions == ["EU"]


class Conflicts(HeraldTestCase):
    def test_the_second_of_two_editors_gets_a_conflict_not_an_overwrite(self) -> None:
        advisory = self.draft()
        seen_by_both = advisory.version
        do_update_advisory(
            advisory, acting_user=self.alice, expected_version=seen_by_both, title="Alice's title"
        )
        with pytest.raises(ConflictError) as exc:
            do_update_advisory(
                advisory, acting_user=self.bob, expected_version=seen_by_both, title="Bob's title"
            )
        assert "nothing was saved" in str(exc.value)
        advisory.refresh_from_db()
        assert advisory.title == "Alice's title"


class Identifiers(TestCase):
    def test_public_numbers_count_per_year_with_the_vendor_prefix(self) -> None:
        from herald.core.ids import next_identifier

        assert next_identifier("HRLD", 2026) == "HRLD-2026-0001"
        assert next_identifier("HRLD", 2026) == "HRLD-2026-0002"
        assert next_identifier("HRLD", 2027) == "HRLD-2027-0001"


class PublicNumbers(HeraldTestCase):
    def test_drafts_do_not_use_up_public_numbers(self) -> None:
        first = self.published(title="First", cve_ids=[])
        draft = self.draft(title="Still embargoed", cve_ids=[])
        second = self.published(title="Second", cve_ids=[])
        assert [first.identifier, second.identifier] == ["NW-2026-0001", "NW-2026-0002"]
        assert draft.identifier.startswith("NW-2026-DRAFT-")

    def test_publication_records_the_draft_handle_and_the_public_number(self) -> None:
        draft = self.draft()
        advisory = do_publish_advisory(draft, acting_user=self.bob)
        event = AuditEvent.objects.get(action="advisory.publish")
        assert (event.before or {})["identifier"] == draft.identifier
        assert (event.after or {})["identifier"] == advisory.identifier == event.object_id
        assert draft.identifier in last_event(advisory).message


class AutoDeclaredIncidentsKeepDraftsPrivate(HeraldTestCase):
    def test_an_automatic_incident_does_not_repeat_the_drafts_title(self) -> None:
        advisory = do_create_advisory(
            acting_user=self.bob, **publishable(title="EMBARGOED-TITLE-CANARY")
        )
        incident = advisory.incident
        texts = [incident.title, incident.declared_reason, incident.summary]
        texts += [e.message for e in incident.events.all() if "drafted:" not in e.message]
        assert not any("EMBARGOED-TITLE-CANARY" in t for t in texts)
