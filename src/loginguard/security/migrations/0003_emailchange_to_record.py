# EmailChange moved to the record app (issue 12). The table stays; only Django's state
# forgets the model here, and record/0001 takes it over.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("security", "0002_initial"),
        ("record", "0001_emailchange_from_security"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="EmailChange")],
            database_operations=[],
        ),
    ]
