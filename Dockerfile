# reportbot: build the wheel, install it into a slim runtime, run as a non-root user.
#   docker build -t reportbot .
#   docker run -v reportbot-state:/app/state -v ./config:/app/config:ro reportbot
FROM python:3.11-slim AS build
WORKDIR /src
RUN pip install --no-cache-dir build
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY templates ./templates
RUN python -m build --wheel --outdir /dist

FROM python:3.11-slim AS runtime
# tzdata: digests are scheduled in each subscription's time zone; CA certificates: HTTPS
# feeds, webhooks and SMTP over TLS
RUN apt-get update \
    && apt-get install -y --no-install-recommends tzdata ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 reportbot
COPY --from=build /dist/*.whl /tmp/
RUN pip install --no-cache-dir /tmp/*.whl && rm /tmp/*.whl
WORKDIR /app
RUN mkdir -p /app/state /app/config && chown reportbot:reportbot /app/state
USER reportbot
ENV PYTHONUNBUFFERED=1 \
    REPORTBOT_CONFIG=/app/config/reportbot.toml
# the archive (SQLite by default) lives here; mount the config read-only at /app/config
VOLUME ["/app/state"]
HEALTHCHECK --interval=60s --timeout=15s --start-period=120s --retries=3 \
    CMD ["reportbot", "health"]
ENTRYPOINT ["reportbot"]
CMD ["run"]
