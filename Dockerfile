# The cascadeflow gateway: `cascadeflow serve` on uvicorn (uvloop + httptools), as a non-root user.
#   docker build -t cascadeflow-gateway .
#   docker run -p 8000:8000 -v $PWD/deploy/gateway.yaml:/etc/cascadeflow/gateway.yaml:ro cascadeflow-gateway
# Two stages: wheels are built with pip's caches, the runtime image gets only the installed packages (~190 MB).
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip wheel --no-cache-dir --wheel-dir /wheels ".[cli,server,redis,postgres]"

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin gateway
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index --find-links=/wheels "cascadeflow[cli,server,redis,postgres]" \
    && rm -rf /wheels
USER 10001
WORKDIR /home/gateway
ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
EXPOSE 8000
# /health answers 503 while draining or while Redis/Postgres are unreachable.
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=2).status != 200)"]
# SIGTERM drains: /health turns 503, requests are served for server.drain_grace_s, then in-flight ones finish.
STOPSIGNAL SIGTERM
ENTRYPOINT ["cascadeflow", "serve"]
CMD ["--config", "/etc/cascadeflow/gateway.yaml", "--host", "0.0.0.0", "--port", "8000"]
