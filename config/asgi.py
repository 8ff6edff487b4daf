import os
import warnings

from django.core.asgi import get_asgi_application

# Static files (WhiteNoise) and downloads (PDFs, exports) are file iterators: Django's ASGI handler
# reads them in a worker thread and warns once per process that it does so. That is expected here.
warnings.filterwarnings("ignore", message="StreamingHttpResponse must consume synchronous iterators", category=Warning)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_application = get_asgi_application()

# Oversized bodies are refused before Django reads them (knotwork/lib/asgi.py).
from knotwork.lib.asgi import BodyLimit  # noqa: E402

application = BodyLimit(django_application)

# Parse the shipped reference data now, so no visitor's request pays for it.
from knotwork.lib.warmup import warm_reference_data  # noqa: E402

warm_reference_data()
