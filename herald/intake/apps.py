"""The intake app: vulnerability reports from the form, the API and e-mail."""

from __future__ import annotations

from typing import Any

from django.apps import AppConfig


class IntakeConfig(AppConfig):
    name = "herald.intake"
    label = "intake"

    def ready(self) -> None:
        from herald.advisories import signals
        from herald.intake import checks  # noqa: F401  (registers the system checks)

        signals.advisory_revised.connect(_advisory_revised, dispatch_uid="intake.published")


def _advisory_revised(sender: Any, advisory: Any, revision: Any, **kwargs: Any) -> None:
    """When an advisory is first published, the reporters it credits are told."""
    from herald.advisories.models import Revision
    from herald.intake.actions import do_tell_reporters_published

    if revision.kind == Revision.Kind.PUBLISHED:
        do_tell_reporters_published(advisory)
