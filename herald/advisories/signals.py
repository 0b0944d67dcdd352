"""Signals sent after an advisory's transaction commits.

``advisory_revised`` fires for every new public revision (publish, update,
fix, resolve, withdraw): publishing re-renders the artifacts, notifications tell
the channels.
"""

from __future__ import annotations

from django.dispatch import Signal

advisory_revised = Signal()  # kwargs: advisory, revision

# Sent inside the transaction that writes a public revision, before it commits:
# receivers that write (the published artifacts) commit or roll back with it, and
# one that raises ValidationError refuses the change.
revision_written = Signal()  # kwargs: advisory, revision
