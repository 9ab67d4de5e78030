"""A real HTTP receiver for webhooks, on loopback, that checks every signature it gets.

It verifies each request with the `standardwebhooks` package (so the sender is held to the
spec, not to our own reading of it) and records what arrived. What it answers is up to the
test: `respond(path, webhook_id, attempt)` returns a status, headers, and a delay in seconds.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

Answer = tuple[int, dict[str, str], float]
Respond = Callable[[str, str, int], Answer]


def ok(path: str, webhook_id: str, attempt: int) -> Answer:
    return 200, {}, 0.0


@dataclass
class Received:
    path: str
    webhook_id: str
    headers: dict[str, str]
    body: dict[str, Any]
    at: float
    verified_with: list[str]
    """The secrets (by index in `Receiver.secrets`) whose signature matched."""
    status: int = 0
    """What the receiver answered."""


@dataclass
class Receiver:
    url: str
    secrets: list[str] = field(default_factory=list)
    """Every request must verify against at least one of these (none: any request is bad)."""
    respond: Respond = ok
    received: list[Received] = field(default_factory=list)
    """Every request that verified, in arrival order (answered with whatever `respond` said)."""
    rejected: list[str] = field(default_factory=list)
    """Why each request that did not verify was refused (401)."""
    lock: threading.Lock = field(default_factory=threading.Lock)
    stopping: threading.Event = field(default_factory=threading.Event)

    def ids(self, path: str | None = None) -> list[str]:
        with self.lock:
            return [r.webhook_id for r in self.received if path is None or r.path == path]

    def on(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.path == path]

    def attempts(self, webhook_id: str) -> int:
        return self.ids().count(webhook_id)


@contextmanager
def receiver(respond: Respond = ok) -> Iterator[Receiver]:
    """A receiver on 127.0.0.1 in a thread, for the duration of the block."""
    state = Receiver(url="", respond=respond)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            data = self.rfile.read(length)
            if len(data) < length:
                return  # the sender died mid-request (a test kills it): nobody to answer
            headers = {key.lower(): value for key, value in self.headers.items()}
            matched = []
            for index, secret in enumerate(state.secrets):
                try:
                    Webhook(secret).verify(data, headers)
                    matched.append(str(index))
                except WebhookVerificationError:
                    continue
            if not matched:
                with state.lock:
                    state.rejected.append(f"{self.path}: signature did not verify")
                self._answer(401, {}, 0.0)
                return
            webhook_id = headers["webhook-id"]
            with state.lock:
                attempt = 1 + sum(1 for r in state.received if r.webhook_id == webhook_id)
                answer = state.respond(self.path, webhook_id, attempt)
                state.received.append(
                    Received(self.path, webhook_id, headers, json.loads(data), time.time(), matched)
                )
                state.received[-1].status = answer[0]
            self._answer(*answer)

        def _answer(self, status: int, headers: dict[str, str], delay: float) -> None:
            if delay and state.stopping.wait(delay):
                return
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    # Its loop looks for `shutdown` between requests every half second by default: each test
    # with a receiver would wait that long at its end.
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.stopping.set()
        server.shutdown()
        server.server_close()


def main() -> None:
    """A receiver in a process of its own, for system tests: its GIL is its own, so a busy
    test process never makes it slow to answer. It answers 500 while `--fail-while` exists,
    200 otherwise, and appends one JSON line per verified request to `--record`."""
    import argparse
    import os

    parser = argparse.ArgumentParser()
    parser.add_argument("--secret", required=True)
    parser.add_argument("--record", required=True)
    parser.add_argument("--fail-while", required=True)
    parser.add_argument("--ready", required=True)
    args = parser.parse_args()
    record = open(args.record, "a", buffering=1)  # noqa: SIM115  (open for the process's life)

    def respond(path: str, webhook_id: str, attempt: int) -> Answer:
        status = 500 if os.path.exists(args.fail_while) else 200
        return status, {}, 0.0

    with receiver(respond) as hook:
        hook.secrets.append(args.secret)
        seen = 0
        with open(args.ready, "w") as ready:
            ready.write(hook.url)
        while True:
            time.sleep(0.05)
            with hook.lock:
                fresh, seen = hook.received[seen:], len(hook.received)
                rejected = len(hook.rejected)
            for request in fresh:
                line = {
                    "webhook_id": request.webhook_id,
                    "seq": request.body["data"]["seq"],
                    "status": request.status,
                    "rejected": rejected,
                }
                record.write(json.dumps(line) + "\n")


if __name__ == "__main__":
    main()
