from django.db import migrations

SCHEDULE_NAME = "faceapp: queue overdue webhook deliveries again"


def install(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.update_or_create(
        name=SCHEDULE_NAME,
        defaults={
            "func": "videostreams.tasks.requeue_stale_deliveries",
            "schedule_type": "I",  # every `minutes`
            "minutes": 1,
            "repeats": -1,
        },
    )


def remove(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=SCHEDULE_NAME).delete()


class Migration(migrations.Migration):
    """The sweep that makes a webhook delivery survive a broker outage: the row is the work, the task a wake-up."""

    dependencies = [
        ("videostreams", "0003_camera_preset_event_votes"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]
    operations = [migrations.RunPython(install, remove)]
