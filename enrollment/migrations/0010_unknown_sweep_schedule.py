from django.db import migrations

SCHEDULE_NAME = "faceapp: re-cluster unknown sightings"


def install(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.update_or_create(
        name=SCHEDULE_NAME,
        defaults={
            "func": "enrollment.tasks.sweep_unknown_groups",
            "schedule_type": "H",  # hourly
            "repeats": -1,
        },
    )


def remove(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=SCHEDULE_NAME).delete()


class Migration(migrations.Migration):
    """The hourly sweep that merges and splits unknown groups with stable ids (enrollment.sweep)."""

    dependencies = [
        ("enrollment", "0009_sightings_unknown_groups"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]
    operations = [migrations.RunPython(install, remove)]
