"""Internal channels, subscribers' mail and the delivery engine, against real peers on loopback."""

from __future__ import annotations

import time
from typing import Any
from unittest import mock

import pytest
from django.test import override_settings
from django.utils import timezone

from herald.core import http
from herald.incidents.actions import do_resolve_incident
from herald.incidents.models import Incident
from herald.notify import actions, delivery
from herald.notify.channels import verify_signature
from herald.notify.models import Delivery, Subscriber
from herald.notify.tests.peers import free_port, http_receiver, smtp_server
from herald.publication.actions import do_create_advisory, do_mark_fixed
from herald.test import HeraldTestCase, publishable

SECRET = "s3cret-signing-key-0123456789"


def settings_for(port: int, **extra: Any) -> override_settings:
    values: dict[str, Any] = {
        "HERALD_SMTP_URL": f"smtp://127.0.0.1:{port}?timeout=5",
        "HERALD_HTTP_ALLOW_NETWORKS": "127.0.0.0/8",
        "HERALD_NOTIFY_RETRY_DELAYS": "60,300",
    }
    return override_settings(**{**values, **extra})


def payload(message: Any) -> str:
    return bytes(message.get_payload(decode=True)).decode()


def drain(sessions: int = 1) -> dict[str, int]:
    # One sender: the test's transaction is only visible to this connection. It
    # may drive several SMTP sessions (lanes), in rounds.
    return delivery.drain(seconds=10, sessions=sessions, senders=1)


class InternalChannelTests(HeraldTestCase):
    def channels(self, hook_url: str, slack_url: str) -> None:
        actions.do_create_channel(
            name="security-team", kind="email", internal=True, acting_user=self.alice,
            config={"to": ["security@example.com", "support@example.com"]},
            events=["incident.declared"],
        )  # fmt: skip
        actions.do_create_channel(
            name="tell-anything", kind="slack", internal=True, acting_user=self.alice,
            config={"url": slack_url}, events=["advisory.published", "advisory.updated"],
        )  # fmt: skip
        actions.do_create_channel(
            name="siem", kind="webhook", internal=True, acting_user=self.alice,
            config={"url": hook_url, "secret": SECRET},
        )  # fmt: skip

    def test_declaring_an_incident_tells_the_security_team_and_support(self) -> None:
        with smtp_server() as sink, http_receiver() as hook, http_receiver() as slack:
            self.channels(hook.url, slack.url)
            with settings_for(sink.port):
                incident = self.declare("Leaked API keys", severity="high")
                assert drain()["sent"] == 3
        assert sorted(str(m["To"]) for m in sink.messages) == [
            "security@example.com",
            "support@example.com",
        ]
        assert incident.identifier in str(sink.messages[0]["Subject"])
        assert slack.requests == []  # the Slack channel hears only of advisories
        (request,) = hook.requests
        headers = request.headers
        assert verify_signature(
            SECRET, headers["herald-timestamp"], request.body, headers["herald-signature"]
        )
        assert request.json()["data"]["incident"] == incident.identifier

    def test_an_automatic_declaration_is_announced_like_any_other(self) -> None:
        with smtp_server() as sink, http_receiver() as hook, http_receiver() as slack:
            self.channels(hook.url, slack.url)
            with settings_for(sink.port):
                do_resolve_incident(self.declare(), acting_user=self.bob)
                advisory = do_create_advisory(acting_user=self.bob, **publishable())
                drain()
        auto = Incident.objects.get(pk=advisory.incident_id)
        assert auto.auto_declared
        texts = [payload(m) for m in sink.messages]
        assert any("declared automatically by Herald" in t and auto.identifier in t for t in texts)
        assert any(r.json()["data"].get("automatic") for r in hook.requests)

    def test_publishing_and_updating_an_advisory_posts_to_slack_with_a_link(self) -> None:
        with smtp_server() as sink, http_receiver() as hook, http_receiver() as slack:
            self.channels(hook.url, slack.url)
            with settings_for(sink.port):
                advisory = self.published()
                do_mark_fixed(advisory, acting_user=self.bob, fixed_at="2026-01-13",
                              change_summary="Fixed in 2.4.1.")  # fmt: skip
                drain()
        published, updated = (r.json()["text"] for r in slack.requests)
        link = f"/security/advisories/{advisory.identifier}/"
        assert "Published" in published and link in published
        assert "Updated" in updated and "Fixed in 2.4.1." in updated

    def test_a_signature_with_an_old_timestamp_or_another_body_is_refused(self) -> None:
        with http_receiver() as hook:
            self.channels(hook.url, hook.url)
            with settings_for(free_port()):
                self.declare()
                drain()
        request = hook.requests[0]
        ts, sig = request.headers["herald-timestamp"], request.headers["herald-signature"]
        assert verify_signature(SECRET, ts, request.body, sig)
        assert not verify_signature(SECRET, ts, request.body + b" ", sig)
        assert not verify_signature(SECRET, str(int(ts) - 600), request.body, sig)
        assert not verify_signature("another-secret-entirely", ts, request.body, sig)


