from django.db import migrations

SCHEDULE_NAME = "faceapp: refresh AS-norm cohort statistics"


def install(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.update_or_create(
        name=SCHEDULE_NAME,
        defaults={
            "func": "enrollment.tasks.refresh_cohort_statistics",
            "schedule_type": "I",  # every `minutes`
            "minutes": 10,
            "repeats": -1,
        },
    )


def remove(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=SCHEDULE_NAME).delete()


class Migration(migrations.Migration):
    """Keeps enrolled faces' AS-norm statistics current in the background (searches refresh the few they need)."""

    dependencies = [
        ("enrollment", "0006_face_cohort_statistics"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]
    operations = [migrations.RunPython(install, remove)]
