"""The publish path: one function, in order, whatever the caller; no signal in between."""

from __future__ import annotations

import ast
import datetime as dt
import json
import weakref
from io import StringIO
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from django.core.management import call_command
from django.db.models.signals import post_delete, post_save, pre_save
from django.test import Client, override_settings
from django.utils import timezone

import herald
from herald.accounts.actions import do_create_token
from herald.advisories.actions import write_update
from herald.advisories.models import Advisory, Revision
from herald.core.errors import ValidationError
from herald.incidents.models import Incident
from herald.intake.actions import do_submit_report
from herald.intake.models import Report, ReportMessage
from herald.notify.actions import do_create_channel
from herald.notify.models import Campaign, Message
from herald.publication.actions import (
    do_accept_report,
    do_create_advisory,
    do_publish_advisory,
    do_schedule_publication,
    do_update_advisory,
)
from herald.publication.tasks import publish_scheduled
from herald.publishing.models import Artifact
from herald.publishing.store import artifacts, serving
from herald.test import HeraldTestCase, publishable
from herald.web.tests.base import form_data

HERALD = Path(herald.__file__).parent
MODEL_SIGNALS = {"pre_init", "post_init", "pre_save", "post_save", "pre_delete", "post_delete",
                 "m2m_changed", "pre_migrate", "post_migrate"}  # fmt: skip


def published_outputs(advisory: Advisory) -> tuple[int, int, int]:
    """What a publication leaves: revisions, stored artifacts naming it, outbox messages."""
    revisions = Revision.objects.filter(advisory=advisory).count()
    stored = Artifact.objects.filter(path__contains=advisory.identifier).count()
    told = Message.objects.filter(source=Message.Source.REVISION, revision__advisory=advisory)
    return revisions, stored, told.count()


class PublishPathTestCase(HeraldTestCase):
    def setUp(self) -> None:
        super().setUp()
        do_create_channel(
            name="security-team", kind="email", internal=True, acting_user=self.alice,
            config={"to": ["security@example.com"]},
            events=["incident.declared", "advisory.published", "advisory.updated"],
        )  # fmt: skip


class OneTransactionTests(PublishPathTestCase):
    def test_a_publication_writes_its_revision_artifacts_and_outbox_rows_together(self) -> None:
        advisory = do_publish_advisory(self.draft(confirmed_exposure=True), acting_user=self.bob)
        revisions, stored, told = published_outputs(advisory)
        assert (revisions, told) == (1, 1)
        assert stored > 0
        # Rule 4: the campaign is one of the outbox's rows, written with the publication.
        assert Campaign.objects.filter(advisory=advisory, status="draft").count() == 1

    def test_a_refused_artifact_leaves_no_revision_no_outbox_row_and_no_campaign(self) -> None:
        draft = self.draft(confirmed_exposure=True)
        refusal = ValidationError({"title": "The CSAF document would be invalid."})
        with (
            mock.patch.object(artifacts, "regenerate", side_effect=refusal),
            pytest.raises(ValidationError),
        ):
            do_publish_advisory(draft, acting_user=self.bob)
        draft.refresh_from_db()
        assert draft.state == Advisory.State.DRAFT
        assert not Revision.objects.filter(advisory=draft).exists()
        assert not Message.objects.filter(source=Message.Source.REVISION).exists()
        assert not Campaign.objects.exists()
        assert not Artifact.objects.filter(path__contains=draft.identifier).exists()

    def test_an_update_of_a_public_advisory_is_published_the_same_way(self) -> None:
        advisory = self.published()
        generation = serving.database_generation()
        advisory = do_update_advisory(
            advisory, acting_user=self.bob, title="Stored XSS in names", change_summary="Title."
        )
        assert published_outputs(advisory)[0::2] == (2, 2)
        assert serving.database_generation() > generation

    def test_a_record_level_write_alone_publishes_nothing(self) -> None:
        """The record functions are not the publication: whoever calls one publishes
        nothing, which is why the desk, API and CLI call the publication's."""
        advisory = self.published()
        before = serving.database_generation()
        write_update(advisory, acting_user=self.bob, title="Other", change_summary="Title.")
        assert serving.database_generation() == before
        assert Message.objects.filter(source=Message.Source.REVISION).count() == 1


