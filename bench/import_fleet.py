"""`python -m bench.import_fleet`: `goofs import` of a generated 10,000-row SATCAT file into a
fresh SQLite database, timed end to end as an operator runs it (target: under 30 s).

Not part of `python -m bench`: it measures the command line, not the server.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HEADER = "OBJECT_NAME,OBJECT_ID,NORAD_CAT_ID,OBJECT_TYPE,OPS_STATUS_CODE,OWNER,LAUNCH_DATE"
TARGET_SECONDS = 30.0


def satcat(rows: int) -> str:
    """`rows` distinct objects: 26 pieces for each launch, launches spread over the years."""
    lines = [HEADER]
    for index in range(rows):
        launch, piece = divmod(index, 24)
        year, number = 1960 + launch // 999, launch % 999 + 1
        letter = "ABCDEFGHJKLMNPQRSTUVWXYZ"[piece]
        lines.append(
            f"OBJECT {index},{year}-{number:03d}{letter},{index + 1},PAY,+,US,{year}-01-01"
        )
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="goofs-import-bench-") as folder:
        path = Path(folder) / "satcat.csv"
        path.write_text(satcat(args.rows))
        env = {**os.environ, "GOOFS_DATABASE_URL": f"sqlite:///{folder}/goofs.db"}
        command = [sys.executable, "-m", "galactic_goofs.cli"]
        subprocess.run([*command, "migrate"], env=env, check=True, capture_output=True)
        started = time.perf_counter()
        done = subprocess.run(
            [*command, "import", str(path)], env=env, capture_output=True, text=True
        )
        elapsed = time.perf_counter() - started
    print(done.stdout.strip())
    if done.returncode != 0:
        print(done.stderr[-2000:], file=sys.stderr)
        return 1
    verdict = "met" if elapsed < TARGET_SECONDS else "MISSED"
    print(
        f"import of {args.rows:,} rows: {elapsed:.1f} s "
        f"(target < {TARGET_SECONDS:.0f} s: {verdict})"
    )
    return 0 if elapsed < TARGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