class FailureTests(HeraldTestCase):
    def subscriber(self, email: str) -> Subscriber:
        sub = actions.do_subscribe(email)
        return actions.do_confirm_subscription(sub.token)

    def test_a_recipient_the_server_refuses_ends_dead_in_its_record(self) -> None:
        with (
            smtp_server(refuse={"gone@example.com": "550 5.1.1 no such user"}) as sink,
            settings_for(sink.port),
        ):
            self.subscriber("gone@example.com")
            self.subscriber("here@example.com")
            self.published()
            stats = drain()
        assert stats["dead"] == 2  # the confirmation mail, then the advisory
        dead = Delivery.objects.get(recipient="gone@example.com", message__source="revision")
        assert dead.status == "dead" and "550" in dead.last_error
        assert dead.history.get().outcome == "dead"
        sent = Delivery.objects.get(recipient="here@example.com", message__source="revision")
        assert sent.status == "sent"

    def test_a_temporary_refusal_is_retried_later_with_the_same_message_id(self) -> None:
        with (
            smtp_server(refuse={"busy@example.com": "451 4.3.0 try later"}) as sink,
            settings_for(sink.port, HERALD_NOTIFY_RETRY_DELAYS="1,1"),
        ):
            self.subscriber("busy@example.com")
            self.published()
            drain()
            row = Delivery.objects.get(message__source="revision")
            assert row.status == "failed" and row.next_attempt_at > row.created_at
            assert drain()["sent"] == 0  # not due yet: the retry is scheduled, not looped
            del sink.refuse["busy@example.com"]
            time.sleep(1.1)
            assert drain()["sent"] == 2  # the retry, and the confirmation mail's retry
        row.refresh_from_db()
        assert (row.status, row.attempts) == ("sent", 2)
        (received,) = [m for m in sink.messages if "Published" in str(m["Subject"])]
        assert received["Message-ID"] == row.rfc_message_id

    def test_after_the_last_retry_it_is_dead_and_staff_can_redrive_it(self) -> None:
        with (
            smtp_server(refuse={"busy@example.com": "451 try later"}) as sink,
            settings_for(sink.port, HERALD_NOTIFY_RETRY_DELAYS="0"),
        ):
            self.subscriber("busy@example.com")
            drain()
            drain()
            row = Delivery.objects.get(recipient="busy@example.com")
            assert (row.status, row.attempts) == ("dead", 2)
            del sink.refuse["busy@example.com"]
            assert actions.do_redrive([row], acting_user=self.alice) == 1
            assert drain()["sent"] == 1
        row.refresh_from_db()
        assert row.status == "sent"
        assert [h.outcome for h in row.history.all()] == ["failed", "dead", "re-driven"]

    def test_an_address_the_mail_server_cannot_take_ends_dead_not_in_a_crash(self) -> None:
        with smtp_server() as sink, settings_for(sink.port):
            self.subscriber("jurgen@exämple.com")  # needs SMTPUTF8, which the server lacks
            stats = drain()
        assert stats["dead"] == 1
        assert "SMTPUTF8" in Delivery.objects.get(status="dead").last_error

    def refusals_in_the_middle_of_a_batch(self, *, pipelining: bool, sessions: int = 1) -> None:
        refuse = {"gone@example.com": "550 5.1.1 no such user", "busy@example.com": "451 later"}
        with (
            smtp_server(refuse=refuse, pipelining=pipelining) as sink,
            settings_for(sink.port),
        ):
            for name in ["a", "gone", "b", "busy", "jurgen@exämple.com", "c", "d"]:
                # Each is sent a confirmation; the IDN domain needs SMTPUTF8.
                actions.do_subscribe(name if "@" in name else f"{name}@example.com")
            stats = drain(sessions)
            assert (stats["sent"], stats["dead"], stats["failed"]) == (4, 2, 1)
            sent = Delivery.objects.filter(status="sent")
            expected = {d.rfc_message_id: d.recipient for d in sent}
            received = {str(m["Message-ID"]): str(m["To"]) for m in sink.messages}
            assert received == expected and len(sink.messages) == 4  # each once, to its own
            assert all(m["List-Unsubscribe"] is None for m in sink.messages)  # not subscribed yet
        assert "550" in Delivery.objects.get(recipient="gone@example.com").last_error
        assert Delivery.objects.get(recipient="busy@example.com").status == "failed"
        assert "SMTPUTF8" in Delivery.objects.get(recipient="jurgen@exämple.com").last_error

    def test_refusals_in_the_middle_of_a_pipelined_batch_leave_the_rest_sent_once(self) -> None:
        # The server advertises PIPELINING: each message's content goes out with the
        # next one's MAIL, RCPT and DATA, whose refusal must not touch the others.
        self.refusals_in_the_middle_of_a_batch(pipelining=True)

    def test_a_server_without_pipelining_gets_one_command_at_a_time(self) -> None:
        self.refusals_in_the_middle_of_a_batch(pipelining=False)

    def test_refusals_on_several_sessions_of_one_sender_touch_only_their_own_rows(self) -> None:
        # Three sessions driven at once by one sender: each writes its message
        # without waiting for the others, and what they accept is recorded together.
        self.refusals_in_the_middle_of_a_batch(pipelining=True, sessions=3)

    def test_several_sessions_without_pipelining_take_turns_the_same_way(self) -> None:
        self.refusals_in_the_middle_of_a_batch(pipelining=False, sessions=2)

    def test_answers_that_arrive_together_are_recorded_in_one_transaction(self) -> None:
        for i in range(9):
            actions.do_subscribe(f"r{i}@example.com")
        commits: list[int] = []
        record = delivery._write_sent

        def counting(done: list[Any], token: str) -> int:
            commits.append(len(done))
            return record(done, token)

        # Without pipelining every session has its answer when its turn ends, so
        # the three sessions' answers are always there together.
        with (
            smtp_server(pipelining=False) as sink,
            settings_for(sink.port),
            mock.patch.object(delivery, "_write_sent", counting),
        ):
            stats = drain(sessions=3)
        assert stats["sent"] == 9 and sink.count() == 9
        assert commits == [3, 3, 3]
        assert Delivery.objects.filter(status="sent").count() == 9

    def test_an_unreachable_webhook_fails_and_is_retried_later(self) -> None:
        channel = actions.do_create_channel(
            name="partner", kind="webhook", config={"url": f"http://127.0.0.1:{free_port()}/x"},
            acting_user=self.alice,
        )  # fmt: skip
        actions.do_add_channel_subscriber(channel, acting_user=self.alice)
        with settings_for(free_port()):
            self.published()
            stats = drain()
        assert stats["failed"] == 1
        row = Delivery.objects.get(kind="webhook")
        assert row.status == "failed" and "connect" in row.last_error
        # Plain words a person can act on, each a sentence in the row's history.
        assert "connection refused" in row.last_error and "Errno" not in row.last_error
        (attempt,) = row.history.all()
        assert ": connection refused. Next try at " in attempt.detail

    def test_a_webhook_answering_404_is_dead_at_once_and_500_is_retried(self) -> None:
        for status, outcome in ((404, "dead"), (503, "failed")):
            with http_receiver(status=status) as hook, settings_for(free_port()):
                channel = actions.do_create_channel(
                    name=f"hook-{status}", kind="webhook", config={"url": hook.url},
                    acting_user=self.alice,
                )  # fmt: skip
                actions.do_send_test_message(channel, acting_user=self.alice)
                drain()
            assert Delivery.objects.get(channel=channel).status == outcome

    def test_a_webhook_on_a_private_address_is_refused_without_the_setting(self) -> None:
        with http_receiver() as hook:
            channel = actions.do_create_channel(
                name="internal-hook", kind="webhook", config={"url": hook.url},
                acting_user=self.alice,
            )  # fmt: skip
            actions.do_send_test_message(channel, acting_user=self.alice)
            with override_settings(HERALD_HTTP_ALLOW_NETWORKS=""):
                drain()
        assert hook.requests == []
        row = Delivery.objects.get(channel=channel)
        assert row.status == "dead" and "not a public address" in row.last_error


