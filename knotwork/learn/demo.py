"""Demo records for the learn app: one published article written by the demo clinic's therapist.

Platform-wide articles are not seeded here: they are the shipped content, loaded by
``knotwork learn load`` (which ``knotwork run`` calls).
"""

from __future__ import annotations

import random
from datetime import timedelta

from django.utils import timezone

from knotwork.accounts.models import Clinic, Membership, Role
from knotwork.learn.models import Article
from knotwork.learn.services import article_save

DEMO_TITLE = "Rowing season: looking after your upper back"
DEMO_SUMMARY = "How we work with rowers at Harbour Street during the racing season, and three habits that keep the upper back happy."
DEMO_BODY = """Many of the rowers we see in season come in with the same story: a burning ache between the shoulder
blades after long sessions on the water, sometimes spreading up into the neck.

## What we usually find

The muscles that pull the shoulder blades together and hold the trunk upright work hard for hours at a time.
When we examine them we often find tender spots in the [[muscle:rhomboids]] and the [[muscle:middle-trapezius]],
and sometimes in the [[muscle:upper-trapezius]] when the shoulders creep up towards the ears late in a session.

## What a session looks like in season

We keep pressure moderate in the days before a race, and save deeper work for recovery weeks. Expect to be asked
about your training load: the plan changes with it.

## Three habits between sessions

1. Change position often on days off the water, especially at a desk.
2. Do the gentle mobility routine your coach or therapist gave you, and [[exercise:chin-tuck]] holds if you were shown them.
3. Tell us when a session leaves you sore for more than two days, so we can adjust.

If your back pain comes with fever, night pain that does not ease, or numbness, see a doctor before your next session.
"""


def seed_demo(*, clinic: Clinic, rng: random.Random) -> None:
    if Article.objects.filter(clinic=clinic, title=DEMO_TITLE).exists():
        return
    author = (
        Membership.objects.filter(clinic=clinic, role=Role.THERAPIST, is_active=True).select_related("user").order_by("id").first()
    )
    article = Article(
        clinic=clinic,
        title=DEMO_TITLE,
        summary=DEMO_SUMMARY,
        body=DEMO_BODY,
        status=Article.Status.PUBLISHED,
        author=author.user if author else None,
        last_reviewed=timezone.localdate() - timedelta(days=rng.randint(5, 40)),
        sources="Clinic experience; see the platform articles on trigger points and aftercare for sources.",
    )
    article_save(article=article, tags=["sports", "upper back", "rowing"], actor=article.author, role=Role.THERAPIST)
