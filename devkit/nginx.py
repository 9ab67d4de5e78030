"""A real nginx on a loopback port in front of app instances, with the deployment's own proxy
settings (`deploy/goofs-proxy.conf`): what the scale-out tests and the deployment bench put
their clients through."""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path

from devkit.ports import free_port
from devkit.processes import stop, wait_for_http

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next(
        (path for path in ("/usr/sbin/nginx",) if Path(path).exists()), None
    )


@contextlib.contextmanager
def nginx(
    binary: str,
    upstreams: Sequence[str],
    workdir: Path,
    *,
    connections: int = 1024,
    cores: set[int] | None = None,
) -> Iterator[str]:
    """nginx (one process) on a loopback port balancing `upstreams` (host:port); yields its base
    url. Every proxied stream holds two of its `connections` (client side and upstream side)."""
    prefix = workdir / "nginx"
    prefix.mkdir()
    port = free_port()
    servers = "\n".join(f"        server {upstream};" for upstream in upstreams)
    config = prefix / "nginx.conf"
    config.write_text(
        f"""
daemon off;
master_process off;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections {connections}; }}
http {{
    access_log {prefix}/access.log;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    upstream goofs {{
{servers}
        keepalive 16;
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://goofs;
            include {DEPLOY / "goofs-proxy.conf"};
            add_header X-Upstream $upstream_addr always;
        }}
    }}
}}
"""
    )

    def prepare() -> None:
        # Without a master process nginx does not apply `worker_rlimit_nofile`: raise it here.
        _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        if cores:
            os.sched_setaffinity(0, cores)

    log = prefix / "output.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [binary, "-p", str(prefix), "-c", str(config), "-e", str(prefix / "error.log")],
            stdout=output,
            stderr=subprocess.STDOUT,
            preexec_fn=prepare,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{url}/healthz", process, log=log)
        yield url
    finally:
        stop(process)
