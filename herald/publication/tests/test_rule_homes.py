"""Each publication rule has one home; the action, scheduler, dialog and preview agree."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from herald.advisories.models import Advisory
from herald.advisories.rules import publish_blockers
from herald.core.errors import ValidationError
from herald.publication.actions import do_publish_advisory, do_schedule_publication
from herald.test import HeraldTestCase, publishable
from herald.web.preview import preview_of
from herald.web.publish_plan import publish_plan

MISSING = "Publishing needs a description."


class BlockersTests(HeraldTestCase):
    def test_a_missing_field_blocks_the_action_the_scheduler_the_dialog_and_the_preview(
        self,
    ) -> None:
        draft = self.draft(description="")
        now = timezone.now()
        assert [(b.field, b.message) for b in publish_blockers(draft, at=now)] == [
            ("description", MISSING)
        ]
        with pytest.raises(ValidationError) as refused:
            do_publish_advisory(draft, acting_user=self.bob)
        assert refused.value.message_dict["description"] == [MISSING]
        with pytest.raises(ValidationError) as refused:
            do_schedule_publication(draft, acting_user=self.bob, at=now + dt.timedelta(hours=1))
        assert refused.value.message_dict["description"] == [MISSING]
        assert MISSING in publish_plan(draft, now=now).problems
        preview = preview_of(publishable(description=""), {}, advisory=None, now=now)
        assert f"Description: {MISSING}" in preview.problems
        assert Advisory.objects.get(pk=draft.pk).state == Advisory.State.DRAFT

    def test_an_embargo_blocks_the_action_without_a_reason_and_a_schedule_before_its_end(
        self,
    ) -> None:
        now = timezone.now()
        end = now + dt.timedelta(days=2)
        draft = self.draft(embargo_until=end)
        with pytest.raises(ValidationError) as refused:
            do_publish_advisory(draft, acting_user=self.bob)
        assert "under embargo" in refused.value.message_dict["embargo_until"][0]
        with pytest.raises(ValidationError) as refused:
            do_schedule_publication(draft, acting_user=self.bob, at=end - dt.timedelta(hours=1))
        assert "under embargo" in refused.value.message_dict["scheduled_publish_at"][0]
        scheduled = do_schedule_publication(draft, acting_user=self.bob, at=end)
        assert scheduled.scheduled_publish_at == end
        published = do_publish_advisory(
            scheduled, acting_user=self.bob, lift_embargo_reason="Exploited; disclosing now."
        )
        assert published.state == Advisory.State.PUBLISHED

    def test_outreach_blocks_only_the_unattended_publication(self) -> None:
        draft = self.draft(user_action_required=True)
        now = timezone.now()
        assert publish_blockers(draft, at=now) == []
        assert [b.field for b in publish_blockers(draft, at=now, unattended=True)] == ["outreach"]
        with pytest.raises(ValidationError) as refused:
            do_schedule_publication(draft, acting_user=self.bob, at=now + dt.timedelta(hours=1))
        assert "outreach" in refused.value.message_dict
        assert publish_plan(draft, now=now).needs_outreach
        waived = publish_blockers(draft, at=now, unattended=True, outreach_waiver_reason="None.")
        assert waived == []


class PreviewCleansLikeTheActionTests(HeraldTestCase):
    def test_regions_are_split_alike_in_the_preview_and_the_action(self) -> None:
        now = timezone.now()
        for typed in ("EU US", "EU, US", "eu,us", " US ,  EU ", "US"):
            values = publishable(affected_regions=typed)
            preview = preview_of(values, {}, advisory=None, now=now)
            advisory = self.draft(affected_regions=typed)
            assert preview.snapshot.affected_regions == tuple(advisory.affected_regions), typed
            assert not [p for p in preview.problems if p.startswith("Affected regions")], typed

    def test_an_unknown_region_is_refused_alike_in_the_preview_and_the_action(self) -> None:
        preview = preview_of(
            publishable(affected_regions="EU APAC"), {}, advisory=None, now=timezone.now()
        )
        with pytest.raises(ValidationError) as refused:
            self.draft(affected_regions="EU APAC")
        [message] = refused.value.message_dict["affected_regions"]
        assert any(message in problem for problem in preview.problems)
