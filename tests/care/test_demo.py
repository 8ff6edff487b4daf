from __future__ import annotations

import random

from knotwork.atlas.loader import atlas
from knotwork.care import demo, services
from knotwork.care.models import AdherenceLog, Episode, TechniqueApplication, Visit
from knotwork.clients.models import ScreeningFlag
from knotwork.lib.testing import make_client
from tests.care.conftest import flag


class DemoTests:
    def _clients(self, world):
        return [make_client(world.clinic_a, first_name=f, last_name=last) for f, last in demo.DEMO_EPISODES]

    def test_every_demo_trigger_point_and_exercise_exists(self):
        ids = {tp.id for _m, tp in atlas().trigger_points()}
        for _c, _g, points, technique, exercises in demo.DEMO_EPISODES.values():
            assert {p for p, _ in points} <= ids
            assert set(exercises) <= set(services.library().by_id) and technique in services.techniques()

    def test_it_seeds_signed_visits_that_calm_down_and_respects_flags_and_is_idempotent(self, world, atlas_db):
        clients = self._clients(world)
        eleanor = next(c for c in clients if c.first_name == "Eleanor")
        warfarin = flag(eleanor, rule_id="anticoagulants", flag_class="precaution", forbids=["ischemic-compression", "sustained-pressure"],
                        cautions=["deep-pressure"])  # fmt: skip
        demo.seed_demo(clinic=world.clinic_a, rng=random.Random(1))
        assert Episode.objects.count() == len(clients)
        for c in clients:
            visits = list(Visit.objects.filter(client=c).order_by("started_at"))
            assert 3 <= len(visits) <= 6 and all(v.signed_at for v in visits)
            assert visits[0].findings.filter(status="active").exists() and visits[-1].findings.filter(status="latent").exists()
        forbidden = {t.id for t in services.techniques().values() if set(t.involves) & set(warfarin.forbids)}
        assert not TechniqueApplication.objects.filter(visit__client=eleanor, technique__in=forbidden).exists()
        assert TechniqueApplication.objects.filter(visit__client=eleanor).exists()
        assert AdherenceLog.objects.exists()
        counts = (Visit.objects.count(), TechniqueApplication.objects.count())
        demo.seed_demo(clinic=world.clinic_a, rng=random.Random(2))
        assert (Visit.objects.count(), TechniqueApplication.objects.count()) == counts
        assert ScreeningFlag.objects.count() == 1
