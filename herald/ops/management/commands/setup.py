"""``herald setup``: everything a new installation needs before ``herald serve``.

Safe to run again: it migrates (saying which migrations an upgrade applied), keeps
an existing profile and accounts, and adds demo data only to a desk that has no
advisories yet.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.db import connection

from herald.audit.actions import service_account
from herald.core import baseurl, schema
from herald.core.mail import where_mail_goes
from herald.core.models import VendorProfile
from herald.home import make_private
from herald.publication.actions import do_apply_base_url


class Command(BaseCommand):
    help = (
        "Create or upgrade the database, the vendor profile and an admin account. "
        "With --demo, also load demo products, incidents and advisories in every state."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--demo", action="store_true", help="Load demo data (once).")
        parser.add_argument(
            "--admin",
            default="admin",
            metavar="USERNAME",
            help="Username of the first admin account (default: admin).",
        )
        parser.add_argument(
            "--admin-email",
            default="admin@example.com",
            metavar="EMAIL",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        database = connection.settings_dict
        name = str(database["NAME"])
        sqlite = database["ENGINE"].endswith("sqlite3") and not (
            name == ":memory:" or name.startswith("file:")
        )
        # Before the migration creates the database: its file is born 0600.
        make_private(settings.HERALD_HOME, Path(name) if sqlite else None)
        before = len(schema.applied_migrations())
        due = schema.due_migrations()
        call_command("migrate", interactive=False, verbosity=0)
        for line in schema.describe_upgrade(before, due):
            self.stdout.write(line)
        # Before anything is rendered: every artifact carries the base URL.
        base = do_apply_base_url(baseurl.default_served_url())
        user_model = get_user_model()
        username = options["admin"]
        if not user_model.objects.filter(is_superuser=True).exists():
            # A random password, shown once: nothing guessable is ever left on a desk
            # that will hold embargoed vulnerabilities.
            password = secrets.token_urlsafe(18)
            admin = user_model.objects.create_superuser(
                username=username, email=options["admin_email"], password=password
            )
            # The operator gave this address: it is theirs. Unverified, allauth would
            # refuse the admin a passkey ("verify your e-mail first") with no mail
            # server to verify it through.
            EmailAddress.objects.create(
                user=admin, email=options["admin_email"], verified=True, primary=True
            )
            self.stdout.write(
                self.style.SUCCESS("Admin account created. These credentials are shown once:")
            )
            self.stdout.write(f"    username: {username}\n    password: {password}")
            self.stdout.write("Change the password after signing in (herald changepassword).")
        else:
            self.stdout.write("Admin account exists; credentials unchanged.")
        # The account the CLI without --as, the worker and the scheduler act as.
        service_account()
        from herald.publishing.store.signing import active_key, ensure_signing_key

        if active_key() is None:
            from herald.advisories.models import Advisory

            if options["demo"] and not Advisory.objects.exists():
                from herald.ops.demo import demo_profile

                demo_profile()  # the key's user id then names the demo's vendor
            key = ensure_signing_key()
            self.stdout.write(f"OpenPGP signing key generated: {key.fingerprint}.")
        if options["demo"]:
            from herald.ops.demo import load_demo

            created = load_demo()
            if created:
                self.stdout.write(self.style.SUCCESS(f"Demo data loaded: {created}."))
            else:
                self.stdout.write("Demo data skipped: the desk already has advisories.")
        # Every public file is rendered again: after an upgrade, templates and
        # renderers may have changed, and the served copy must show what they make.
        from herald.publishing import tasks
        from herald.publishing.store import serving
        from herald.publishing.store.artifacts import regenerate_everything

        result = regenerate_everything()
        serving.sync()
        tasks.ensure_daily_refresh()
        from herald.backups.tasks import ensure_scheduled_backup

        ensure_scheduled_backup()
        from herald.core.maintenance import refresh_planner_statistics

        refresh_planner_statistics()
        self.stdout.write(
            f"Public files rendered: {len(result.changed)} changed "
            f"(generation {result.generation})."
        )
        # An upgrade from a version without the anchor starts one here, from today's chain.
        from herald.audit import anchor

        seq = anchor.write_checkpoint(unless_written=True)
        self.stdout.write(f"Audit chain anchored at event #{seq} ({anchor.anchor_path()}).")
        self.stdout.write(f"Vendor profile: {VendorProfile.get().name}.")
        self.stdout.write(f"Public base URL: {base.url} ({base.source}).")
        self.stdout.write(f"Mail goes to {where_mail_goes()}.")
