"""Ground stations: where a spacecraft can be talked to (and so fixed) from.

`GOOFS_GROUND_STATIONS` lists them as `Name:latitude:longitude[:min_elevation]`, comma-separated,
degrees north and east; the minimum elevation (default 5) is where a station's antenna can hold
the spacecraft above the horizon's clutter.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_MIN_ELEVATION = 5.0
DEFAULT_STATIONS = ",".join(
    (
        "Svalbard:78.2298:15.4078",
        "Fairbanks:64.8594:-147.8493",
        "Kiruna:67.8572:20.9644",
        "Wallops:37.9402:-75.4664",
        "Kourou:5.2515:-52.8047",
        "Santiago:-33.1500:-70.6667",
        "Hartebeesthoek:-25.8870:27.7075",
        "Canberra:-35.4014:148.9817",
    )
)


@dataclass(frozen=True, slots=True)
class GroundStation:
    name: str
    latitude: float
    longitude: float
    min_elevation: float = DEFAULT_MIN_ELEVATION


def parse_stations(text: str) -> tuple[GroundStation, ...]:
    """The stations a setting lists; a ValueError says which entry is wrong and why."""
    stations = []
    for entry in (part.strip() for part in text.split(",")):
        if not entry:
            continue
        parts = [part.strip() for part in entry.split(":")]
        if len(parts) not in (3, 4) or not parts[0]:
            raise ValueError(
                f"ground station {entry!r} must be Name:latitude:longitude[:min_elevation]"
            )
        try:
            numbers = [float(part) for part in parts[1:]]
        except ValueError:
            raise ValueError(
                f"ground station {entry!r}: latitude, longitude and elevation are numbers "
                "of degrees"
            ) from None
        latitude, longitude = numbers[:2]
        elevation = numbers[2] if len(numbers) == 3 else DEFAULT_MIN_ELEVATION
        if not -90 <= latitude <= 90:
            raise ValueError(f"ground station {parts[0]!r}: latitude must be within -90..90")
        if not -180 <= longitude <= 180:
            raise ValueError(f"ground station {parts[0]!r}: longitude must be within -180..180")
        if not 0 <= elevation < 90:
            raise ValueError(f"ground station {parts[0]!r}: min elevation must be within 0..90")
        stations.append(GroundStation(parts[0], latitude, longitude, elevation))
    if not stations:
        raise ValueError("list at least one ground station (Name:latitude:longitude)")
    names = [station.name for station in stations]
    if len(set(names)) != len(names):
        raise ValueError("ground station names must be different")
    return tuple(stations)
