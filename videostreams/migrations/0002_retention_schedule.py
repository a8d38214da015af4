from django.db import migrations

SCHEDULE_NAME = "faceapp: delete events past their retention"


def install(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.update_or_create(
        name=SCHEDULE_NAME,
        defaults={
            "func": "videostreams.tasks.delete_old_events",
            "schedule_type": "H",  # hourly
            "repeats": -1,
        },
    )


def remove(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=SCHEDULE_NAME).delete()


class Migration(migrations.Migration):
    """The hourly sweep of events older than FACEAPP_EVENT_RETENTION_DAYS (rows and image files)."""

    dependencies = [
        ("videostreams", "0001_initial"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]
    operations = [migrations.RunPython(install, remove)]
