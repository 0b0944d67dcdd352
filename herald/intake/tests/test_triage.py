"""Triage on the desk: states, duplicates, targets, rewards, deadlines, spam, and secrecy."""

from __future__ import annotations

import datetime as dt
from unittest import mock

import pytest
from django.utils import timezone

from herald.audit.models import AuditEvent
from herald.core.errors import HeraldError, ValidationError
from herald.intake import actions
from herald.intake.models import Report, ReportMessage, Reward
from herald.intake.queries import outstanding_rewards, overdue_reports, reporter_thread
from herald.intake.tests.base import REPORTER, IntakeTestCase
from herald.notify import actions as notify_actions
from herald.notify import conf as notify_conf
from herald.notify import delivery
from herald.notify.models import Delivery
from herald.publication import actions as publication


class Secrecy(IntakeTestCase):
    def test_the_reporter_never_sees_an_internal_note_on_the_page_the_api_or_by_mail(
        self,
    ) -> None:
        report = self.submit()
        with self.committing():
            actions.do_add_note(report, "Internal: probably the old export.", acting_user=self.bob)
            actions.do_assign_report(report, self.bob, acting_user=self.bob)
            actions.do_reply_to_reporter(report, "Looking into it.", acting_user=self.bob)
        self.run_worker()
        assert "Internal: probably" not in [m.body for m in reporter_thread(report)]
        page = self.client.get(f"/security/reports/{report.token}/").content.decode()
        assert "Internal: probably" not in page and "Looking into it." in page
        data = self.client.get(f"/api/v1/reports/thread/{report.token}").json()
        assert "Internal: probably" not in str(data) and "Looking into it." in str(data)
        assert all("Internal: probably" not in m.get_content() for m in self.inbox.messages)
        assert len(self.mail_to_reporter()) == 2  # the acknowledgement and the answer

    def test_an_internal_message_can_never_be_put_in_the_outbox(self) -> None:
        report = self.submit()
        note = actions.do_add_note(report, "secret", acting_user=self.bob)
        with pytest.raises(HeraldError):
            actions._owe_mail(note)
        note.refresh_from_db()
        assert note.delivery is None
        assert not Delivery.objects.filter(message__text__contains="secret").exists()
        assert len(self.mail_to_reporter()) == 1

    def test_every_triage_step_is_audited(self) -> None:
        report = self.submit()
        actions.do_add_note(report, "n", acting_user=self.bob)
        actions.do_change_state(report, "informative", acting_user=self.bob)
        names = list(
            AuditEvent.objects.filter(object_id=report.tracking_id).values_list("action", flat=True)
        )
        assert names == ["report.submit", "report.note", "report.state"]


class States(IntakeTestCase):
    def test_a_duplicate_points_at_the_original_and_the_reporter_is_told(self) -> None:
        first = self.submit()
        second = self.submit(email="grace@researcher.example", title="Same bug")
        with self.committing():
            actions.do_mark_duplicate(second, first, acting_user=self.bob)
        self.run_worker()
        second.refresh_from_db()
        assert second.state == "duplicate" and second.duplicate_of == first
        told = self.inbox.to("grace@researcher.example")[-1]
        assert f"duplicate of {first.tracking_id}" in told.get_content()

    def test_a_duplicate_of_a_duplicate_points_at_the_first_report(self) -> None:
        first, second, third = (self.submit(email=f"r{i}@x.example") for i in range(3))
        actions.do_mark_duplicate(second, first, acting_user=self.bob)
        second.refresh_from_db()
        actions.do_mark_duplicate(third, second, acting_user=self.bob)
        third.refresh_from_db()
        assert third.duplicate_of == first
        with pytest.raises(ValidationError):
            actions.do_mark_duplicate(first, third, acting_user=self.bob)

    def test_spam_is_never_answered(self) -> None:
        report = self.submit()
        self.inbox.clear()
        with self.committing():
            actions.do_change_state(report, "spam", acting_user=self.bob)
        self.run_worker()
        assert self.inbox.messages == []
        assert "Status: spam" not in [m.body for m in reporter_thread(report)]

    def test_many_reports_are_marked_spam_at_once_from_the_desk(self) -> None:
        reports = [self.submit(email=f"bot{i}@spam.example") for i in range(3)]
        keep = self.submit()
        self.login(self.bob)
        response = self.client.post(
            "/desk/reports/", {"action": "spam", "report": [r.pk for r in reports]}
        )
        assert response.status_code == 302
        assert set(Report.objects.filter(state="spam")) == set(reports)
        keep.refresh_from_db()
        assert keep.state == "new"

    def test_only_desk_staff_can_be_assigned(self) -> None:
        report = self.submit()
        with pytest.raises(ValidationError):
            actions.do_assign_report(report, self.charlie, acting_user=self.bob)

    def test_a_cvss_vector_sets_the_severity_and_a_bad_one_is_refused(self) -> None:
        report = self.submit()
        report = actions.do_assess_report(
            report,
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
            acting_user=self.bob,
        )
        assert report.severity == "critical" and report.cvss_score is not None
        with pytest.raises(ValidationError) as exc:
            actions.do_assess_report(report, "CVSS:3.1/AV:X", acting_user=self.bob)
        assert "cvss_vector" in exc.value.message_dict


