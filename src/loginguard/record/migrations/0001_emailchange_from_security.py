# EmailChange moves here from the security app without losing a row: this migration only
# tells Django's state that the model lives here (on the existing table), and 0002
# renames the table in the database.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("security", "0002_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
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
                    options={"db_table": "security_emailchange"},
                ),
            ],
            database_operations=[],
        ),
    ]
