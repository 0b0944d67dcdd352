"""Benchmark: an outreach campaign to N contacts through a local SMTP sink, next to smtp-source.

Usage (needs Debian's postfix package for smtp-sink and smtp-source)::

    .venv/bin/python bench/campaign_smtp.py --contacts 100000 --sessions 1,4

For each session count it starts one Postfix ``smtp-sink`` on loopback, times
Herald draining a sent campaign of ``--contacts`` deliveries through it (every
delivery recorded as sent in the database), then times ``smtp-source`` sending
the same number of messages of the same size over the same number of parallel
sessions (reusing connections, as Herald does) to the same sink, and prints
both rates. Setup (customers, publishing, writing the deliveries) is timed
separately and not part of the rate. A fresh SQLite database under a temporary
HERALD_HOME is used unless DATABASE_URL is set.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_sink(port: int) -> subprocess.Popen[bytes]:
    args = ["smtp-sink"]
    if os.geteuid() == 0:
        args += ["-u", "nobody"]  # smtp-sink refuses to run as root without a user
    args += [f"127.0.0.1:{port}", "1024"]
    sink = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603  (fixed argv)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return sink
        except OSError:
            time.sleep(0.05)
    sink.kill()
    raise SystemExit("smtp-sink did not start (apt-get install postfix)")


def setup_django(home: str) -> None:
    os.environ["HERALD_HOME"] = home
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "herald.settings")
    os.environ["HERALD_LOG_LEVEL"] = "WARNING"
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def make_campaign(contacts: int) -> int:
    """Customers, an exposed advisory, its approved and sent campaign. Returns its id."""
    from django.contrib.auth import get_user_model
    from django.db import transaction
    from django.utils import timezone

    from herald.core.models import Product, VendorProfile
    from herald.notify import actions
    from herald.notify.models import Contact, Customer, Deployment
    from herald.publication.actions import (
        do_create_advisory,
        do_declare_incident,
        do_publish_advisory,
    )

    profile = VendorProfile.get()
    profile.regions = ["US", "EU"]
    profile.save()
    admin = get_user_model().objects.create_user("bench", is_staff=True, is_superuser=True)
    product = Product.objects.create(name="Bench Cloud", slug="cloud")
    now = timezone.now()
    # Bulk rows here: the benchmark measures sending, not importing.
    with transaction.atomic():
        customers = Customer.objects.bulk_create(
            [
                Customer(external_id=f"c{i}", name=f"Customer {i}", region="EU",
                         created_at=now, updated_at=now)
                for i in range(contacts)
            ],
            batch_size=5000,
        )  # fmt: skip
        Contact.objects.bulk_create(
            [Contact(customer=c, email=f"contact{i}@example.com") for i, c in
             enumerate(customers)], batch_size=5000,
        )  # fmt: skip
        Deployment.objects.bulk_create(
            [Deployment(customer=c, product=product, kind="cloud", region="EU")
             for c in customers], batch_size=5000,
        )  # fmt: skip
    incident = do_declare_incident(title="Bench", acting_user=admin)
    advisory = do_create_advisory(
        acting_user=admin,
        incident=incident,
        title="Session tokens exposed in logs",
        description="Session tokens were written to a log readable by support staff. " * 20,
        severity="high",
        affected_users="Cloud customers in the EU region.",
        resolution="Rotate your API keys. " * 10,
        discovered_at="2026-01-10",
        reported_at="2026-01-11",
        confirmed_exposure=True,
        affected=[{"product": "cloud", "deployment": "cloud", "region": "EU"}],
    )
    advisory = do_publish_advisory(advisory, acting_user=admin)
    campaign = advisory.campaigns.get()
    actions.do_approve_campaign(campaign, acting_user=admin)
    return campaign.pk


def reset_deliveries(campaign_id: int) -> None:
    from django.utils import timezone

    from herald.notify.models import Delivery

    Delivery.objects.filter(campaign_id=campaign_id).update(
        status="pending", attempts=0, next_attempt_at=timezone.now(), sent_at=None, claimed_by=""
    )


def message_size(campaign_id: int) -> int:
    from herald.notify.channels import SMTPConfig, SMTPSession
    from herald.notify.delivery import envelope_of
    from herald.notify.models import Delivery

    row = Delivery.objects.select_related("message", "subscriber").filter(campaign_id=campaign_id)[
        0
    ]
    return len(SMTPSession(SMTPConfig(), "Bench <security@example.com>").render(envelope_of(row)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--sessions", default="1,4", help="comma-separated session counts")
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument(
        "--senders", type=int, default=None,
        help="senders sharing the sessions (default: HERALD_NOTIFY_SENDERS, one per CPU)",
    )  # fmt: skip
    options = parser.parse_args()
    for tool in ("smtp-sink", "smtp-source"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} not found: apt-get install -y postfix")

    home = tempfile.mkdtemp(prefix="herald-bench-")
    setup_django(home)
    from django.conf import settings

    from herald.core.mail import outbox
    from herald.notify import actions, delivery
    from herald.notify.models import Campaign, Delivery

    started = time.perf_counter()
    campaign_id = make_campaign(options.contacts)
    prepared = time.perf_counter() - started
    started = time.perf_counter()
    actions.do_send_campaign(Campaign.objects.get(pk=campaign_id), acting_user=None)
    written = time.perf_counter() - started
    size = message_size(campaign_id)
    from django.db import connection

    print(f"database: {connection.vendor}; {options.contacts} contacts; message {size} bytes")
    print(f"setup {prepared:.1f}s; do_send_campaign wrote {options.contacts} deliveries "
          f"in {written:.1f}s")  # fmt: skip
    print()
    print(f"{'sessions':>8}  {'herald msg/s':>12}  {'smtp-source msg/s':>17}  {'ratio':>6}")
    results = []
    for sessions in [int(s) for s in options.sessions.split(",") if s]:
        reset_deliveries(campaign_id)
        port = free_port()
        sink = start_sink(port)
        try:
            # settings.py reads HERALD_SMTP_URL from the environment once, at start
            # (herald.core.mail reads the setting): set the setting itself, or the
            # mail goes to the local outbox and the sink is never used.
            settings.HERALD_SMTP_URL = f"smtp://127.0.0.1:{port}"
            t0 = time.perf_counter()
            stats = delivery.drain(
                seconds=3600, sessions=sessions, batch=options.batch, senders=options.senders
            )
            herald_s = time.perf_counter() - t0
            sent = Delivery.objects.filter(campaign_id=campaign_id, status="sent").count()
            assert sent == options.contacts, (sent, stats)
            assert not outbox().exists(), "mail went to the local outbox, not the sink"
            command = [
                "smtp-source", "-s", str(sessions), "-m", str(options.contacts),
                "-l", str(size), "-d", "-f", "security@example.com",
                "-t", "contact@example.com", f"127.0.0.1:{port}",
            ]  # fmt: skip
            t0 = time.perf_counter()
            subprocess.run(command, check=True)  # noqa: S603  (fixed argv, no shell)
            source_s = time.perf_counter() - t0
        finally:
            sink.terminate()
            sink.wait()
        herald_rate = options.contacts / herald_s
        source_rate = options.contacts / source_s
        results.append((sessions, herald_rate, source_rate, " ".join(command)))
        print(f"{sessions:>8}  {herald_rate:>12,.0f}  {source_rate:>17,.0f}  "
              f"{herald_rate / source_rate:>6.2f}", flush=True)  # fmt: skip
    print()
    print("every delivery recorded as sent: yes")
    for sessions, _, _, command in results:
        print(f"smtp-source command ({sessions} session(s)): {command}")
    shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
