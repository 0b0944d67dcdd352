"""An advisory kept on a GitHub repository: created, kept in sync, published, its CVE
requested and taken back, every request checked against GitHub's OpenAPI description."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from herald.audit.models import AuditEvent
from herald.core.errors import HeraldError, ValidationError
from herald.core.models import Product
from herald.github import actions
from herald.github.models import RepositoryLink
from herald.github.queries import github_status, status_text
from herald.github.tests.peer import (
    TOKEN,
    advisory_answer,
    answer_now,
    github_peer,
    settings_for,
)
from herald.notify import delivery
from herald.notify.models import Delivery
from herald.publication.actions import (
    do_publish_advisory,
    do_request_github_cve,
    do_take_github_cve,
    do_update_advisory,
    do_withdraw_advisory,
)
from herald.publication.tasks import next_github_cve_look_at, take_github_cve
from herald.test import HeraldTestCase

CREATE = "security-advisories/create-repository-advisory"
UPDATE = "security-advisories/update-repository-advisory"
GET = "security-advisories/get-repository-advisory"
LIST = "security-advisories/list-repository-advisories"
CVE = "security-advisories/create-repository-advisory-cve-request"
DOCS = "https://docs.github.com/rest"
TAKE = "herald.publication.tasks.take_github_cve"
SECOND = dt.timedelta(seconds=1)


def drain() -> dict[str, int]:
    return delivery.drain(seconds=10, sessions=1, senders=1)


def github_rows() -> list[Delivery]:
    return list(Delivery.objects.filter(kind="github").order_by("id"))


class RepositoryAdvisoryTests(HeraldTestCase):
    def setUp(self) -> None:
        self.peer = github_peer()
        overridden = override_settings(**settings_for(self.peer))
        overridden.enable()
        self.addCleanup(overridden.disable)
        self.sdk = Product.objects.create(
            name="Northwind SDK", slug="sdk", ecosystem="PyPI", package_name="northwind-sdk"
        )
        answer_now(self.peer, CREATE, status=201, body=advisory_answer(state="draft", cve_id=None))
        answer_now(self.peer, UPDATE, status=200, body=advisory_answer(state="draft", cve_id=None))

    def advisory(self, **overrides: Any) -> Any:
        values: dict[str, Any] = {
            "affected": [
                {"product": "sdk", "deployment": "sdk", "introduced": "1.0", "fixed": "1.4.2"}
            ],
            "credits": [
                {"name": "Ada", "type": "FINDER", "contact": "https://github.com/ada-sec"},
                {"name": "Bo", "type": "REPORTER", "contact": "bo@example.com"},
            ],
            "cwe_ids": ["CWE-79"],
            "cvss_v3_vector": "CVSS:3.1/AV:N/AC:L/PR:L/UI:R/S:C/C:L/I:L/A:N",
        }
        values.update(overrides)
        return self.draft(**values)

    def test_linking_creates_the_draft_on_github_from_the_record(self) -> None:
        advisory = self.advisory()
        actions.do_link_repository(advisory, "northwind/sdk", acting_user=self.bob)
        assert self.peer.requests == []  # the worker sends it, not the action
        assert drain()["sent"] == 1
        self.peer.assert_clean()
        (sent,) = self.peer.requests_to(CREATE)
        assert sent.path == "/repos/northwind/sdk/security-advisories"
        assert sent.header("authorization") == f"token {TOKEN}"
        body = sent.json
        assert body["summary"] == advisory.title
        assert body["description"] == advisory.description
        assert body["vulnerabilities"] == [
            {
                "package": {"ecosystem": "pip", "name": "northwind-sdk"},
                "vulnerable_version_range": ">= 1.0, < 1.4.2",
                "patched_versions": "1.4.2",
            }
        ]
        assert body["cwe_ids"] == ["CWE-79"]
        assert body["cvss_vector_string"].startswith("CVSS:3.1/AV:N")
        assert "severity" not in body  # GitHub takes a vector or a severity, not both
        assert body["credits"] == [{"login": "ada-sec", "type": "finder"}]
        assert [body["cve_id"]] == [v.cve_id for v in advisory.vulnerabilities.all()]
        link = RepositoryLink.objects.get(advisory=advisory)
        assert (link.ghsa_id, link.state) == ("GHSA-abcd-1234-efgh", "draft")
        assert AuditEvent.objects.filter(action="github.link", object_id=advisory.identifier)
        assert AuditEvent.objects.filter(action="github.created")

    def test_each_change_of_the_draft_patches_it_with_the_record_as_it_then_is(self) -> None:
        advisory = self.advisory()
        actions.do_link_repository(advisory, "northwind/sdk", acting_user=self.bob)
        drain()
        advisory = do_update_advisory(advisory, acting_user=self.bob, title="XSS in SDK names")
        assert drain()["sent"] == 1
        self.peer.assert_clean()
        (patch,) = self.peer.requests_to(UPDATE)
        assert patch.path == "/repos/northwind/sdk/security-advisories/GHSA-abcd-1234-efgh"
        assert patch.json["summary"] == "XSS in SDK names"
        assert "state" not in patch.json
        assert RepositoryLink.objects.get(advisory=advisory).synced_version == advisory.version

    def test_publishing_never_waits_on_github_and_publishes_it_after(self) -> None:
        advisory = self.advisory()
        actions.do_link_repository(advisory, "northwind/sdk", acting_user=self.bob)
        drain()
        answer_now(self.peer, UPDATE, status=503, body={"message": "unavailable"})
        published = do_publish_advisory(advisory, acting_user=self.bob)
        assert published.state == "published"  # GitHub down changed nothing here
        assert drain() == {"sent": 0, "failed": 1, "dead": 0, "lost": 0}
        (row,) = [r for r in github_rows() if r.message.data["op"] == "publish"]
        assert row.status == "failed" and "503" in row.last_error
        answer_now(
            self.peer, UPDATE, status=200, body=advisory_answer(state="published", cve_id=None)
        )
        Delivery.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())
        assert drain()["sent"] == 1
        self.peer.assert_clean()
        last = self.peer.requests_to(UPDATE)[-1]
        assert last.json["state"] == "published"
        assert RepositoryLink.objects.get(advisory=advisory).state == "published"
        # A later revision reaches GitHub's published advisory too, as an edit.
        do_update_advisory(
            published, acting_user=self.bob, change_summary="Fixed in 1.4.3 too.",
            description="Scripts in dashboard names ran for viewers.",
        )  # fmt: skip
        assert drain()["sent"] == 1
        (revision_row,) = [r for r in github_rows() if r.message.data["op"] == "sync"][-1:]
        assert revision_row.response == "updated GHSA-abcd-1234-efgh"
        edit = self.peer.requests_to(UPDATE)[-1]
        assert "state" not in edit.json
        assert edit.json["description"] == "Scripts in dashboard names ran for viewers."
        self.peer.assert_clean()

    def test_a_rate_limit_is_retried_no_sooner_than_github_asks(self) -> None:
        advisory = self.advisory()
        answer_now(
            self.peer,
            CREATE,
            status=403,
            body={"message": "You have exceeded a secondary rate limit."},
            headers={"Retry-After": "3600"},
        )
        actions.do_link_repository(advisory, "northwind/sdk", acting_user=self.bob)
        before = timezone.now()
        assert drain()["failed"] == 1
        self.peer.assert_clean()
        (row,) = github_rows()
        assert row.status == "failed"
        assert "rate limit" in row.last_error
        # Retry delays are 60 s and 300 s; GitHub asked for an hour.
        assert row.next_attempt_at >= before + dt.timedelta(seconds=3590)

    def test_the_primary_rate_limit_waits_for_its_reset(self) -> None:
        advisory = self.advisory()
        reset = int(timezone.now().timestamp()) + 1800
        answer_now(
            self.peer,
            CREATE,
            status=429,
            body={"message": "API rate limit exceeded"},
            headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(reset)},
        )
        actions.do_link_repository(advisory, "northwind/sdk", acting_user=self.bob)
        assert drain()["failed"] == 1
        self.peer.assert_clean()
        (row,) = github_rows()
        assert row.next_attempt_at.timestamp() >= reset - 5

    def test_refusals_are_dead_at_once_in_plain_words(self) -> None:
        cases = [
            (401, {"message": "Bad credentials"}, "refused the token"),
            (404, {"message": "Not Found"}, "no such repository"),
            (422, {"message": "Validation Failed", "documentation_url": DOCS,
                   "errors": [{"resource": "RepositoryAdvisory", "field": "cwe_ids",
                               "code": "invalid", "message": "cwe_ids is invalid"}]},
             "cwe_ids is invalid"),
        ]  # fmt: skip
        for status, body, words in cases:
            with self.subTest(status=status):
                advisory = self.advisory()
                answer_now(self.peer, CREATE, status=status, body=body)
                actions.do_link_repository(advisory, f"northwind/sdk{status}", acting_user=self.bob)
                assert drain()["dead"] == 1
                row = github_rows()[-1]
                assert row.status == "dead"
                assert words in row.last_error
                assert RepositoryLink.objects.get(advisory=advisory).last_answer
        self.peer.assert_clean()

    def test_the_token_is_in_no_row_and_no_audit_event(self) -> None:
        advisory = self.advisory()
        answer_now(self.peer, CREATE, status=401, body={"message": "Bad credentials"})
        actions.do_link_repository(advisory, "northwind/sdk", acting_user=self.bob)
        drain()
        rows = json.dumps(
            list(Delivery.objects.values()) + list(RepositoryLink.objects.values()), default=str
        )
        events = json.dumps(list(AuditEvent.objects.values()), default=str)
        assert TOKEN not in rows and TOKEN not in events

    def test_github_calls_keep_the_address_rules(self) -> None:
        advisory = self.advisory()
        actions.do_link_repository(advisory, "northwind/sdk", acting_user=self.bob)
        with override_settings(HERALD_HTTP_ALLOW_NETWORKS=""):
            assert drain()["failed"] == 1
        assert self.peer.requests == []
        assert "not a public address" in github_rows()[0].last_error

    def test_a_cve_is_requested_and_the_assigned_id_taken_back_with_a_revision(self) -> None:
        advisory = self.advisory(cve_ids=[])
        actions.do_link_repository(advisory, "northwind/sdk", acting_user=self.bob)
        drain()
        advisory = do_publish_advisory(advisory, acting_user=self.bob)
        answer_now(
            self.peer, UPDATE, status=200, body=advisory_answer(state="published", cve_id=None)
        )
        drain()
        actions.do_request_cve(advisory, acting_user=self.bob)
        answer_now(self.peer, CVE, status=202, body={})
        assert drain()["sent"] == 1
        (cve_request,) = self.peer.requests_to(CVE)
        assert cve_request.path.endswith("/GHSA-abcd-1234-efgh/cve")
        revisions = advisory.revisions.count()
        answer_now(self.peer, GET, status=200, body=advisory_answer(cve_id="CVE-2050-00000"))
        advisory, cve = do_take_github_cve(advisory, acting_user=self.bob)
        self.peer.assert_clean()
        assert cve == "CVE-2050-00000"
        assert [v.cve_id for v in advisory.vulnerabilities.all()] == ["CVE-2050-00000"]
        assert advisory.revisions.count() == revisions + 1
        # Asking again takes nothing twice.
        assert do_take_github_cve(advisory, acting_user=self.bob)[1] == ""

    def test_the_worker_looks_until_github_assigns_the_cve_and_takes_it(self) -> None:
        advisory = self.advisory(cve_ids=[])
        actions.do_link_repository(advisory, "northwind/sdk", acting_user=self.bob)
        drain()
        with self.captureOnCommitCallbacks(execute=True):
            do_request_github_cve(advisory, acting_user=self.bob)
        answer_now(self.peer, CVE, status=202, body={})
        assert drain()["sent"] == 1

        def looks() -> list[tuple[list[Any], dt.timedelta]]:
            rows = DBTaskResult.objects.filter(task_path=TAKE).order_by("enqueued_at")
            return [(row.args_kwargs["args"], row.run_after - row.enqueued_at) for row in rows]

        # The first look is queued 10 minutes after the request.
        ((args, wait),) = looks()
        assert args == [advisory.pk, 1] and abs(wait - dt.timedelta(minutes=10)) < SECOND
        # The responder sees when Herald asks next, on the desk and in `herald github status`.
        (look,) = DBTaskResult.objects.filter(task_path=TAKE)
        assert next_github_cve_look_at(advisory) == look.run_after
        text = status_text({**github_status(advisory), "next_look_at": look.run_after})
        assert f"GitHub is asked again at {look.run_after:%Y-%m-%d %H:%M} UTC" in text
        # Not assigned yet: one more look, twice as late.
        answer_now(self.peer, GET, status=200, body=advisory_answer(cve_id=None))
        assert take_github_cve.call(advisory.pk, 1).startswith("no CVE assigned yet")
        assert looks()[-1][0] == [advisory.pk, 2]
        assert abs(looks()[-1][1] - dt.timedelta(minutes=20)) < SECOND
        # GitHub down: not lost, looked at again later.
        answer_now(self.peer, GET, status=503, body={"message": "Service unavailable"})
        assert "looking again" in take_github_cve.call(advisory.pk, 2)
        assert looks()[-1][0] == [advisory.pk, 3]
        # Assigned: taken into the advisory, and no more looks.
        answer_now(self.peer, GET, status=200, body=advisory_answer(cve_id="CVE-2050-00001"))
        assert take_github_cve.call(advisory.pk, 3) == "took CVE-2050-00001"
        assert "  CVE: CVE-2050-00001" in status_text(github_status(advisory))
        assert [v.cve_id for v in advisory.vulnerabilities.all()] == ["CVE-2050-00001"]
        assert len(looks()) == 3
        self.peer.assert_clean()

    def test_no_cve_is_asked_of_github_for_an_advisory_that_has_one(self) -> None:
        advisory = self.advisory()
        (held,) = [v.cve_id for v in advisory.vulnerabilities.all()]
        actions.do_link_repository(advisory, "northwind/sdk", acting_user=self.bob)
        drain()
        with pytest.raises(HeraldError, match=held):
            actions.do_request_cve(advisory, acting_user=self.bob)
        assert not RepositoryLink.objects.get(advisory=advisory).cve_requested_at
        # Asked while it had none, then given one (CVE Services, typed in) before the
        # worker sent the request: the row goes out as nothing asked.
        bare = self.advisory(cve_ids=[])
        actions.do_link_repository(bare, "northwind/sdk", acting_user=self.bob)
        drain()
        actions.do_request_cve(bare, acting_user=self.bob)
        do_update_advisory(bare, acting_user=self.bob, cve_ids=["CVE-2050-12345"])
        drain()
        (row,) = [r for r in github_rows() if r.message.data.get("op") == "request_cve"]
        assert row.status == Delivery.Status.SENT
        assert row.response.startswith("not requested") and "CVE-2050-12345" in row.response
        assert self.peer.requests_to(CVE) == []
        self.peer.assert_clean()

    def test_a_created_advisory_does_not_move_to_another_repository(self) -> None:
        advisory = self.advisory()
        actions.do_link_repository(advisory, "northwind/sdk", acting_user=self.bob)
        drain()
        with pytest.raises(HeraldError, match="GHSA-abcd-1234-efgh"):
            actions.do_link_repository(advisory, "northwind/other", acting_user=self.bob)

    def test_a_bad_repository_name_is_refused_naming_the_field(self) -> None:
        advisory = self.advisory()
        for bad in ("northwind", "north wind/sdk", "../etc/passwd", "a/b/c"):
            with self.subTest(bad=bad):
                with pytest.raises(ValidationError) as caught:
                    actions.do_link_repository(advisory, bad, acting_user=self.bob)
                assert "repository" in caught.value.message_dict


class CommandTests(HeraldTestCase):
    def setUp(self) -> None:
        self.peer = github_peer()
        overridden = override_settings(**settings_for(self.peer))
        overridden.enable()
        self.addCleanup(overridden.disable)
        answer_now(self.peer, CREATE, status=201, body=advisory_answer(state="draft", cve_id=None))

    def run_command(self, *args: str) -> str:
        from io import StringIO

        out = StringIO()
        call_command("github", *args, stdout=out, stderr=StringIO())
        return out.getvalue()

    def test_link_then_status_shows_what_github_said_and_what_is_pending(self) -> None:
        advisory = self.draft()
        out = self.run_command("link", advisory.identifier, "northwind/sdk", "--as", "bob")
        assert "linked to" in out and "sync: pending" in out
        drain()
        out = self.run_command("status", advisory.identifier)
        assert "GHSA-abcd-1234-efgh (draft)" in out
        data = json.loads(self.run_command("status", advisory.identifier, "--json"))
        assert data["repository"] == "northwind/sdk"
        assert data["deliveries"][0]["status"] == "sent"
        self.peer.assert_clean()

    def test_a_bad_repository_exits_2_naming_it(self) -> None:
        from django.core.management.base import CommandError

        advisory = self.draft()
        with pytest.raises(CommandError) as caught:
            self.run_command("link", advisory.identifier, "not a repo")
        assert caught.value.returncode == 2
        assert "repository" in str(caught.value)


class WithdrawalTests(HeraldTestCase):
    def setUp(self) -> None:
        self.peer = github_peer()
        overridden = override_settings(**settings_for(self.peer))
        overridden.enable()
        self.addCleanup(overridden.disable)
        answer_now(self.peer, CREATE, status=201, body=advisory_answer(state="draft", cve_id=None))

    def test_a_withdrawal_closes_githubs_draft(self) -> None:
        advisory = self.draft()
        actions.do_link_repository(advisory, "northwind/sdk", acting_user=self.bob)
        drain()
        # GitHub refuses to publish it: its advisory stays a draft.
        answer_now(self.peer, UPDATE, status=404, body={"message": "Not Found"})
        advisory = do_publish_advisory(advisory, acting_user=self.bob)
        assert drain()["dead"] == 1
        answer_now(self.peer, UPDATE, status=200, body=advisory_answer(state="closed"))
        do_withdraw_advisory(advisory, acting_user=self.bob, reason="Not a vulnerability.")
        assert drain()["sent"] == 1
        self.peer.assert_clean()
        patch = self.peer.requests_to(UPDATE)[-1]
        assert patch.json == {"state": "closed"}
        assert RepositoryLink.objects.get(advisory=advisory).state == "closed"

    def test_linking_a_published_advisory_publishes_it_on_github(self) -> None:
        advisory = self.published()
        answer_now(self.peer, UPDATE, status=200, body=advisory_answer(state="published"))
        actions.do_link_repository(advisory, "northwind/sdk", acting_user=self.bob)
        assert drain()["sent"] == 1
        self.peer.assert_clean()
        assert len(self.peer.requests_to(CREATE)) == 1
        assert self.peer.requests_to(UPDATE)[0].json["state"] == "published"

    def test_a_withdrawal_of_a_published_github_advisory_is_dead_with_the_way_out(self) -> None:
        advisory = self.published()
        answer_now(self.peer, UPDATE, status=200, body=advisory_answer(state="published"))
        actions.do_link_repository(advisory, "northwind/sdk", acting_user=self.bob)
        drain()
        do_withdraw_advisory(advisory, acting_user=self.bob, reason="Not a vulnerability.")
        assert drain()["dead"] == 1
        assert "ask GitHub to withdraw it" in github_rows()[-1].last_error
        self.peer.assert_clean()

    def test_a_publication_waiting_for_github_is_not_sent_after_a_withdrawal(self) -> None:
        advisory = self.draft()
        actions.do_link_repository(advisory, "northwind/sdk", acting_user=self.bob)
        drain()
        answer_now(self.peer, UPDATE, status=503, body={"message": "unavailable"})
        advisory = do_publish_advisory(advisory, acting_user=self.bob)
        drain()  # failed, to be tried again
        answer_now(self.peer, UPDATE, status=200, body=advisory_answer(state="closed"))
        do_withdraw_advisory(advisory, acting_user=self.bob, reason="Not a vulnerability.")
        Delivery.objects.filter(status="failed").update(next_attempt_at=timezone.now())
        drain()
        sent = [r.json.get("state") for r in self.peer.requests_to(UPDATE)]
        assert sent[-1] == "closed" and sent.count("published") == 1  # only the 503 try
        self.peer.assert_clean()


class CreationLeaseTests(HeraldTestCase):
    def setUp(self) -> None:
        self.peer = github_peer()
        overridden = override_settings(**settings_for(self.peer))
        overridden.enable()
        self.addCleanup(overridden.disable)

    def test_a_second_worker_does_not_create_it_twice(self) -> None:
        advisory = self.draft()
        link = actions.do_link_repository(advisory, "northwind/sdk", acting_user=self.bob)
        assert actions.claim_creation(link)  # another worker is creating it
        assert drain()["failed"] == 1
        assert self.peer.requests == []
        assert "another worker is creating" in github_rows()[0].last_error
        # Waiting for it is not a try: the row is never dead for it.
        assert github_rows()[0].attempts == 0
        # Its lease ends: the next try looks for what that worker made, finds nothing,
        # and creates it.
        RepositoryLink.objects.update(creating_since=timezone.now() - dt.timedelta(minutes=6))
        answer_now(self.peer, LIST, status=200, body=[])
        answer_now(self.peer, CREATE, status=201, body=advisory_answer(state="draft", cve_id=None))
        Delivery.objects.update(next_attempt_at=timezone.now())
        assert drain()["sent"] == 1
        self.peer.assert_clean()
        assert [r.operation_id for r in self.peer.requests] == [LIST, CREATE]
        assert RepositoryLink.objects.get().creating_since is None

    def test_a_worker_killed_after_github_created_it_does_not_make_a_second(self) -> None:
        advisory = self.draft()
        link = actions.do_link_repository(advisory, "northwind/sdk", acting_user=self.bob)
        # A worker claimed the creation, GitHub created GHSA-abcd-1234-efgh, and the worker
        # died (kill -9) before keeping the answer: the row is back, the id unknown.
        RepositoryLink.objects.filter(pk=link.pk).update(
            creating_since=timezone.now() - dt.timedelta(minutes=6)
        )
        made = advisory_answer(
            state="draft", cve_id=None, summary=advisory.title,
            created_at=(timezone.now() + SECOND).isoformat().replace("+00:00", "Z"),
        )  # fmt: skip
        other = advisory_answer(state="draft", cve_id=None, summary="Another issue",
                                ghsa_id="GHSA-zzzz-zzzz-zzzz")  # fmt: skip
        answer_now(self.peer, LIST, status=200, body=[other, made])
        answer_now(self.peer, UPDATE, status=200, body=advisory_answer(state="draft", cve_id=None))
        drain()
        self.peer.assert_clean()
        assert [r.operation_id for r in self.peer.requests] == [LIST, UPDATE]
        (listed,) = self.peer.requests_to(LIST)
        assert listed.query["state"] == ["draft"]
        link.refresh_from_db()
        assert (link.ghsa_id, link.creating_since) == ("GHSA-abcd-1234-efgh", None)
        (row,) = github_rows()
        assert row.status == "sent" and row.response.startswith("found GHSA-abcd-1234-efgh")
