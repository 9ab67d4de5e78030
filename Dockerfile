# One image for every instance; configuration comes from the environment (see README).
FROM python:3.11-slim-bookworm AS build

ENV UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy
RUN pip install --no-cache-dir uv==0.13.9
WORKDIR /app
# Dependencies first: this layer is reused until the lockfile changes.
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --locked --no-dev --no-install-project
COPY src ./src
RUN uv sync --locked --no-dev --no-editable


FROM python:3.11-slim-bookworm

RUN useradd --system --uid 10001 --home-dir /app goofs
COPY --from=build --chown=goofs /app/.venv /app/.venv
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1
WORKDIR /app
USER goofs
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=2)"]
# The container is the unit of scale: one process per container, listening on every interface
# of its own network namespace so the load balancer can reach it.
CMD ["goofs", "serve", "--host", "0.0.0.0", "--port", "8000"]
