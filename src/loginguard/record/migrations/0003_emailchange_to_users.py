# EmailChange now lives in the users app (users 0003): only Django's state forgets it
# here; the table and its rows stay.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("record", "0002_emailchange_table"),
        ("users", "0003_emailchange_from_record"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="EmailChange")],
            database_operations=[],
        ),
    ]
