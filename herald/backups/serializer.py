"""Django's JSON serialization with times to the microsecond: the logical dump of a backup.

Django's own JSON format cuts times to milliseconds. The audit chain hashes each
event's time to the microsecond, so a dump loaded into another database must
keep every digit, or the restored chain would read as edited. Registered as the
``heraldjson`` format (``SERIALIZATION_MODULES``), so ``dumpdata`` and
``loaddata`` use it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from typing import Any

from django.core.serializers import json as django_json
from django.core.serializers.base import DeserializationError
from django.core.serializers.json import DjangoJSONEncoder


class PreciseEncoder(DjangoJSONEncoder):
    def default(self, o: Any) -> Any:
        if isinstance(o, dt.datetime | dt.time):
            return o.isoformat()
        return super().default(o)


class Serializer(django_json.Serializer):
    def _init_options(self) -> None:
        # Not in django-stubs, but present in Django since 1.x.
        super()._init_options()  # type: ignore[misc]
        self.json_kwargs["cls"] = PreciseEncoder


# The models a dump is loaded with: those of the schema it was made with, while
# ``models_of`` is in force (a restore into the other engine), else today's.
_dump_models: Any = None


@contextlib.contextmanager
def models_of(apps: Any) -> Iterator[None]:
    """Deserialize with ``apps`` (a migration state's models) instead of today's: a dump
    made by an older Herald fits the older schema, and the migrations after it
    (data migrations included) then move its rows forward like any desk's."""
    global _dump_models
    _dump_models = apps
    try:
        yield
    finally:
        _dump_models = None


class Deserializer(django_json.Deserializer):
    @staticmethod
    def _get_model_from_node(model_identifier: str) -> Any:
        # Django's own lookup (a static method django-stubs does not declare).
        today = django_json.Deserializer._get_model_from_node(  # type: ignore[attr-defined]
            model_identifier
        )
        if _dump_models is None:
            return today
        try:
            then = _dump_models.get_model(model_identifier)
        except (LookupError, TypeError, ValueError) as exc:
            raise DeserializationError(f"Invalid model identifier: {model_identifier!r}") from exc
        # Today's model while its columns are the old schema's: it keeps what a
        # migration state's model does not (natural keys, USERNAME_FIELD). A column
        # added since, or one moved away since (the advisory's CVE ids, now on its
        # vulnerabilities), and the dump is read with the model it was made with.
        columns = {f.column for f in then._meta.concrete_fields}
        if columns == {f.column for f in today._meta.concrete_fields}:
            return today
        return then