class AfterCommitTests(PublishPathTestCase):
    def test_reporters_are_told_only_after_the_commit(self) -> None:
        report = do_submit_report(
            source=Report.Source.WEB, email="ada@example.org", name="Ada Lovelace",
            title="SQL injection in export", body="POST /export?id=1' OR 1=1 -- returns all.",
        )  # fmt: skip
        report = do_accept_report(report, acting_user=self.bob, declare_incident=True)
        assert report.advisory is not None
        draft = do_update_advisory(
            report.advisory, acting_user=self.bob, **publishable(cve_ids=["CVE-2026-7777"])
        )

        def told() -> int:
            return ReportMessage.objects.filter(
                report=report, body__contains="The advisory for your report is published"
            ).count()

        with self.captureOnCommitCallbacks(execute=False) as callbacks:
            do_publish_advisory(draft, acting_user=self.bob)
        assert told() == 0
        for callback in callbacks:
            callback()
        assert told() == 1

    def test_the_served_copy_is_updated_only_after_the_commit(self) -> None:
        draft = self.draft()
        with override_settings(HERALD_SITE_DIR=str(self.site_dir)):
            store = serving.SiteStore()
            with self.captureOnCommitCallbacks(execute=False) as callbacks:
                do_publish_advisory(draft, acting_user=self.bob)
            assert store.read_state() == {}
            for callback in callbacks:
                callback()
            assert store.read_state()["generation"] == serving.database_generation()

    @pytest.fixture(autouse=True)
    def _site_dir(self, tmp_path: Path) -> None:
        self.site_dir = tmp_path / "site"


class EveryCallerTests(PublishPathTestCase):
    """The desk, the API, the CLI and the scheduler all end in the same function:
    each leaves the same outputs (revision, artifacts, outbox row)."""

    def assert_published(self, pk: int) -> None:
        advisory = Advisory.objects.get(pk=pk)
        assert advisory.state == Advisory.State.PUBLISHED
        revisions, stored, told = published_outputs(advisory)
        assert (revisions, told) == (1, 1) and stored > 0

    def test_the_desk_publishes_through_it(self) -> None:
        draft = self.draft()
        client = Client()
        client.force_login(self.bob)  # type: ignore[arg-type]  # the cast's user model
        url = f"/desk/advisories/{draft.identifier}/publish/"
        response = client.post(url, form_data(client.get(url)))
        assert response.status_code == 302, response.content
        self.assert_published(draft.pk)

    def test_the_api_publishes_through_it(self) -> None:
        draft = self.draft()
        _, token = do_create_token(
            user=self.bob, name="t", scopes=["read", "write", "publish"], days=1,
            acting_user=self.bob,
        )  # fmt: skip
        response = Client(HTTP_HOST="localhost").post(
            f"/api/v1/desk/advisories/{draft.identifier}/publish",
            data=json.dumps({"expected_version": draft.version}),
            content_type="application/json",
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 200, response.content
        self.assert_published(draft.pk)

    def test_the_cli_publishes_through_it(self) -> None:
        draft = self.draft()
        call_command("advisory", "publish", draft.identifier, "--as", "bob", stdout=StringIO())
        self.assert_published(draft.pk)

    def test_the_scheduler_publishes_through_it(self) -> None:
        draft = self.draft()
        at = timezone.now() + dt.timedelta(hours=1)
        with self.captureOnCommitCallbacks(execute=False):
            draft = do_schedule_publication(draft, acting_user=self.bob, at=at)
        assert draft.scheduled_publish_at is not None
        with mock.patch("django.utils.timezone.now", return_value=at + dt.timedelta(seconds=1)):
            outcome = publish_scheduled.call(draft.pk, draft.scheduled_publish_at.isoformat())
        assert outcome == "published"
        self.assert_published(draft.pk)

    def test_an_automatic_declaration_tells_the_internal_channels(self) -> None:
        """DESIGN rule 1: declared by Herald for an advisory, announced like any other."""
        advisory = do_create_advisory(acting_user=self.bob, **publishable())  # none open
        incident = Incident.objects.get()
        assert advisory.incident == incident and incident.auto_declared
        assert Message.objects.filter(key=f"incident:{incident.pk}").exists()


class NoSignalsTests(HeraldTestCase):
    # Where a Signal or a receiver may stay: listening to a library (allauth's logins).
    ALLOWED = {"accounts/signals.py", "accounts/apps.py"}

    def test_no_module_defines_a_signal_or_connects_a_model_receiver(self) -> None:
        offenders = []
        for path in HERALD.rglob("*.py"):
            relative = path.relative_to(HERALD).as_posix()
            if "/tests/" in f"/{relative}" or relative in self.ALLOWED:
                continue
            for node in ast.walk(ast.parse(path.read_text(), relative)):
                if isinstance(node, ast.Call):
                    name = ast.unparse(node.func)
                    target = name.removesuffix(".connect")
                    connects = target != name and (
                        target.split(".")[-1] in MODEL_SIGNALS or "signals" in target
                    )
                    if name.endswith("Signal") or name == "receiver" or connects:
                        offenders.append(f"{relative}:{node.lineno} {name}")
        assert offenders == []

    def test_no_herald_receiver_listens_to_model_saves(self) -> None:
        def herald_receivers(signal: Any) -> list[str]:
            found = []
            for entry in signal.receivers:
                ref = entry[1]
                receiver = ref() if isinstance(ref, weakref.ReferenceType) else ref
                module = getattr(receiver, "__module__", "") or ""
                if module.startswith("herald"):
                    found.append(f"{module}.{getattr(receiver, '__name__', receiver)}")
            return found

        for signal in (post_save, pre_save, post_delete):
            assert herald_receivers(signal) == []
        assert not post_save.has_listeners(Revision)
        assert not post_save.has_listeners(Incident)
