"""Who this process is, for leases: host, process and a random part (pids are reused)."""

from __future__ import annotations

import os
import socket
import uuid


def instance_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
