# One image for every Pacer service: `pacer serve <ingest|aggregator|alerting|exporter>`.
#   docker build -t pacer:local --build-arg PACER_REVISION=$(git rev-parse --short=12 HEAD) .
#   docker run --rm -e PACER_REDIS_URL=redis://redis:6379/0 pacer:local serve exporter
# docker-compose.yml and deploy/k8s run it; see deploy/README.md.

# --- build: a virtualenv holding Pacer and its locked dependencies ---------------------------
FROM python:3.11.13-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/pacer
WORKDIR /src

# Dependencies first, from the lock alone (every version and file hash fixed; `make lock` writes
# it from pyproject.toml): a code change does not reinstall them, two builds install the same.
COPY requirements.lock ./
RUN /opt/pacer/bin/pip install --require-hashes --no-deps -r requirements.lock

# The commit the image is built from, shown as pacer_build_info{revision} and by `pacer --version`.
ARG PACER_REVISION=unknown
COPY pyproject.toml ./
COPY shared ./shared
COPY services ./services
RUN echo "$PACER_REVISION" > shared/REVISION \
 && /opt/pacer/bin/pip install --no-deps . \
 && /opt/pacer/bin/pacer --version

# --- runtime ------------------------------------------------------------------------------
# The same base as the build stage: the virtualenv points at its /usr/local/bin/python3.11.
FROM python:3.11.13-slim-bookworm
RUN groupadd --system --gid 10001 pacer \
 && useradd --system --uid 10001 --gid pacer --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin pacer
COPY --from=build /opt/pacer /opt/pacer

# PACER_BIND: services listen on 127.0.0.1 by default, which no other container can reach.
# No .pyc writes: the root filesystem is read-only on Kubernetes.
ENV PATH=/opt/pacer/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PACER_BIND=0.0.0.0

USER 10001:10001
# ingest, aggregator, alerting, portal, exporter
# (PACER_API_PORT, _AGGREGATOR_, _ALERTING_, _PORTAL_, _EXPORTER_PORT)
EXPOSE 8000 8001 8002 8003 9108
ENTRYPOINT ["pacer"]
CMD ["serve", "ingest"]
