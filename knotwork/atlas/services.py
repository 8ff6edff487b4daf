from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from knotwork.accounts.models import Capability, Membership
from knotwork.accounts.permissions import require
from knotwork.atlas.loader import AtlasData, atlas
from knotwork.atlas.models import AtlasVersion, Muscle, Region, TriggerPoint
from knotwork.audit.models import Action, AuditEvent
from knotwork.audit.services import audit_record
from knotwork.engine import ExplainResult, red_flag_rules_version

CLEARANCE_OBJECT = "engine.clearance"
"""The audit ``object_type`` of a medical clearance stated without a client record (the explain
page, the engine API); a client's own clearances are ``clients.medicalclearance`` rows."""


@dataclass(frozen=True)
class LoadReport:
    version: str
    created: bool  # False when this version was already loaded
    regions: int
    muscles: int
    trigger_points: int
    retired: int


@transaction.atomic
def atlas_load(*, data: AtlasData | None = None) -> LoadReport:
    """Copy the atlas files into the database. Idempotent: loading the same version does nothing."""
    data = data or atlas()
    tps = data.trigger_points()
    existing = AtlasVersion.objects.filter(version=data.version).first()
    if existing is not None:
        return LoadReport(data.version, False, len(data.regions), len(data.muscles), len(tps), 0)
    for r in data.regions:
        Region.objects.update_or_create(
            id=r.id, defaults={"name": r.name, "kind": r.kind, "view": r.view, "wpi": r.wpi or "", "retired": False}
        )
    for m in data.muscles:
        Muscle.objects.update_or_create(
            id=m.id, defaults={"name": m.name, "group": m.group, "data": m.model_dump(mode="json"), "retired": False}
        )
    for m, tp in tps:
        TriggerPoint.objects.update_or_create(
            id=tp.id, defaults={"muscle_id": m.id, "name": tp.name, "data": tp.model_dump(mode="json"), "retired": False}
        )
    retired = (
        Region.objects.exclude(id__in=data.region_by_id).update(retired=True)
        + Muscle.objects.exclude(id__in=data.muscle_by_id).update(retired=True)
        + TriggerPoint.objects.exclude(id__in=[tp.id for _, tp in tps]).update(retired=True)
    )
    AtlasVersion.objects.create(
        version=data.version, regions=len(data.regions), muscles=len(data.muscles), trigger_points=len(tps)
    )
    return LoadReport(data.version, True, len(data.regions), len(data.muscles), len(tps), retired)


@transaction.atomic
def engine_clearance_record(*, membership: Membership, result: ExplainResult, source: str) -> AuditEvent | None:
    """Audit a clinician's statement that a physician cleared the client, given where no client record exists.

    Recorded only when the statement took effect, i.e. the triage would otherwise have withheld
    the likely sources: who said so (the request's user, or the token's owner), the triage level
    and the red-flag ids it covered. Clinical roles only.
    """
    require(membership, Capability.EDIT_CLINICAL)
    triage = result.triage
    if triage is None or not triage.cleared:
        return None
    flags = list(triage.clearance_flags)
    return audit_record(
        action=Action.ACKNOWLEDGE,
        object_type=CLEARANCE_OBJECT,
        clinic=membership.clinic,
        actor=membership.user,
        role=membership.role,
        detail={"flags": flags, "level": triage.level, "source": source, "rules_version": red_flag_rules_version()},
    )
