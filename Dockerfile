# Knotwork's reference image (docs/operations.md, "Containers").
#
#   docker build -t knotwork .
#   docker run --read-only --tmpfs /tmp -v knotwork-var:/var/lib/knotwork --env-file .env knotwork             # an app server
#   docker run --read-only --tmpfs /tmp -v knotwork-var:/var/lib/knotwork --env-file .env knotwork knotwork worker  # a task worker
#
# The root filesystem may be read-only: everything Knotwork writes goes to KNOTWORK_VAR_DIR (a
# volume: collected static files, uploads, the audit checkpoint file) and /tmp (a tmpfs: large
# request bodies). compose.yaml runs two app servers, a worker, PostgreSQL, Redis and Caddy.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- build: dependencies, the compiled engine and the translations ---------------------------
FROM ${PYTHON_IMAGE} AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PATH=/opt/venv/bin:$PATH

# A C compiler and the Python headers (already in the image) for mypyc, as `make engine` needs.
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential \
 && rm -rf /var/lib/apt/lists/*

RUN python -m venv /opt/venv
WORKDIR /app

# The dependencies as pyproject.toml lists them, in a layer of their own: it is rebuilt only
# when pyproject.toml changes, not on every change to the code.
COPY pyproject.toml README.md ./
RUN python -c "import tomllib; deps = tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']; open('/tmp/requirements.txt', 'w').write('\n'.join(deps))" \
 && pip install -r /tmp/requirements.txt \
 && pip install "mypy>=1.13,<3" "setuptools>=65"

COPY . .
# Editable, as `make` installs it: the settings find templates/, static/ and locale/ beside config/.
# Then the engine's hot modules compiled to C (`make engine`), refusing an image that fell back to
# the Python source; the translation catalogues compiled to .mo (the Makefile's %.mo rule); mypy
# removed (the extensions it built need nothing of it); and byte-code written now, because the
# running container's root filesystem may be read-only.
RUN pip install --no-deps -e . \
 && python tools/build_engine.py \
 && python -c "from knotwork.engine.native import status; s = status(honour_env=False); assert s == 'compiled', s" \
 && python tools/compile_messages.py \
 && pip uninstall -y mypy \
 && python -m compileall -q /app/knotwork /app/config /opt/venv/lib

# --- runtime ----------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE}

RUN groupadd --system --gid 10001 knotwork \
 && useradd --system --uid 10001 --gid knotwork --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin knotwork \
 && mkdir -p /var/lib/knotwork \
 && chown knotwork:knotwork /var/lib/knotwork

COPY --from=build /opt/venv /opt/venv
COPY --from=build /app /app

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    DJANGO_SETTINGS_MODULE=config.settings \
    KNOTWORK_VAR_DIR=/var/lib/knotwork \
    KNOTWORK_REQUIRE_SECRET_KEY=true

WORKDIR /app
USER knotwork:knotwork
VOLUME ["/var/lib/knotwork"]
EXPOSE 8000

# /healthz answers before host checks and the HTTPS redirect (docs/operations.md, Health). The
# image has no curl: Python asks. A task worker serves no HTTP; compose.yaml gives it its own check.
HEALTHCHECK --interval=15s --timeout=5s --start-period=180s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status != 200)"]

# An app server: prepares the database under an advisory lock (so several may start at once),
# then serves with granian. The task worker is `knotwork worker` (compose.yaml).
CMD ["knotwork", "run", "--no-worker", "--host", "0.0.0.0", "--port", "8000"]
