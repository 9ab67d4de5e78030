"""The times the console writes for contacts: counted down in words, and a column of times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from galactic_goofs.web.rendering import hour, until

NOW = datetime(2026, 12, 3, 18, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("ahead", "said"),
    [
        (timedelta(seconds=59), "in under a minute"),
        (timedelta(minutes=12, seconds=50), "in 12 min"),
        (timedelta(minutes=119), "in 119 min"),
        (timedelta(hours=5, minutes=7), "in 5 h 07 min"),
    ],
    ids=["seconds", "minutes", "almost-two-hours", "hours"],
)
def test_a_contact_to_come_is_said_as_console_js_says_it(ahead: timedelta, said: str) -> None:
    assert until(NOW + ahead, NOW) == said


def test_a_time_of_day_shows_its_day_only_when_it_is_not_today() -> None:
    assert hour(NOW + timedelta(hours=1, seconds=5), NOW) == "19:00:05"
    assert hour(NOW + timedelta(hours=7), NOW) == "04 Dec 01:00:00"
