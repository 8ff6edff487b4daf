import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

# Parse the shipped reference data now, so no visitor's request pays for it.
from knotwork.lib.warmup import warm_reference_data  # noqa: E402

warm_reference_data()
