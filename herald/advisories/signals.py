"""Signals sent after an advisory's transaction commits.

``advisory_revised`` fires for every new public revision (publish, update,
fix, resolve, withdraw): publishing re-renders the artifacts, notifications tell
the channels.
"""

from __future__ import annotations

from django.dispatch import Signal

advisory_revised = Signal()  # kwargs: advisory, revision
