# The moved model's table takes the record app's name (rows kept: a rename).

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("record", "0001_emailchange_from_security"),
        ("security", "0003_emailchange_to_record"),
    ]

    operations = [
        migrations.AlterModelTable(name="emailchange", table=None),
    ]
