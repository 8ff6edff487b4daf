"""Small synthetic atlases, so engine tests do not depend on the shipped muscle data."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from knotwork.atlas.loader import DATA_DIR, AtlasData, load_atlas
from knotwork.engine import Engine


def tp(
    tp_id: str,
    location: str,
    essential: list[Any],
    spillover: list[Any] | None = None,
    symptoms: list[str] | None = None,
) -> dict[str, Any]:
    """A trigger point row; zones are region ids or (region, laterality) pairs."""

    def zones(items: list[Any]) -> list[dict[str, str]]:
        return [{"region": z} if isinstance(z, str) else {"region": z[0], "laterality": z[1]} for z in items]

    return {
        "id": tp_id,
        "name": f"Test point {tp_id}",
        "location": {"region": location, "description": "A made-up location for engine tests."},
        "palpation": "flat",
        "position": "Supine, relaxed.",
        "essential": zones(essential),
        "spillover": zones(spillover or []),
        "symptoms": symptoms or [],
    }


def muscle(muscle_id: str, *tps: dict[str, Any], evidence: str = "manual", name: str | None = None) -> dict[str, Any]:
    return {
        "id": muscle_id,
        "name": name or muscle_id.replace("-", " ").capitalize(),
        "group": "neck",
        "actions": ["Moves something"],
        "innervation": "A test nerve",
        "source": {"manual": "Knotwork test fixtures", "chapter": "0"},
        "evidence": evidence,
        "trigger_points": list(tps),
    }


def write_atlas(root: Path, muscles: list[dict[str, Any]]) -> AtlasData:
    """Write a data dir with the shipped regions and symptoms plus the given muscles, and load it."""
    (root / "muscles").mkdir(parents=True, exist_ok=True)
    shutil.copy(DATA_DIR / "regions.yaml", root / "regions.yaml")
    shutil.copy(DATA_DIR / "symptoms.yaml", root / "symptoms.yaml")
    (root / "muscles" / "test.yaml").write_text(yaml.safe_dump({"muscles": muscles}, sort_keys=False))
    return load_atlas(root)


SYNTHETIC_MUSCLES = [
    # Head and neck: overlapping patterns with known answers.
    muscle("alpha", tp("alpha-1", "shoulder-top", ["temple", "neck-lateral"], ["orbit"], ["dizziness"])),
    muscle("beta", tp("beta-1", "neck-lateral", ["temple"], ["jaw"])),
    muscle("gamma", tp("gamma-1", "jaw", ["jaw"], ["temple"])),
    muscle("omega", tp("omega-1", "neck-posterior-upper", ["temple", "forehead", "occiput", "orbit", "cheek", "vertex"])),
    # Laterality: a right point refers across (contralateral) and to both sides (bilateral).
    muscle("delta", tp("delta-1", "lumbar", [("buttock-upper", "contralateral"), "sacrum"], [("thigh-posterior", "bilateral")])),
    # A point on the midline: its paired zones count on both sides.
    muscle("epsilon", tp("epsilon-1", "perineum", ["coccyx"], ["thigh-medial"])),
    # Identical patterns that differ only in evidence, for the tie-break.
    muscle("zeta", tp("zeta-1", "forearm-volar", ["palm"]), evidence="limited"),
    muscle("eta", tp("eta-1", "forearm-volar", ["palm"]), evidence="studied"),
    # Two points of one muscle.
    muscle("kappa", tp("kappa-upper", "calf", ["heel"], ["sole"]), tp("kappa-lower", "calf", ["achilles"])),
]


@pytest.fixture(scope="session")
def synthetic_atlas(tmp_path_factory: pytest.TempPathFactory) -> AtlasData:
    return write_atlas(tmp_path_factory.mktemp("atlas"), SYNTHETIC_MUSCLES)


@pytest.fixture(scope="session")
def engine(synthetic_atlas: AtlasData) -> Engine:
    return Engine(synthetic_atlas)


@pytest.fixture(scope="session")
def shipped_engine() -> Engine:
    from knotwork.engine import default_engine

    return default_engine()


def drawing(
    *marks: tuple[str, int] | tuple[str, int, str], symptoms: list[str] | None = None, context: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Contract data for a drawing from ``(cell, intensity[, quality])`` tuples."""
    out: dict[str, Any] = {"marks": [{"cell": m[0], "intensity": m[1], **({"quality": m[2]} if len(m) > 2 else {})} for m in marks]}
    if symptoms:
        out["symptoms"] = symptoms
    if context:
        out["context"] = context
    return out
