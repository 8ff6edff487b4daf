"""Families: a ``Household`` per clinic and ``Client.household``.

A household never spans two clinics, and the database holds that too, beside the service's own
check (knotwork/clients/family.py):

- PostgreSQL: a composite foreign key (household_id, clinic_id) → clients_household (id, clinic_id),
  checked at once (not deferred) so a bad write fails on the statement that makes it. The single
  column foreign key Django keeps on household_id stays as it is.
- SQLite: BEFORE INSERT / UPDATE triggers on clients_client, and one on clients_household for a
  change of clinic while it has members. SQLite drops a table's triggers when Django rebuilds that
  table for a later schema change, so such a migration must create them again;
  tests/clients/test_family.py fails if they are missing.

Neither is part of the model state (no vendor-neutral way to declare either), so each operation
checks the vendor itself, as bookings/0002_no_overlap_guards does.
"""

import django.db.models.deletion
from django.db import migrations, models

PG_FOREIGN_KEY = "client_household_same_clinic_fk"

SQLITE_TRIGGERS = {
    "client_household_same_clinic_ins": """
CREATE TRIGGER client_household_same_clinic_ins BEFORE INSERT ON clients_client
FOR EACH ROW WHEN NEW.household_id IS NOT NULL
BEGIN
  SELECT RAISE(ABORT, 'client_household_same_clinic')
  WHERE NOT EXISTS (SELECT 1 FROM clients_household h WHERE h.id = NEW.household_id AND h.clinic_id = NEW.clinic_id);
END;""",
    "client_household_same_clinic_upd": """
CREATE TRIGGER client_household_same_clinic_upd BEFORE UPDATE OF household_id, clinic_id ON clients_client
FOR EACH ROW WHEN NEW.household_id IS NOT NULL
BEGIN
  SELECT RAISE(ABORT, 'client_household_same_clinic')
  WHERE NOT EXISTS (SELECT 1 FROM clients_household h WHERE h.id = NEW.household_id AND h.clinic_id = NEW.clinic_id);
END;""",
    "household_keeps_its_clinic_upd": """
CREATE TRIGGER household_keeps_its_clinic_upd BEFORE UPDATE OF clinic_id ON clients_household
FOR EACH ROW WHEN NEW.clinic_id <> OLD.clinic_id
BEGIN
  SELECT RAISE(ABORT, 'client_household_same_clinic')
  WHERE EXISTS (SELECT 1 FROM clients_client c WHERE c.household_id = OLD.id);
END;""",
}


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(
            f"ALTER TABLE clients_client ADD CONSTRAINT {PG_FOREIGN_KEY} FOREIGN KEY (household_id, clinic_id) "
            "REFERENCES clients_household (id, clinic_id) NOT DEFERRABLE"
        )
    elif vendor == "sqlite":
        for sql in SQLITE_TRIGGERS.values():
            schema_editor.execute(sql)


def backwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE clients_client DROP CONSTRAINT IF EXISTS {PG_FOREIGN_KEY}")
    elif vendor == "sqlite":
        for name in SQLITE_TRIGGERS:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_clinic_us_superbill"),
        ("clients", "0008_intake_consent_language"),
    ]

    operations = [
        migrations.CreateModel(
            name="Household",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "clinic",
                    models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="households", to="accounts.clinic"),
                ),
            ],
        ),
        migrations.AddField(
            model_name="client",
            name="household",
            field=models.ForeignKey(
                blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name="members", to="clients.household"
            ),
        ),
        migrations.AddConstraint(
            model_name="household",
            constraint=models.UniqueConstraint(fields=("id", "clinic"), name="household_id_clinic_key"),
        ),
        migrations.RunPython(forwards, backwards),
    ]
