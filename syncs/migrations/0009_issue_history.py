# Issue history (issue 12, item 5): issues are kept as spans over a config's applied
# runs instead of being replaced by the next run's. Rows stored before this migration
# become rows of their own run (no span), with their run's config and creation time.

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def fill_config_and_first_seen(apps, schema_editor):
    Issue = apps.get_model("syncs", "Issue")
    SyncRun = apps.get_model("syncs", "SyncRun")
    run = SyncRun.objects.filter(pk=OuterRef("run_id"))
    Issue.objects.update(
        config_id=Subquery(run.values("config_id")[:1]),
        first_seen_at=Subquery(run.values("created_at")[:1]),
    )


class Migration(migrations.Migration):

    dependencies = [
        ('syncs', '0008_permissions'),
    ]

    operations = [
        migrations.AddField(
            model_name='syncrun',
            name='issue_seq',
            field=models.PositiveIntegerField(blank=True, editable=False, null=True),
        ),
        migrations.AddConstraint(
            model_name='syncrun',
            constraint=models.UniqueConstraint(condition=models.Q(('issue_seq__isnull', False)), fields=('config', 'issue_seq'), name='syncs_syncrun_unique_issue_seq'),
        ),
        migrations.AddField(
            model_name='issue',
            name='config',
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='syncs.syncconfig'),
        ),
        migrations.AddField(
            model_name='issue',
            name='first_seen_at',
            field=models.DateTimeField(null=True),
        ),
        migrations.AddField(
            model_name='issue',
            name='first_seq',
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='issue',
            name='last_seq',
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='issue',
            name='digest',
            field=models.CharField(blank=True, max_length=40),
        ),
        migrations.AddField(
            model_name='issue',
            name='new_at_start',
            field=models.BooleanField(default=False),
        ),
        migrations.AlterField(
            model_name='issue',
            name='run',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='syncs.syncrun'),
        ),
        migrations.RunPython(fill_config_and_first_seen, migrations.RunPython.noop),
        migrations.AlterField(
            model_name='issue',
            name='config',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='syncs.syncconfig'),
        ),
        migrations.AlterField(
            model_name='issue',
            name='first_seen_at',
            field=models.DateTimeField(),
        ),
        migrations.AlterModelOptions(
            name='issue',
            options={'ordering': ['id']},
        ),
        migrations.AddIndex(
            model_name='issue',
            index=models.Index(fields=['config', 'last_seq', 'first_seq'], name='syncs_issue_config__e21db1_idx'),
        ),
    ]
