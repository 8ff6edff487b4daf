"""The database's own guarantee that a therapist (or a room) is never booked twice.

PostgreSQL: exclusion constraints over tstzrange(block_start, block_end, '[)') with btree_gist for
the equality part. SQLite: BEFORE INSERT / BEFORE UPDATE triggers that abort an overlapping row;
SQLite writes are serialised (transactions begin IMMEDIATE), so the check cannot race.

The constraints are not part of the model state: a model-level ExclusionConstraint would make
SQLite's schema editor emit PostgreSQL-only SQL. Each operation checks the vendor itself.
"""

from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import DateTimeRangeField, RangeBoundary, RangeOperators
from django.contrib.postgres.operations import BtreeGistExtension
from django.db import migrations
from django.db.models import Func, Q

BLOCKING = ["held", "requested", "confirmed"]


class TsTzRange(Func):
    function = "TSTZRANGE"
    output_field = DateTimeRangeField()


def _constraints():
    block = (TsTzRange("block_start", "block_end", RangeBoundary()), RangeOperators.OVERLAPS)
    return [
        ExclusionConstraint(
            name="appointment_no_therapist_overlap",
            expressions=[("therapist", RangeOperators.EQUAL), block],
            condition=Q(status__in=BLOCKING),
        ),
        ExclusionConstraint(
            name="appointment_no_room_overlap",
            expressions=[("room", RangeOperators.EQUAL), block],
            condition=Q(status__in=BLOCKING, room__isnull=False),
        ),
    ]


def _trigger(name, event, resource, extra_where=""):
    statuses = ", ".join(f"'{s}'" for s in BLOCKING)
    return f"""
CREATE TRIGGER {name} BEFORE {event} ON bookings_appointment
FOR EACH ROW WHEN NEW.status IN ({statuses}) AND NEW.{resource} IS NOT NULL
BEGIN
  SELECT RAISE(ABORT, '{name.replace("_ins", "").replace("_upd", "")}')
  WHERE EXISTS (
    SELECT 1 FROM bookings_appointment a
    WHERE a.{resource} = NEW.{resource}
      AND a.status IN ({statuses})
      AND a.block_start < NEW.block_end AND a.block_end > NEW.block_start
      {extra_where}
  );
END;"""


SQLITE_TRIGGERS = {
    "appointment_no_therapist_overlap_ins": _trigger("appointment_no_therapist_overlap_ins", "INSERT", "therapist_id"),
    "appointment_no_therapist_overlap_upd": _trigger(
        "appointment_no_therapist_overlap_upd",
        "UPDATE OF status, therapist_id, block_start, block_end",
        "therapist_id",
        "AND a.id <> NEW.id",
    ),
    "appointment_no_room_overlap_ins": _trigger("appointment_no_room_overlap_ins", "INSERT", "room_id"),
    "appointment_no_room_overlap_upd": _trigger(
        "appointment_no_room_overlap_upd",
        "UPDATE OF status, room_id, block_start, block_end",
        "room_id",
        "AND a.id <> NEW.id",
    ),
}


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        model = apps.get_model("bookings", "Appointment")
        for constraint in _constraints():
            schema_editor.add_constraint(model, constraint)
    elif vendor == "sqlite":
        for sql in SQLITE_TRIGGERS.values():
            schema_editor.execute(sql)


def backwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        model = apps.get_model("bookings", "Appointment")
        for constraint in _constraints():
            schema_editor.remove_constraint(model, constraint)
    elif vendor == "sqlite":
        for name in SQLITE_TRIGGERS:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("bookings", "0001_services_availability_appointments")]

    operations = [
        BtreeGistExtension(),  # a no-op on other databases
        migrations.RunPython(forwards, backwards),
    ]
