"""Accounts: who may use the desk, with which role, second factor, tokens and reviews."""

from __future__ import annotations

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "herald.accounts"
    label = "accounts"
    verbose_name = "Herald accounts"

    def ready(self) -> None:
        from herald.accounts import signals  # noqa: F401  (connects the audit receivers)
