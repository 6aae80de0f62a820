# syntax=docker/dockerfile:1
# Pulse: one image for every service. The command picks the service:
#   docker run campaign-pulse:local core|worker|entry|dashboard|migrate
# See docs/deploy.md and compose.yaml.

ARG PYTHON_IMAGE=python:3.11-slim

# ---------------------------------------------------------------- assets: snippet and dashboard UI
# Built here, so the image serves /snippet.js and the dashboard's page with no Node.js on the
# operator's side. Only what `npm run build` reads is copied (see tests/unit/test_dockerfile.py).
FROM node:20-slim AS assets
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY snippet/build.mjs snippet/loader.js ./snippet/
COPY snippet/src ./snippet/src
COPY dashboard_service/web/build.mjs dashboard_service/web/index.html ./dashboard_service/web/
COPY dashboard_service/web/src ./dashboard_service/web/src
RUN npm run build

# ---------------------------------------------------------------- build: a self-contained venv
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/pulse
ENV PATH=/opt/pulse/bin:$PATH
WORKDIR /src
# Only what `pip install .` needs; everything else stays out of the image.
COPY pyproject.toml README.md ./
COPY pulse ./pulse
COPY servicekit ./servicekit
COPY common_messaging ./common_messaging
COPY core_service ./core_service
COPY entry_service ./entry_service
COPY dashboard_service ./dashboard_service
COPY migrations ./migrations
RUN pip install --upgrade pip \
 && pip install . \
 && pulse --help >/dev/null

# ---------------------------------------------------------------- runtime
FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="campaign-pulse" \
      org.opencontainers.image.description="Campaign-entry and CDP analytics backend (core, entry, dashboard)" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV PATH=/opt/pulse/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PULSE_DATA_DIR=/var/lib/pulse \
    PULSE_SNIPPET_DIR=/opt/pulse-assets/snippet \
    PULSE_DASHBOARD_WEB_DIR=/opt/pulse-assets/dashboard
RUN groupadd --system --gid 10001 pulse \
 && useradd --system --uid 10001 --gid pulse --home-dir /var/lib/pulse --shell /usr/sbin/nologin pulse \
 && mkdir -p /var/lib/pulse \
 && chown pulse:pulse /var/lib/pulse
COPY --from=build /opt/pulse /opt/pulse
COPY --from=assets /src/snippet/dist /opt/pulse-assets/snippet
COPY --from=assets /src/dashboard_service/web/dist /opt/pulse-assets/dashboard
WORKDIR /var/lib/pulse
USER pulse:pulse
EXPOSE 8080 8081 8082 8083
# No HEALTHCHECK here: the port depends on the service, so compose.yaml defines one per
# service (GET /readyz through python's urllib; the slim image has no curl).
ENTRYPOINT ["pulse"]
CMD ["--help"]