class Targets(IntakeTestCase):
    def test_a_report_past_its_first_response_target_is_flagged_until_answered(self) -> None:
        report = self.submit()
        later = timezone.now() + dt.timedelta(hours=73)
        with mock.patch("django.utils.timezone.now", return_value=later):
            assert list(overdue_reports()) == [report]
            assert Report.objects.get(pk=report.pk).first_response_overdue
        actions.do_reply_to_reporter(report, "On it.", acting_user=self.bob)
        with mock.patch("django.utils.timezone.now", return_value=later):
            assert list(overdue_reports()) == []
        with mock.patch(
            "django.utils.timezone.now", return_value=timezone.now() + dt.timedelta(days=11)
        ):
            assert list(overdue_reports()) == [report]  # the triage decision is due too
        actions.do_change_state(report, "not_applicable", acting_user=self.bob)
        with mock.patch(
            "django.utils.timezone.now", return_value=timezone.now() + dt.timedelta(days=11)
        ):
            assert list(overdue_reports()) == []

    def test_the_desk_list_flags_overdue_reports(self) -> None:
        report = self.submit()
        Report.objects.filter(pk=report.pk).update(
            first_response_due=timezone.now() - dt.timedelta(hours=1)
        )
        self.login(self.bob)
        page = self.client.get("/desk/reports/?overdue=1&state=").content.decode()
        assert report.tracking_id in page and "first response overdue" in page


class Accepting(IntakeTestCase):
    def test_accepting_with_no_open_incident_declares_one(self) -> None:
        report = publication.do_accept_report(self.submit(), acting_user=self.bob)
        assert report.incident is not None and report.incident.is_open
        assert "accepted report " + report.tracking_id in report.incident.declared_reason

    def test_accepting_asks_which_incident_when_some_are_open(self) -> None:
        incident = self.declare("Export problems")
        with pytest.raises(ValidationError) as exc:
            publication.do_accept_report(self.submit(), acting_user=self.bob)
        assert incident.identifier in exc.value.message_dict["incident"][0]
        report = publication.do_accept_report(
            Report.objects.get(), acting_user=self.bob, incident=incident
        )
        assert report.incident == incident

    def test_an_anonymous_reporter_is_credited_without_name_or_address(self) -> None:
        report = self.submit(credit_as="anonymous", credit_type="REPORTER")
        report = publication.do_accept_report(report, acting_user=self.bob)
        assert report.advisory is not None
        [credit] = report.advisory.credits.all()
        assert (credit.name, credit.type, credit.contact) == (
            "Anonymous researcher",
            "REPORTER",
            "",
        )

    def test_a_second_report_of_a_known_issue_adds_its_credit_to_that_advisory(self) -> None:
        first = publication.do_accept_report(self.submit(), acting_user=self.bob)
        second = self.submit(email="grace@researcher.example", name="Grace Hopper")
        second = publication.do_accept_report(second, acting_user=self.bob, advisory=first.advisory)
        assert second.advisory is not None and second.advisory == first.advisory
        assert [c.name for c in second.advisory.credits.all()] == ["Ada Lovelace", "Grace Hopper"]

    def test_the_reporter_changes_how_they_are_credited_from_their_page(self) -> None:
        report = self.submit()
        response = self.client.post(
            f"/security/reports/{report.token}/",
            {
                "action": "credit",
                "credit_as": "handle",
                "handle": "ada_l",
                "name": "",
                "credit_type": "ANALYST",
            },
        )
        assert response.status_code == 302
        report.refresh_from_db()
        assert actions.credit_for(report) == {"name": "ada_l", "type": "ANALYST", "contact": ""}


class Deadlines(IntakeTestCase):
    def test_the_deadline_is_90_days_or_7_when_exploited_and_both_sides_see_it(self) -> None:
        report = publication.do_accept_report(self.submit(), acting_user=self.bob)
        assert report.accepted_at is not None and report.disclosure_deadline is not None
        assert report.disclosure_deadline == report.accepted_at + dt.timedelta(days=90)
        accepted_at = report.accepted_at
        report = actions.do_set_exploited(report, True, acting_user=self.bob)
        assert report.disclosure_deadline == accepted_at + dt.timedelta(days=7)
        shown = f"{report.disclosure_deadline:%Y-%m-%d}"
        assert shown in self.client.get(f"/security/reports/{report.token}/").content.decode()
        self.login(self.bob)
        assert shown in self.client.get(f"/desk/reports/{report.tracking_id}/").content.decode()

    def test_reminders_are_queued_before_the_deadline_and_sent_once(self) -> None:
        from django_tasks_db.models import DBTaskResult

        with self.committing():
            report = publication.do_accept_report(
                self.submit(), acting_user=self.bob, exploited_in_wild=True
            )
        queued = DBTaskResult.objects.filter(task_path__endswith="remind_disclosure_deadline")
        # Seven days out: only the reminder a day before is still ahead (not 14 or 7).
        assert queued.count() == 1
        assert report.disclosure_deadline is not None
        deadline = report.disclosure_deadline.isoformat()
        with self.committing():
            assert actions.do_remind_deadline(report.pk, deadline, 1) == "reminded"
        assert actions.do_remind_deadline(report.pk, deadline, 1) == "already reminded"
        [reminder] = self.inbox.to("security@example.com")
        assert report.tracking_id in reminder["Subject"]
        assert actions.do_remind_deadline(report.pk, "2000-01-01T00:00:00+00:00", 7) == (
            "deadline changed"
        )


