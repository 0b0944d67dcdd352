"""Reporter mail moves from its own queue on ReportMessage to notify's outbox.

Every message that owed, sent or gave up on an e-mail copy becomes a notify
``Message`` and ``Delivery`` row with the same state, attempts, error and
Message-ID (the reporter's replies quote it); 0003 then drops the old columns (in
a migration of its own: PostgreSQL refuses to alter a table with pending
deferred-constraint checks from the rows written here).
"""

import django.db.models.deletion
from django.db import migrations, models
from django.utils import timezone


def to_outbox(apps, schema_editor):
    from herald.intake.outbound import compose

    ReportMessage = apps.get_model("intake", "ReportMessage")
    Message = apps.get_model("notify", "Message")
    Delivery = apps.get_model("notify", "Delivery")
    VendorProfile = apps.get_model("core", "VendorProfile")
    owed = ReportMessage.objects.exclude(mail_status="none").select_related("report__reporter")
    if not owed.exists():
        return
    profile = VendorProfile.objects.order_by("pk").first()
    contact = profile.security_contact if profile is not None else ""
    status_of = {"pending": "pending", "sent": "sent", "dead": "dead"}
    for old in owed.iterator():
        report = old.report
        mail = compose(
            message_pk=old.pk,
            body=old.body,
            system=old.via == "system",
            tracking_id=report.tracking_id,
            title=report.title,
            token=report.token,
            reply_token=report.reply_token,
            recipient=report.reporter.email,
            security_contact=contact,
        )
        message, _ = Message.objects.get_or_create(
            key=mail.key,
            defaults={
                "source": "report",
                "subject": mail.subject,
                "text": mail.text,
                "data": {"event": "report.message", "report": mail.tracking_id},
                "headers": mail.headers,
                "created_at": old.created_at,
            },
        )
        status = status_of.get(old.mail_status, "pending")
        delivery, _ = Delivery.objects.get_or_create(
            idempotency_key=mail.key,
            defaults={
                "message": message,
                "kind": "email",
                "recipient": mail.recipient,
                "rfc_message_id": mail.message_id,
                "status": status,
                "attempts": old.mail_attempts,
                "next_attempt_at": old.mail_next_attempt_at or timezone.now(),
                "last_error": old.mail_last_error,
                "created_at": old.created_at,
                "sent_at": old.mail_sent_at,
            },
        )
        old.delivery = delivery
        old.save(update_fields=["delivery"])


class Migration(migrations.Migration):
    dependencies = [
        ("intake", "0001_initial"),
        ("core", "0001_initial"),
        ("notify", "0003_message_headers_and_reporter_source"),
    ]

    operations = [
        migrations.AddField(
            model_name="reportmessage",
            name="delivery",
            field=models.OneToOneField(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="notify.delivery",
            ),
        ),
        migrations.RunPython(to_outbox, migrations.RunPython.noop),
    ]
