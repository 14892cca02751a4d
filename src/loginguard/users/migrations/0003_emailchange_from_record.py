# EmailChange moves here from the record app (issue 26: a write to a user's address lives
# with the user, below the pages) without losing a row: only Django's state moves; the
# table keeps its name.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("users", "0002_user_links_invalidated_at"),
        ("record", "0002_emailchange_table"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="EmailChange",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True,
                                                   serialize=False, verbose_name="ID")),
                        ("new_email", models.EmailField(max_length=254)),
                        ("challenge", models.CharField(max_length=64)),
                        ("created_at", models.DateTimeField()),
                        ("requested_by", models.ForeignKey(
                            null=True, on_delete=django.db.models.deletion.SET_NULL,
                            related_name="+", to=settings.AUTH_USER_MODEL)),
                        ("user", models.OneToOneField(
                            on_delete=django.db.models.deletion.CASCADE,
                            related_name="pending_email_change",
                            to=settings.AUTH_USER_MODEL)),
                    ],
                    options={"db_table": "record_emailchange"},
                ),
            ],
            database_operations=[],
        ),
    ]
