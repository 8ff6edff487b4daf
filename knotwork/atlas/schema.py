"""The atlas data schema: what every file under ``knotwork/atlas/data`` must look like.

Pure pydantic, no Django: the loader, the engine, the CLI and the tests all validate the
YAML through these models, so a typo in a data file fails loudly at load time with the file,
the muscle and the field named.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class RegionKind(StrEnum):
    PAIRED = "paired"
    MIDLINE = "midline"


class View(StrEnum):
    FRONT = "front"
    BACK = "back"
    BOTH = "both"


class WpiArea(StrEnum):
    """The ACR 2016 Widespread Pain Index areas a region can count towards."""

    JAW = "jaw"
    SHOULDER_GIRDLE = "shoulder-girdle"
    UPPER_ARM = "upper-arm"
    LOWER_ARM = "lower-arm"
    HIP = "hip"
    UPPER_LEG = "upper-leg"
    LOWER_LEG = "lower-leg"
    NECK = "neck"
    UPPER_BACK = "upper-back"
    LOWER_BACK = "lower-back"
    CHEST = "chest"
    ABDOMEN = "abdomen"


class Region(Strict):
    id: Slug
    name: str = Field(min_length=2)
    kind: RegionKind
    view: View
    landmarks: str
    wpi: WpiArea | None = None


class RegionFile(Strict):
    version: int
    regions: list[Region]


class Laterality(StrEnum):
    IPSILATERAL = "ipsilateral"
    CONTRALATERAL = "contralateral"
    BILATERAL = "bilateral"


class Zone(Strict):
    region: Slug
    laterality: Laterality = Laterality.IPSILATERAL


class Palpation(StrEnum):
    FLAT = "flat"
    PINCER = "pincer"
    INTRAORAL = "intraoral"
    INTERNAL = "internal"  # intrapelvic / intra-vaginal or rectal: specialist training only


class Evidence(StrEnum):
    """How well a muscle's referral patterns are supported.

    - ``studied``: patterns reproduced in published experimental or clinical studies.
    - ``manual``: described in the Trigger Point Manual from clinical experience (most muscles).
    - ``limited``: sparse or conflicting descriptions; treat as a weaker hint.
    """

    STUDIED = "studied"
    MANUAL = "manual"
    LIMITED = "limited"


class Group(StrEnum):
    HEAD_FACE = "head-face"
    NECK = "neck"
    SHOULDER_UPPER_BACK = "shoulder-upper-back"
    UPPER_ARM = "upper-arm"
    FOREARM_HAND = "forearm-hand"
    TRUNK = "trunk"
    PELVIS_HIP = "pelvis-hip"
    THIGH_KNEE = "thigh-knee"
    LEG = "leg"
    FOOT = "foot"


class Location(Strict):
    region: Slug
    description: str = Field(min_length=10)


class Entrapment(Strict):
    nerve: str = Field(min_length=3)
    feels: str = Field(min_length=5)
    regions: list[Slug] = Field(default_factory=list)
    """The body-map regions of the nerve's skin territory below the entrapment, on the trigger
    point's side, where its numbness, tingling or burning is felt. Empty for a nerve or vessel
    whose compression gives no skin symptoms (a motor branch, a vein)."""


class Source(Strict):
    manual: str = Field(min_length=5)
    chapter: str = Field(min_length=1)
    note: str | None = None


class TriggerPoint(Strict):
    id: Slug
    name: str = Field(min_length=2)
    location: Location
    palpation: Palpation
    position: str = Field(min_length=5)
    essential: list[Zone] = Field(min_length=1)
    spillover: list[Zone] = Field(default_factory=list)
    symptoms: list[Slug] = Field(default_factory=list)
    entrapments: list[Entrapment] = Field(default_factory=list)
    lookalikes: list[str] = Field(default_factory=list)
    perpetuating: list[str] = Field(default_factory=list)
    self_care: Slug | None = None

    @model_validator(mode="after")
    def _zones_do_not_overlap(self) -> TriggerPoint:
        ess = {(z.region, z.laterality) for z in self.essential}
        spill = {(z.region, z.laterality) for z in self.spillover}
        both = sorted(r for r, _ in ess & spill)
        if both:
            raise ValueError(f"{self.id}: region(s) in both essential and spillover zones: {', '.join(both)}")
        for zones, name in ((self.essential, "essential"), (self.spillover, "spillover")):
            seen = [(z.region, z.laterality) for z in zones]
            if len(seen) != len(set(seen)):
                raise ValueError(f"{self.id}: a region is listed twice in the {name} zone")
        return self


class Muscle(Strict):
    id: Slug
    name: str = Field(min_length=2)
    synonyms: list[str] = Field(default_factory=list)
    group: Group
    actions: list[str] = Field(min_length=1)
    innervation: str = Field(min_length=3)
    source: Source
    evidence: Evidence
    trigger_points: list[TriggerPoint] = Field(min_length=1)

    @field_validator("trigger_points")
    @classmethod
    def _tp_ids_carry_the_muscle_id(cls, tps: list[TriggerPoint], info):  # type: ignore[no-untyped-def]
        mid = info.data.get("id", "")
        for tp in tps:
            if not re.match(rf"^{re.escape(mid)}(-[a-z0-9]+)+$", tp.id):
                raise ValueError(f"trigger point id {tp.id!r} must start with the muscle id {mid!r} and a suffix")
        return tps


class MuscleFile(Strict):
    muscles: list[Muscle] = Field(min_length=1)


class Symptom(Strict):
    id: Slug
    name: str
    description: str


class SymptomFile(Strict):
    symptoms: list[Symptom]
