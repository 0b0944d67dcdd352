"""Models of the apps the desk reads but does not need: reports (intake) and campaigns (notify).

The dashboard, search and metrics show reports and campaigns when their app is
installed and has the model, and leave those panels out otherwise. Each optional
model is one line of ``OPTIONAL_MODELS``; nothing is imported at module level, so
the desk works (and its tests run) whichever of these apps exist.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps

# name used by the desk -> (app label, model name)
OPTIONAL_MODELS: dict[str, tuple[str, str]] = {
    "report": ("intake", "Report"),
    "campaign": ("notify", "Campaign"),
    "delivery": ("notify", "Delivery"),
}


def optional_model(name: str) -> Any | None:
    """The model registered as ``name``, or None when its app is not installed.

    Typed ``Any``: the desk reads fields that only the optional app's model declares.
    """
    app_label, model_name = OPTIONAL_MODELS[name]
    try:
        return apps.get_model(app_label, model_name)
    except LookupError:
        return None
