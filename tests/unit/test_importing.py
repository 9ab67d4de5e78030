"""`goofs import`, `goofs import-tle` and `goofs demo` below the command line: what they write,
what they refuse and say, and that a second run changes nothing."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from sqlalchemy import func, select

from galactic_goofs import loading
from galactic_goofs.anomalies.models import Anomaly, AnomalyState
from galactic_goofs.db import Database, utcnow
from galactic_goofs.events.models import Event
from galactic_goofs.fleet import importing
from galactic_goofs.fleet.importing import Format
from galactic_goofs.fleet.models import Spacecraft, Status
from galactic_goofs.orbits import demo
from galactic_goofs.orbits.models import ElementSet
from galactic_goofs.settings import Settings
from tests.orbital import iss_tle
from tests.support import test_settings

SATCAT_HEADER = (
    "OBJECT_NAME,OBJECT_ID,NORAD_CAT_ID,OBJECT_TYPE,OPS_STATUS_CODE,OWNER,LAUNCH_DATE,"
    "LAUNCH_SITE,DECAY_DATE,PERIOD,INCLINATION,APOGEE,PERIGEE,RCS,DATA_STATUS_CODE,"
    "ORBIT_CENTER,ORBIT_TYPE"
)
SATCAT = "\n".join(
    (
        SATCAT_HEADER,
        "ISS (ZARYA),1998-067A,25544,PAY,+,ISS,1998-11-20,TYMSC,,92.9,51.64,422,415,,,EA,ORB",
        "HST,1990-037B,20580,PAY,+,US,1990-04-24,AFETR,,94.8,28.47,538,533,,,EA,ORB",
        "NOAA 20 (JPSS-1),2017-073A,43013,PAY,+,US,2017-11-18,AFWTR,,101.4,98.7,829,826,,,EA,ORB",
    )
)


@pytest.fixture
def settings(database_url: str) -> Settings:
    """On both databases: the import's batches lean on both dialects' IN and RETURNING."""
    return test_settings(database_url)


async def run_import(settings: Settings, text: str, **options: object) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    kwargs: dict[str, object] = {"format": None, "dry_run": False, "strict": False}
    kwargs.update(options)
    code = await loading.import_fleet(
        settings,
        Path("fleet.csv"),
        text,
        out=out,
        err=err,
        **kwargs,  # type: ignore[arg-type]
    )
    return code, out.getvalue(), err.getvalue()


async def counts(settings: Settings) -> tuple[int, int]:
    db = Database(settings.database_url)
    try:
        async with db.reading() as session:
            craft = await session.scalar(select(func.count()).select_from(Spacecraft))
            events = await session.scalar(select(func.count()).select_from(Event))
            return craft or 0, events or 0
    finally:
        await db.dispose()


async def test_a_satcat_file_imports_each_row_as_an_event_and_a_rerun_adds_none(
    settings: Settings,
) -> None:
    code, out, _ = await run_import(settings, SATCAT)

    assert code == 0
    assert "(satcat): 3 new, 0 updated, 0 unchanged, 0 rejected; 3 events" in out
    assert await counts(settings) == (3, 3)
    code, out, _ = await run_import(settings, SATCAT)
    assert code == 0
    assert "0 new, 0 updated, 3 unchanged" in out
    assert await counts(settings) == (3, 3)


async def test_our_csv_updates_by_cospar_id_and_reports_rejected_rows_by_line(
    settings: Settings,
) -> None:
    await run_import(settings, "name,cospar_id\nHubble,1990-037B\n")
    text = "\n".join(
        (
            "name,cospar_id,norad_id,status",
            "Hubble Space Telescope,1990-037B,20580,",
            "Genesis,2001-034A,,MALFUNCTIONING",
            "Bad designator,1990-37B,,",
            "Twin,2001-034A,,",
            "Unknown status,2001-035A,,ON_FIRE",
        )
    )

    code, out, err = await run_import(settings, text)

    assert code == 2
    assert "1 new, 1 updated, 0 unchanged, 3 rejected" in out
    assert "line 4: cospar_id: COSPAR ID must look like 1998-067A" in err
    assert "line 5: COSPAR ID 2001-034A is already on line 3" in err
    assert "line 6: status:" in err
    assert await counts(settings) == (2, 3)
    # Imported broken, it is as broken as one the simulator broke: its anomaly is open.
    db = Database(settings.database_url)
    try:
        async with db.reading() as session:
            genesis = await session.scalar(
                select(Spacecraft).where(Spacecraft.cospar_id == "2001-034A")
            )
            assert genesis is not None and genesis.status == Status.MALFUNCTIONING
            anomaly = await session.scalar(
                select(Anomaly).where(Anomaly.spacecraft_id == genesis.id)
            )
            created = await session.scalar(select(Event).where(Event.spacecraft_id == genesis.id))
    finally:
        await db.dispose()
    assert anomaly is not None and anomaly.state == AnomalyState.OPEN
    assert genesis.anomaly_id == anomaly.id
    assert created is not None and created.data["anomaly_id"] == str(anomaly.id)


async def test_strict_imports_nothing_unless_every_row_is_valid(settings: Settings) -> None:
    code, out, err = await run_import(settings, "Ok,2001-001A\nNot ok,2001-0A\n", strict=True)

    assert code == 2
    assert "imported nothing" in out
    assert "line 2:" in err
    assert await counts(settings) == (0, 0)


async def test_a_dry_run_counts_and_writes_nothing(settings: Settings) -> None:
    code, out, _ = await run_import(settings, SATCAT, dry_run=True)

    assert code == 0
    assert "would import fleet.csv (satcat): 3 new" in out
    assert await counts(settings) == (0, 0)


async def test_a_satcat_file_without_a_column_is_one_clear_error(settings: Settings) -> None:
    text = SATCAT.replace("OBJECT_ID,", "", 1)

    code, _, err = await run_import(settings, text, format=Format.SATCAT)

    assert code == 2
    assert "not a SATCAT CSV: the header has no OBJECT_ID column" in err
    assert err.count("\n") == 1


async def test_a_norad_id_held_by_another_spacecraft_is_rejected(settings: Settings) -> None:
    await run_import(settings, "name,cospar_id,norad_id\nISS,1998-067A,25544\n")

    code, _, err = await run_import(settings, "name,cospar_id,norad_id\nImpostor,2001-001A,25544\n")

    assert code == 2
    assert "line 2: NORAD ID 25544 is registered to ISS (1998-067A)" in err


def test_the_format_is_told_by_the_header() -> None:
    format, rows, rejected = importing.read_rows(SATCAT)
    assert format is Format.SATCAT
    assert [row.norad_id for _, row in rows] == [25544, 20580, 43013]
    format, rows, rejected = importing.read_rows("Sputnik 1,1957-001B\n")
    assert format is Format.CSV
    assert rows[0][0] == 1
    assert rejected == []


async def test_tle_sets_match_by_norad_id_then_by_name(settings: Settings) -> None:
    await run_import(settings, "name,cospar_id,norad_id\nISS,1998-067A,25544\nHubble,1990-037B,\n")
    now = utcnow()
    hubble = iss_tle(now, norad="20580")
    stray = iss_tle(now, norad="99999")
    text = f"ISS (ZARYA)\n{iss_tle(now)}\nHUBBLE\n{hubble}\nSTRAY\n{stray}\nBROKEN\n1 junk\n"
    out, err = io.StringIO(), io.StringIO()

    code = await loading.import_tle(settings, Path("sets.tle"), text, out=out, err=err)

    assert code == 2
    assert "2 set, 1 unmatched, 2 rejected" in out.getvalue()  # both lines of the broken set
    assert "no spacecraft with NORAD ID 99999 or named 'STRAY'" in err.getvalue()
    db = Database(settings.database_url)
    try:
        async with db.reading() as session:
            numbers = set(await session.scalars(select(ElementSet.norad_id)))
            hubble_norad = await session.scalar(
                select(Spacecraft.norad_id).where(Spacecraft.name == "Hubble")
            )
    finally:
        await db.dispose()
    assert numbers == {25544, 20580}
    assert hubble_norad == 20580


async def test_the_demo_fleet_arrives_once_with_orbits_for_those_in_earth_orbit(
    settings: Settings,
) -> None:
    await loading.load_demo(settings, out=io.StringIO())
    first = await counts(settings)
    await loading.load_demo(settings, out=io.StringIO())

    in_orbit = sum(1 for craft in demo.FLEET if craft.orbit != "deep")
    assert first == (len(demo.FLEET), len(demo.FLEET) + in_orbit)
    assert await counts(settings) == first
    assert len(demo.FLEET) >= 24
