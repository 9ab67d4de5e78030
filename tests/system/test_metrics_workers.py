"""`/metrics` under `goofs serve --workers 2`: any worker answers with the whole deployment."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from devkit.ports import free_port
from tests.cluster import cluster_env, mixed_changes, streaming
from tests.support import cli_token, goofs_process, wait_for_http, wait_until

STREAMS = 8


async def _samples(api: httpx.AsyncClient) -> dict[str, float]:
    response = await api.get("/metrics")
    assert response.status_code == 200
    return {
        sample.name + str(sorted(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


@pytest.mark.postgres
@pytest.mark.redis
async def test_every_worker_scrapes_the_whole_deployment(
    postgres_url: str, redis_url: str, tmp_path: Path
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = cluster_env(postgres_url, redis_url)
    args = ["serve", "--workers", "2", "--port", str(port)]
    with goofs_process(args, env, tmp_path, log=tmp_path / "workers.log") as process:
        wait_for_http(f"{url}/readyz", process, timeout=90)
        operator = {"Authorization": f"Bearer {cli_token(env, tmp_path)}"}
        async with (
            httpx.AsyncClient(base_url=url, headers=operator, timeout=30) as api,
            # Connections land on whichever worker accepts them, so both hold some.
            streaming([url] * STREAMS) as clients,
        ):
            await mixed_changes([api], 20)
            await wait_until(
                lambda: all(len(client.events) >= 100 for client in clients),
                timeout=60,
                message="100 events on every stream",
            )
            scrapes: list[dict[str, float]] = []

            async def settled() -> bool:
                # Fresh connections each time, so the scrapes are spread over the workers.
                async with httpx.AsyncClient(base_url=url, headers=operator, timeout=30) as fresh:
                    scrape = await _samples(fresh)
                scrapes.append(scrape)
                return (
                    scrape.get("goofs_stream_clients[('format', 'json')]") == STREAMS
                    and scrape.get("goofs_events_total[('type', 'spacecraft.created')]") == 20
                )

            await wait_until(settled, timeout=60, message="the deployment's figures")
            for _ in range(6):
                assert await settled(), scrapes[-1]
            last = scrapes[-1]

    # Each worker's hub fans every event out once: two workers, 100 events.
    assert last["goofs_delivery_lag_seconds_count[]"] == 200
