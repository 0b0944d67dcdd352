"""Turning what an action refused into messages on the form the person filled in.

Actions raise ``ValidationError`` keyed by field, ``ConflictError`` when someone else
saved first, and ``HeraldError`` for any other refusal. Here each message lands next
to the field it is about, or at the top of the form when the form has no such field.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

from django import forms

from herald.core.errors import ConflictError, HeraldError, ValidationError

T = TypeVar("T")

LABELS = {
    "cve_ids": "CVE ids",
    "cwe_ids": "CWE ids",
    "cvss_v3_vector": "CVSS v3.1 vector",
    "cvss_v4_vector": "CVSS v4.0 vector",
    "embargo_until": "Embargo",
    "scheduled_publish_at": "Publication time",
}


def label_for(key: str) -> str:
    return LABELS.get(key) or key.replace("_at", "").replace("_", " ").capitalize()


def attach_errors(
    exc: ValidationError,
    form: forms.Form,
    *,
    aliases: Mapping[str, str] | None = None,
    sections: dict[str, list[str]] | None = None,
) -> None:
    """Put each message on the field it names (through ``aliases``), a section, or the form."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, list(exc.messages))
        return
    for key, messages in exc.message_dict.items():
        name = (aliases or {}).get(key, key)
        if name in form.fields:
            form.add_error(name, messages)
        elif sections is not None and name in sections:
            sections[name].extend(messages)
        elif key == "__all__":
            form.add_error(None, messages)
        else:
            # The form has no such field (publishing checks fields edited elsewhere):
            # name it, so the person knows where to go.
            form.add_error(None, [f"{label_for(key)}: {message}" for message in messages])


@dataclass
class Outcome(Generic[T]):
    value: T | None = None
    status: int = 200

    @property
    def ok(self) -> bool:
        return self.value is not None


def attempt(
    form: forms.Form,
    action: Callable[[], T],
    *,
    aliases: Mapping[str, str] | None = None,
    sections: dict[str, list[str]] | None = None,
) -> Outcome[T]:
    """Run one action; on refusal attach its messages to ``form`` and say which status to send."""
    try:
        return Outcome(value=action())
    except ConflictError as exc:
        form.add_error(None, str(exc))
        return Outcome(status=409)
    except HeraldError as exc:
        form.add_error(None, str(exc))
        return Outcome(status=400)
    except ValidationError as exc:
        attach_errors(exc, form, aliases=aliases, sections=sections)
        return Outcome(status=400)
