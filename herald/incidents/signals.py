"""Signals sent after an incident's transaction commits.

The notification app (internal channels, support) listens to these, so that
declaring an incident, by a person or automatically, tells the same people.
"""

from __future__ import annotations

from django.dispatch import Signal

incident_declared = Signal()  # kwargs: incident