class OutboundHTTPTests(HeraldTestCase):
    def test_it_refuses_loopback_private_and_link_local_addresses_by_default(self) -> None:
        with override_settings(HERALD_HTTP_ALLOW_NETWORKS=""):
            for ip in ("127.0.0.1", "10.1.2.3", "192.168.0.1", "169.254.169.254", "::1",
                       "::ffff:127.0.0.1", "0.0.0.0"):  # noqa: S104  # fmt: skip
                try:
                    http.check_address(ip)
                except http.RefusedAddress:
                    continue
                raise AssertionError(f"{ip} was allowed")
            http.check_address("93.184.216.34")

    def test_it_takes_only_http_and_https(self) -> None:
        for url in ("file:///etc/passwd", "gopher://x/", "ftp://example.com/"):
            with pytest.raises(http.HTTPError, match=r"not an http\(s\) URL"):
                http.request("GET", url)

    def test_it_follows_at_most_three_redirects(self) -> None:
        with (
            http_receiver(status=302) as hook,
            override_settings(HERALD_HTTP_ALLOW_NETWORKS="127.0.0.0/8"),
        ):
            hook.reply = b""  # a 302 without Location
            response = http.request("POST", hook.url, body=b"{}")
        assert response.status == 302  # no Location: returned as it is, not followed


