"""The old reporter mail queue's columns, emptied into the outbox by 0002."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("intake", "0002_reporter_mail_in_the_outbox")]

    operations = [
        migrations.RemoveIndex(model_name="reportmessage", name="intake_msg_mail_pending"),
        migrations.RemoveField(model_name="reportmessage", name="mail_attempts"),
        migrations.RemoveField(model_name="reportmessage", name="mail_last_error"),
        migrations.RemoveField(model_name="reportmessage", name="mail_next_attempt_at"),
        migrations.RemoveField(model_name="reportmessage", name="mail_sent_at"),
        migrations.RemoveField(model_name="reportmessage", name="mail_status"),
    ]
