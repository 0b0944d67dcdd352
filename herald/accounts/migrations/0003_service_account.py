"""Herald's service account on desks that exist already (``herald setup`` makes it on new ones).

Writes that no person asked for by name (the CLI without ``--as``, the worker,
the scheduler) are recorded for this account, never for a free string such as
"cli". It cannot sign in on the web: no usable password, no e-mail, not staff.
An empty database (a new desk, a test run) is left alone; the account is
created there at first use.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import migrations

SERVICE_USERNAME = "herald-service"  # herald.audit.actions.SERVICE_USERNAME, as of this migration


def create_service_account(apps: Any, schema_editor: Any) -> None:
    app_label, model_name = settings.AUTH_USER_MODEL.split(".")
    user_model = apps.get_model(app_label, model_name)
    users = user_model._default_manager
    if not users.exists() or users.filter(username=SERVICE_USERNAME).exists():
        return
    users.create(
        username=SERVICE_USERNAME,
        password=make_password(None),
        is_active=True,
        is_staff=False,
        is_superuser=False,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_cache_table"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [migrations.RunPython(create_service_account, migrations.RunPython.noop)]
