"""The sweeper task and its every-minute schedule are gone (studio/jobs/scheduler.py
decides what runs when); a schedule left behind would call a missing function."""

from django.apps.registry import Apps
from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor


def drop_schedule(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    schedule = apps.get_model("django_q", "Schedule")
    schedule.objects.filter(func="studio.tasks.sweeper").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("studio", "0002_report"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(drop_schedule, migrations.RunPython.noop)]
