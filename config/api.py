"""The JSON API: one NinjaAPI; each app contributes a router from its own api.py."""

from knotwork.accounts.api import router as accounts_router
from knotwork.assessment.api import router as assessment_router
from knotwork.atlas.api import router as atlas_router
from knotwork.atlas.explain_api import router as engine_router
from knotwork.billing.api import router as billing_router
from knotwork.bookings.api import router as bookings_router
from knotwork.care.api import router as care_router
from knotwork.clients.api import router as clients_router
from knotwork.clients.intake.api import router as intake_router
from knotwork.directory.api import router as directory_router
from knotwork.interop.api import router as interop_router
from knotwork.learn.api import router as learn_router
from knotwork.lib.api import build_api
from knotwork.messaging.api import router as messaging_router
from knotwork.outcomes.api import router as outcomes_router

api = build_api()
api.add_router("/", accounts_router)
api.add_router("/", clients_router)
api.add_router("/", intake_router)
api.add_router("/", atlas_router)
api.add_router("/", engine_router)
api.add_router("/", assessment_router)
api.add_router("/", bookings_router)
api.add_router("/", billing_router)
api.add_router("/", messaging_router)
api.add_router("/", learn_router)
api.add_router("/", care_router)
api.add_router("/", directory_router)
api.add_router("/", outcomes_router)
api.add_router("/", interop_router)
