from __future__ import annotations

import random

from knotwork.care import demo as care_demo
from knotwork.lib.testing import make_client
from knotwork.outcomes import demo, scoring
from knotwork.outcomes.models import OutcomeResponse
from knotwork.outcomes.selectors import episode_progress


def seed(world, rng_seed=1):
    for first, last in care_demo.DEMO_EPISODES:
        make_client(world.clinic_a, first_name=first, last_name=last)
    care_demo.seed_demo(clinic=world.clinic_a, rng=random.Random(rng_seed))
    demo.seed_demo(clinic=world.clinic_a, rng=random.Random(rng_seed))


class DemoTests:
    def test_demo_episodes_cross_the_mcid_for_nprs_and_psfs_and_one_stays_flat(self, world, atlas_db):
        seed(world)
        crossed = {"nprs": 0, "psfs": 0}
        flat_flags = set()
        from knotwork.care.models import Episode

        for ep in Episode.objects.select_related("client", "clinic"):
            progress = episode_progress(ep)
            for s in progress.series:
                if s.measure.id in crossed and s.change and s.change.flag == scoring.IMPORTANT_IMPROVEMENT:
                    crossed[s.measure.id] += 1
                if ep.client.first_name == "Eleanor" and s.change:
                    flat_flags.add(s.change.flag)
        assert crossed["nprs"] >= 1 and crossed["psfs"] >= 1
        assert scoring.IMPORTANT_IMPROVEMENT not in flat_flags

    def test_it_is_idempotent(self, world, atlas_db):
        seed(world)
        n = OutcomeResponse.objects.count()
        assert n > 0
        demo.seed_demo(clinic=world.clinic_a, rng=random.Random(9))
        assert OutcomeResponse.objects.count() == n

    def test_the_demo_report_pdf_renders(self, world, atlas_db):
        from knotwork.care.models import Episode
        from knotwork.care.selectors import latest_plan
        from knotwork.outcomes.report import progress_pdf

        seed(world)
        ep = Episode.objects.select_related("client", "clinic").filter(client__first_name="Sophie").first()
        data = progress_pdf(episode_progress(ep), plan=latest_plan(ep), author_name="Alice")
        assert data.startswith(b"%PDF") and len(data) > 3000
