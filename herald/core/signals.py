"""Signals of the core app."""

from __future__ import annotations

from django.dispatch import Signal

# Sent after the commit of a change to the vendor profile (its name, contact, base
# URL and page prose appear on every public page). kwargs: profile, fields.
profile_updated = Signal()