class Rewards(IntakeTestCase):
    def test_a_reward_is_offered_accepted_by_the_reporter_and_paid_with_its_history(
        self,
    ) -> None:
        report = publication.do_accept_report(self.submit(), acting_user=self.bob)
        with self.committing():
            reward = actions.do_offer_reward(
                report,
                kind="money",
                description="Bounty",
                amount="250",
                currency="eur",
                acting_user=self.bob,
            )
        self.run_worker()
        assert "Reward offered: Bounty (250.00 EUR)" in self.mail_to_reporter()[-1].get_content()
        assert list(outstanding_rewards()) == [reward]
        response = self.client.post(
            f"/security/reports/{report.token}/", {"action": "reward_accept", "reward": reward.pk}
        )
        assert response.status_code == 302
        with pytest.raises(HeraldError):
            actions.do_change_reward_status(reward, "shipped", acting_user=self.bob)
        actions.do_change_reward_status(reward, "paid", acting_user=self.bob, note="SEPA")
        reward.refresh_from_db()
        assert reward.status == "paid" and list(outstanding_rewards()) == []
        history = [(e.actor, e.from_status, e.to_status) for e in reward.events.all()]
        assert history == [
            ("bob", "", "offered"),
            ("the reporter", "offered", "accepted"),
            ("bob", "accepted", "paid"),
        ]

    def test_swag_ships_and_the_outstanding_list_shows_what_is_owed(self) -> None:
        report = publication.do_accept_report(self.submit(), acting_user=self.bob)
        reward = actions.do_offer_reward(
            report, kind="swag", description="T-shirt", acting_user=self.bob
        )
        actions.do_change_reward_status(reward, "accepted", acting_user=self.bob)
        self.login(self.bob)
        page = self.client.get("/desk/reports/rewards/").content.decode()
        assert "T-shirt" in page and REPORTER in page
        actions.do_change_reward_status(reward, "shipped", acting_user=self.bob)
        assert list(outstanding_rewards()) == []

    def test_rewards_are_for_valid_reports_only(self) -> None:
        with pytest.raises(HeraldError):
            actions.do_offer_reward(
                self.submit(), kind="swag", description="Mug", acting_user=self.bob
            )
        report = publication.do_accept_report(Report.objects.get(), acting_user=self.bob)
        with pytest.raises(ValidationError) as exc:
            actions.do_offer_reward(
                report, kind="money", description="Bounty", acting_user=self.bob
            )
        assert {"amount", "currency"} <= set(exc.value.message_dict)
        assert not Reward.objects.exists()


NOWHERE = "smtp://127.0.0.1:1?timeout=5"  # nothing listens on port 1


class MailDelivery(IntakeTestCase):
    def test_an_unreachable_smtp_server_is_retried_later_then_given_up_and_shown(self) -> None:
        with self.settings(HERALD_SMTP_URL=NOWHERE), self.committing():
            report = actions.do_submit_report(source="web", email=REPORTER, title="t", body="b")
        ack = report.messages.get(kind="to_reporter")
        with self.settings(HERALD_SMTP_URL=NOWHERE):
            self.run_worker()
        assert ack.delivery is not None
        row = ack.delivery
        # One outbox: the reporter's mail is retried like any delivery, with its backoff.
        assert row.status == "failed" and row.attempts == 1 and "127.0.0.1:1" in row.last_error
        assert ack.mail_status == "pending" and ack.mail_last_error == row.last_error
        for _ in range(len(notify_conf.retry_delays())):
            Delivery.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())
            with self.settings(HERALD_SMTP_URL=NOWHERE):
                delivery.drain(seconds=5, sessions=1, senders=1)
        ack = ReportMessage.objects.select_related("delivery").get(pk=ack.pk)
        assert ack.mail_status == "dead"
        self.login(self.bob)
        assert report.tracking_id in self.client.get("/desk/reports/mail/").content.decode()
        # ...and in the same outbox view as every other dead message, re-drivable there.
        dead = self.client.get("/desk/notify/deliveries/?status=dead").content.decode()
        assert f"[{report.tracking_id}]" in dead
        assert notify_actions.do_redrive([row.pk], acting_user=self.bob) == 1
        delivery.drain(seconds=5, sessions=1, senders=1)
        [copy] = self.mail_to_reporter()
        assert copy["Message-ID"] == row.rfc_message_id
        assert copy["In-Reply-To"].startswith(f"<rpt-{report.reply_token}.0@")
        assert copy["Auto-Submitted"] == "auto-generated"
        assert ReportMessage.objects.select_related("delivery").get(pk=ack.pk).mail_status == "sent"
