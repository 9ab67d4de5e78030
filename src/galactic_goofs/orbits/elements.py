"""Element sets as operators get them (TLE lines, CelesTrak OMM JSON), checked and parsed.

Every rule a person could break is checked here, with a message that says which: a TLE line's
checksum, a line 2 of another satellite, a field that is not a number, an epoch far in the
future. What passes becomes an `Elements`: the text as given and what sgp4 reads from it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from math import pi
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sgp4.api import WGS72, Satrec, jday

from galactic_goofs.errors import Unprocessable
from galactic_goofs.fleet.schemas import MAX_NORAD_ID
from galactic_goofs.orbits.models import Source

TLE_LINE_LENGTH = 69
MAX_FUTURE_EPOCH = timedelta(days=30)
"""Predicted elements may be dated a few days ahead; a later epoch is a typo (or a wrong year)."""
STALE_AFTER = timedelta(days=14)
"""Past this, an element set's prediction is off by kilometres to hundreds (drag, manoeuvres)."""

# Columns of the numeric fields (0-based, end exclusive), from the format's definition.
_LINE1_FIELDS = {
    "epoch": (18, 32, r"\d{5}\.\d+|\s*\d{1,5}\.\d+"),
    "first derivative of mean motion": (33, 43, r"\s*[-+ ]?\.?\d+\.?\d*"),
    "second derivative of mean motion": (44, 52, r"\s*[-+ ]?\d{5}[-+]\d"),
    "BSTAR drag term": (53, 61, r"\s*[-+ ]?\d{5}[-+]\d"),
}
_LINE2_FIELDS = {
    "inclination": (8, 16, r"\s*\d{1,3}\.\d*"),
    "right ascension of the ascending node": (17, 25, r"\s*\d{1,3}\.\d*"),
    "eccentricity": (26, 33, r"\d{7}"),
    "argument of perigee": (34, 42, r"\s*\d{1,3}\.\d*"),
    "mean anomaly": (43, 51, r"\s*\d{1,3}\.\d*"),
    "mean motion": (52, 63, r"\s*\d{1,2}\.\d+"),
}
_SATNUM = re.compile(r"[0-9A-HJ-NP-Z]\d{4}")


@dataclass(frozen=True, slots=True)
class Elements:
    """A checked element set: as given (`raw`), and what it says."""

    source: Source
    raw: str
    epoch: datetime
    norad_id: int
    name: str | None = None


def stale(epoch: datetime, now: datetime) -> bool:
    return now - epoch > STALE_AFTER


def satrec(source: str, raw: str) -> Satrec:
    """The sgp4 satellite of a stored element set (checked when it was stored)."""
    if source == Source.TLE:
        line1, line2 = raw.splitlines()
        return Satrec.twoline2rv(line1, line2, WGS72)
    return _omm_satrec(OmmElements.model_validate_json(raw))


def checksum(line: str) -> int:
    """The TLE checksum: the digits of the first 68 columns added up, each minus sign as 1."""
    return sum(int(ch) if ch.isdigit() else ch == "-" for ch in line[:68]) % 10


def parse_tle(text: str, *, now: datetime, loc: tuple[str, ...] = ("body",)) -> Elements:
    """Two TLE lines, optionally after a name line (the usual three-line form); an
    Unprocessable at `loc` says what is wrong."""
    try:
        return _parse_tle(text, now)
    except Unprocessable as error:
        raise Unprocessable(error.message, loc) from None


def _parse_tle(text: str, now: datetime) -> Elements:
    lines = [line.rstrip() for line in text.strip().splitlines() if line.strip()]
    name = None
    if len(lines) == 3:
        name = lines[0].removeprefix("0 ").strip() or None
        lines = lines[1:]
    if len(lines) != 2:
        raise Unprocessable(f"a TLE is two lines (after an optional name line), not {len(lines)}")
    line1, line2 = lines
    for number, line in ((1, line1), (2, line2)):
        if not line.startswith(f"{number} "):
            raise Unprocessable(f"TLE line {number} must start with '{number} '")
        if len(line) != TLE_LINE_LENGTH:
            raise Unprocessable(
                f"TLE line {number} is {len(line)} characters long; it must be {TLE_LINE_LENGTH}"
            )
        if not line[68].isdigit() or checksum(line) != int(line[68]):
            raise Unprocessable(
                f"TLE line {number} fails its checksum: the last digit is {line[68]!r}, "
                f"the line adds up to {checksum(line)}"
            )
        fields = _LINE1_FIELDS if number == 1 else _LINE2_FIELDS
        for field, (start, end, pattern) in fields.items():
            if not re.fullmatch(pattern, line[start:end]):
                raise Unprocessable(
                    f"TLE line {number}: the {field} (columns {start + 1}-{end}) is not a number: "
                    f"{line[start:end]!r}"
                )
        if not _SATNUM.fullmatch(line[2:7].replace(" ", "0")):
            raise Unprocessable(f"TLE line {number}: the satellite number is not a number")
    if line1[2:7] != line2[2:7]:
        raise Unprocessable(
            f"TLE line 2 belongs to another satellite: line 1 is for {line1[2:7].strip()}, "
            f"line 2 for {line2[2:7].strip()}"
        )
    try:
        sat = Satrec.twoline2rv(line1, line2, WGS72)
    except ValueError as error:
        raise Unprocessable(f"the TLE could not be read: {error}") from error
    return _checked(
        Elements(Source.TLE, f"{line1}\n{line2}", _epoch(sat), sat.satnum, name), sat, now
    )