def test_malformed_channel_addresses_are_refused_with_the_field_named() -> None:
    # Not a crash (ValueError from urlsplit) in the CLI, the API or the worker.
    from herald.core.errors import ValidationError
    from herald.notify.channels import SMTPConfig, check_url

    for url in ("http://[::1/x", "https://h:x/", "http://example.com:99999999/", "mailto:x@y"):
        with pytest.raises(ValidationError) as caught:
            check_url(url)
        assert "url" in caught.value.message_dict
    for url in ("smtp://h:abc", "smtp://h?timeout=soon", "smtp://h?timeout=-1", "http://h"):
        with pytest.raises(ValidationError) as caught:
            SMTPConfig.from_url(url)
        assert "smtp_url" in caught.value.message_dict
    assert SMTPConfig.from_url("smtps://u:p%40ss@mail.example:2465?timeout=5").password == "p@ss"


class ClaimPlanTests(HeraldTestCase):
    def test_workers_find_due_rows_through_the_partial_index(self) -> None:
        # With the status values as bound parameters SQLite cannot use the partial
        # index and scans every delivery ever written on each claim and each poll.
        from django.db import connection

        if connection.vendor != "sqlite":
            pytest.skip("the query plan checked is SQLite's")
        due = Delivery.objects.filter(
            delivery.UNFINISHED_ROWS, next_attempt_at__lte=timezone.now()
        ).order_by("next_attempt_at")
        sql, params = due.values_list("id").query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
            plan = " ".join(str(row) for row in cursor.fetchall())
        assert "delivery_due_idx" in plan, plan
