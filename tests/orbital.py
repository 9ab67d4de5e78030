"""Element sets for tests: an ISS-like TLE, made with valid checksums, at a chosen epoch."""

from __future__ import annotations

from datetime import UTC, datetime

from galactic_goofs.orbits.elements import checksum


def with_checksum(line: str) -> str:
    """A 68-column TLE line with its checksum digit appended."""
    assert len(line) == 68, len(line)
    return line + str(checksum(line))


def epoch_field(moment: datetime) -> str:
    start = datetime(moment.year, 1, 1, tzinfo=UTC)
    day = (moment - start).total_seconds() / 86400 + 1
    return f"{moment.year % 100:02d}{day:012.8f}"


def iss_tle(epoch: datetime, norad: str = "25544", line2_norad: str | None = None) -> str:
    """Two lines for a space station in a 51.6-degree orbit at about 420 km."""
    line1 = with_checksum(
        f"1 {norad}U 98067A   {epoch_field(epoch)}  .00016717  00000-0  30164-3 0  999"
    )
    line2 = with_checksum(
        f"2 {line2_norad or norad}  51.6416 247.4627 0006703 130.5360 325.0288 15.4988914443123"
    )
    return f"{line1}\n{line2}"


ISS_EPOCH = datetime(2024, 1, 1, 12, tzinfo=UTC)
ISS = iss_tle(ISS_EPOCH)