class OmmElements(BaseModel):
    """A CelesTrak OMM (CCSDS Orbit Mean-Elements Message) in its JSON form, field names as sent.

    Mean elements for SGP4: angles in degrees, mean motion in revolutions per day.
    """

    model_config = ConfigDict(extra="ignore")

    OBJECT_NAME: Annotated[str, StringConstraints(max_length=100)] | None = None
    OBJECT_ID: Annotated[str, StringConstraints(max_length=20)] | None = None
    EPOCH: datetime
    MEAN_MOTION: float = Field(ge=0.05, lt=20)
    ECCENTRICITY: float = Field(ge=0, lt=1)
    INCLINATION: float = Field(ge=0, le=180)
    RA_OF_ASC_NODE: float = Field(ge=0, le=360)
    ARG_OF_PERICENTER: float = Field(ge=0, le=360)
    MEAN_ANOMALY: float = Field(ge=0, le=360)
    EPHEMERIS_TYPE: int = 0
    CLASSIFICATION_TYPE: Annotated[str, StringConstraints(max_length=1)] = "U"
    NORAD_CAT_ID: int = Field(ge=1, le=MAX_NORAD_ID)
    ELEMENT_SET_NO: int = Field(default=999, ge=0)
    REV_AT_EPOCH: int = Field(default=0, ge=0)
    BSTAR: float = Field(ge=-1, le=1)
    MEAN_MOTION_DOT: float = Field(ge=-1, le=1)
    MEAN_MOTION_DDOT: float = Field(ge=-1, le=1)


def parse_omm(omm: OmmElements, *, now: datetime) -> Elements:
    if omm.EPOCH.tzinfo is None:
        omm = omm.model_copy(update={"EPOCH": omm.EPOCH.replace(tzinfo=UTC)})
    try:
        sat = _omm_satrec(omm)
    except (ValueError, ArithmeticError) as error:
        raise Unprocessable(f"SGP4 cannot use these elements: {error}") from error
    raw = json.dumps(omm.model_dump(mode="json", exclude_none=True), separators=(",", ":"))
    elements = Elements(
        Source.OMM, raw, omm.EPOCH.astimezone(UTC), omm.NORAD_CAT_ID, omm.OBJECT_NAME
    )
    return _checked(elements, sat, now)


_SGP4_EPOCH = datetime(1949, 12, 31, tzinfo=UTC)


def _omm_satrec(omm: OmmElements) -> Satrec:
    sat = Satrec()
    epoch = omm.EPOCH if omm.EPOCH.tzinfo else omm.EPOCH.replace(tzinfo=UTC)
    degrees = pi / 180
    sat.sgp4init(
        WGS72,
        "i",
        omm.NORAD_CAT_ID,
        (epoch - _SGP4_EPOCH).total_seconds() / 86400,
        omm.BSTAR,
        omm.MEAN_MOTION_DOT / (1440 * 1440 / (2 * pi)),
        omm.MEAN_MOTION_DDOT / (1440**3 / (2 * pi)),
        omm.ECCENTRICITY,
        omm.ARG_OF_PERICENTER * degrees,
        omm.INCLINATION * degrees,
        omm.MEAN_ANOMALY * degrees,
        omm.MEAN_MOTION * 2 * pi / 1440,
        omm.RA_OF_ASC_NODE * degrees,
    )
    return sat


def _epoch(sat: Satrec) -> datetime:
    days = (sat.jdsatepoch - 2440587.5) + sat.jdsatepochF
    # Eight decimals of a day resolve 0.864 ms: a finer part is the float's noise, not the TLE's.
    milliseconds = round(days * 86_400_000)
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=milliseconds)


def _checked(elements: Elements, sat: Satrec, now: datetime) -> Elements:
    if elements.epoch - now > MAX_FUTURE_EPOCH:
        raise Unprocessable(
            f"the epoch {elements.epoch:%Y-%m-%d %H:%M} UTC is more than "
            f"{MAX_FUTURE_EPOCH.days} days in the future; check its year"
        )
    error, _, _ = sat.sgp4(sat.jdsatepoch, sat.jdsatepochF)
    if error:
        raise Unprocessable(f"SGP4 cannot propagate these elements (error {error})")
    return elements


def julian(moment: datetime) -> tuple[float, float]:
    """A moment as sgp4's two-part Julian date."""
    moment = moment.astimezone(UTC)
    whole, fraction = jday(
        moment.year,
        moment.month,
        moment.day,
        moment.hour,
        moment.minute,
        moment.second + moment.microsecond / 1e6,
    )
    return float(whole), float(fraction)
