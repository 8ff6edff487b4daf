"""The spatial index for nearest-first search (knotwork/directory/geo.py, docs/directory.md).

PostgreSQL: the cube and earthdistance extensions (trusted since PostgreSQL 13: the database
owner may create them without being a superuser) and a GiST index on ll_to_earth(latitude,
longitude) of listed profiles. SQLite: an R*Tree virtual table kept in step by triggers.
Other databases get nothing and search by the exact distance alone.
"""

from django.db import migrations


def forwards(apps, schema_editor):
    from knotwork.directory.geo import ensure_index

    ensure_index(schema_editor.connection)


def backwards(apps, schema_editor):
    from knotwork.directory.geo import drop_index

    drop_index(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("directory", "0001_directory_profiles_credentials_reviews")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
