"""Django's JSON serialization with times to the microsecond: the logical dump of a backup.

Django's own JSON format cuts times to milliseconds. The audit chain hashes each
event's time to the microsecond, so a dump loaded into another database must
keep every digit, or the restored chain would read as edited. Registered as the
``heraldjson`` format (``SERIALIZATION_MODULES``), so ``dumpdata`` and
``loaddata`` use it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.serializers import json as django_json
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


Deserializer = django_json.Deserializer
