# One image for every instance; configuration comes from the environment (see README).
# It installs the wheel `make dist` built (and its tests installed and served): run that first.
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
# The app itself is the wheel, not src/: only the wheel carries the console's npm files.
COPY dist/galactic_goofs-*-py3-none-any.whl /tmp/dist/
RUN uv pip install --python /app/.venv/bin/python --no-deps /tmp/dist/galactic_goofs-*.whl \
    && uv pip check --python /app/.venv/bin/python


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
