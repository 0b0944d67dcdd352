"""The intake app: vulnerability reports from the form, the API and e-mail."""

from __future__ import annotations

from django.apps import AppConfig


class IntakeConfig(AppConfig):
    name = "herald.intake"
    label = "intake"

    def ready(self) -> None:
        from herald.core.requests import register_body_limit
        from herald.intake import checks  # noqa: F401  (registers the system checks)
        from herald.intake.conf import max_request_bytes

        # Reports and replies carry attachments: the form and the API take them whole.
        for view_name in ("api-v1:submit_report", "api-v1:reporter_reply"):
            register_body_limit(view_name, max_request_bytes)
        for view_name in ("intake:report_form", "intake:thread"):
            register_body_limit(view_name, max_request_bytes, shown_in_form=True)
