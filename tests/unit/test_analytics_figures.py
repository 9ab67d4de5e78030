"""Availability, MTTA, MTTR and MTBF on hand-built timelines, to the second."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from galactic_goofs.analytics.figures import (
    Lifetime,
    Outage,
    Timeline,
    buckets,
    measure_fleet,
    measure_fleet_buckets,
    measure_spacecraft,
)

NOW = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)
DAY = (NOW - timedelta(hours=24), NOW)
HOUR = 3600.0


def ago(hours: float) -> datetime:
    return NOW - timedelta(hours=hours)


def craft(
    timeline: Timeline, created_hours_ago: float, deleted_hours_ago: float | None = None
) -> uuid.UUID:
    spacecraft_id = uuid.uuid4()
    deleted = ago(deleted_hours_ago) if deleted_hours_ago is not None else None
    timeline.lifetimes[spacecraft_id] = Lifetime(
        spacecraft_id, "Hubble", "1990-037B", ago(created_hours_ago), deleted
    )
    return spacecraft_id


def outage(
    timeline: Timeline,
    spacecraft_id: uuid.UUID,
    opened: float,
    resolved: float | None,
    acknowledged: float | None = None,
    *,
    subsystem: str = "power",
    planned: bool = False,
) -> None:
    timeline.outages[spacecraft_id].append(
        Outage(
            spacecraft_id,
            subsystem,
            "major",
            ago(opened),
            ago(acknowledged) if acknowledged is not None else None,
            ago(resolved) if resolved is not None else None,
            planned,
        )
    )


def test_the_issues_timeline_gives_availability_to_the_second() -> None:
    timeline = Timeline(now=NOW)
    hubble = craft(timeline, created_hours_ago=30)
    outage(timeline, hubble, opened=20, acknowledged=19.5, resolved=17)
    timeline.maintenance[hubble].append((ago(10), ago(8)))

    figures = measure_spacecraft(timeline, hubble, *DAY)

    assert figures.observed_seconds == 22 * HOUR
    assert figures.downtime_seconds == 3 * HOUR
    assert figures.availability == 1 - 3 / 22
    assert figures.malfunctions == 1
    assert figures.mtta_seconds == 0.5 * HOUR
    assert figures.mttr_seconds == 3 * HOUR
    assert figures.mtbf_seconds == 19 * HOUR


def test_a_spacecraft_created_mid_window_is_observed_from_its_creation() -> None:
    timeline = Timeline(now=NOW)
    young = craft(timeline, created_hours_ago=6)
    outage(timeline, young, opened=3, resolved=None)

    figures = measure_spacecraft(timeline, young, *DAY)

    assert figures.observed_seconds == 6 * HOUR
    assert figures.availability == 0.5
    assert figures.mttr_seconds is None


def test_a_spacecraft_deleted_mid_window_is_observed_until_its_deletion() -> None:
    timeline = Timeline(now=NOW)
    gone = craft(timeline, created_hours_ago=40, deleted_hours_ago=4)
    outage(timeline, gone, opened=10, resolved=4)

    figures = measure_spacecraft(timeline, gone, *DAY)

    assert figures.observed_seconds == 20 * HOUR
    assert figures.availability == 0.7
    assert figures.mttr_seconds == 6 * HOUR


def test_a_malfunction_across_the_window_start_counts_only_its_part_inside() -> None:
    timeline = Timeline(now=NOW)
    hubble = craft(timeline, created_hours_ago=100)
    outage(timeline, hubble, opened=26, resolved=23)

    figures = measure_spacecraft(timeline, hubble, *DAY)

    assert figures.downtime_seconds == 1 * HOUR
    assert figures.malfunctions == 0, "it began before the window"
    assert figures.mttr_seconds == 3 * HOUR, "it was resolved inside the window"
    assert figures.mtbf_seconds is None


def test_maintenance_overlapping_a_malfunction_is_not_downtime() -> None:
    timeline = Timeline(now=NOW)
    hubble = craft(timeline, created_hours_ago=100)
    outage(timeline, hubble, opened=5, resolved=1, subsystem="thermal")
    timeline.maintenance[hubble].append((ago(3), NOW))

    figures = measure_spacecraft(timeline, hubble, *DAY)

    assert figures.observed_seconds == 21 * HOUR
    assert figures.downtime_seconds == 2 * HOUR
    assert figures.by_subsystem["thermal"].downtime_seconds == 2 * HOUR


def test_a_planned_malfunction_is_not_counted_as_one() -> None:
    timeline = Timeline(now=NOW)
    hubble = craft(timeline, created_hours_ago=100)
    timeline.maintenance[hubble].append((ago(6), ago(2)))
    outage(timeline, hubble, opened=5, resolved=1, planned=True)

    figures = measure_spacecraft(timeline, hubble, *DAY)

    assert figures.malfunctions == 0
    assert figures.downtime_seconds == 1 * HOUR, "the hour after maintenance ended is downtime"


def test_nothing_observed_gives_no_availability_rather_than_zero_or_one() -> None:
    timeline = Timeline(now=NOW)
    resting = craft(timeline, created_hours_ago=100)
    timeline.maintenance[resting].append((ago(30), NOW))

    assert measure_spacecraft(timeline, resting, *DAY).availability is None
    assert measure_fleet(Timeline(now=NOW), *DAY).availability is None


def test_a_fleet_without_anomalies_is_fully_available_with_no_repair_time() -> None:
    timeline = Timeline(now=NOW)
    craft(timeline, created_hours_ago=100)

    figures = measure_fleet(timeline, *DAY)

    assert figures.availability == 1.0
    assert figures.mttr_seconds is None
    assert figures.mtta_seconds is None
    assert figures.mtbf_seconds is None


def test_fleet_availability_weighs_each_spacecraft_by_its_observed_time() -> None:
    timeline = Timeline(now=NOW)
    outage(timeline, craft(timeline, created_hours_ago=100), opened=12, resolved=None)
    craft(timeline, created_hours_ago=12)

    figures = measure_fleet(timeline, *DAY)

    assert figures.observed_seconds == 36 * HOUR
    assert figures.availability == 1 - 12 / 36
    assert figures.malfunctions == 1


def test_buckets_split_the_window_evenly_and_each_has_its_own_availability() -> None:
    timeline = Timeline(now=NOW)
    hubble = craft(timeline, created_hours_ago=18)
    outage(timeline, hubble, opened=3, resolved=0)

    spans = buckets(*DAY, 4)
    figures = [measure_spacecraft(timeline, hubble, low, high).availability for low, high in spans]

    assert spans[0] == (ago(24), ago(18)) and spans[-1] == (ago(6), NOW)
    assert figures == [None, 1.0, 1.0, 0.5]


def test_fleet_buckets_in_one_pass_give_each_buckets_own_figures() -> None:
    timeline = Timeline(now=NOW)
    hubble = craft(timeline, created_hours_ago=100)
    outage(timeline, hubble, opened=30, resolved=20, acknowledged=25)  # across the window start
    outage(timeline, hubble, opened=14, resolved=9, acknowledged=13.5)  # into maintenance
    timeline.maintenance[hubble].append((ago(10), ago(8)))
    outage(timeline, hubble, opened=2, resolved=None, acknowledged=1)  # still open
    voyager = craft(timeline, created_hours_ago=12, deleted_hours_ago=5)
    outage(timeline, voyager, opened=6, resolved=5, acknowledged=5.5)
    craft(timeline, created_hours_ago=3)  # nothing happens to it
    spans = buckets(*DAY, 5)  # edges that are not whole hours

    together = measure_fleet_buckets(timeline, spans)

    one_by_one = [measure_fleet(timeline, low, high) for low, high in spans]
    assert [
        (part.observed_seconds, part.downtime_seconds, part.mtta_seconds, part.mttr_seconds)
        for part in together
    ] == [
        (part.observed_seconds, part.downtime_seconds, part.mtta_seconds, part.mttr_seconds)
        for part in one_by_one
    ]
    assert together[-1].downtime_seconds > 0 and together[0].mttr_seconds == 10 * HOUR


def test_one_spacecrafts_buckets_in_one_pass_give_what_each_bucket_measures_alone() -> None:
    timeline = Timeline(now=NOW)
    hubble = craft(timeline, created_hours_ago=20)  # born inside the first bucket
    outage(timeline, hubble, opened=30, resolved=19)  # before it existed, then across a day
    outage(timeline, hubble, opened=14, resolved=9)  # into maintenance
    timeline.maintenance[hubble].append((ago(10), ago(8)))
    outage(timeline, hubble, opened=2, resolved=None)  # still open
    other = craft(timeline, created_hours_ago=12)
    outage(timeline, other, opened=6, resolved=5)
    spans = buckets(*DAY, 5)

    together = measure_fleet_buckets(timeline, spans, spacecraft_id=hubble)

    one_by_one = [measure_spacecraft(timeline, hubble, low, high) for low, high in spans]
    assert [part.availability for part in together] == pytest.approx(
        [part.availability for part in one_by_one]
    )
    assert together[0].availability is not None and together[0].availability < 1
    assert (
        measure_fleet_buckets(timeline, spans, spacecraft_id=uuid.uuid4())[0].availability is None
    )
