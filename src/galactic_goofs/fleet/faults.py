"""What can go wrong up there, and how the simulator chooses."""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import StrEnum


class Subsystem(StrEnum):
    POWER = "power"
    COMMS = "comms"
    ADCS = "adcs"
    THERMAL = "thermal"
    PROPULSION = "propulsion"
    PAYLOAD = "payload"
    SOFTWARE = "software"


class Severity(StrEnum):
    MINOR = "minor"
    MAJOR = "major"
    CRITICAL = "critical"


@dataclass(frozen=True, slots=True)
class FaultTemplate:
    subsystem: Subsystem
    severity: Severity
    description: str


def _templates(subsystem: Subsystem, *entries: tuple[Severity, str]) -> list[FaultTemplate]:
    return [FaultTemplate(subsystem, severity, text) for severity, text in entries]


CATALOG: tuple[FaultTemplate, ...] = tuple(
    _templates(
        Subsystem.POWER,
        (Severity.MINOR, "Solar array reports 'mostly sunny' while in eclipse"),
        (Severity.MAJOR, "Battery charge controller has opinions about lithium"),
        (Severity.CRITICAL, "Main bus undervoltage: someone left the heater on"),
    )
    + _templates(
        Subsystem.COMMS,
        (Severity.MINOR, "Downlink replaced all telemetry with hold music"),
        (Severity.MAJOR, "High-gain antenna pointed firmly at the Moon, refuses to elaborate"),
        (Severity.CRITICAL, "Transponder stuck transmitting 'are we there yet?'"),
    )
    + _templates(
        Subsystem.ADCS,
        (Severity.MINOR, "Star tracker mistook a speck of dust for Sirius"),
        (Severity.MAJOR, "Reaction wheel 3 spinning up for no reason, wants attention"),
        (Severity.CRITICAL, "Tumbling at 2 rpm; the gyros call it 'interpretive dance'"),
    )
    + _templates(
        Subsystem.THERMAL,
        (Severity.MINOR, "Radiator louvers stuck half-open, half-closed, fully confused"),
        (Severity.MAJOR, "Payload bay at 61 C; the cheese experiment is now fondue"),
        (Severity.CRITICAL, "Heater loop in a thermostat argument with itself"),
    )
    + _templates(
        Subsystem.PROPULSION,
        (Severity.MINOR, "Thruster 4 sneezes on every firing"),
        (Severity.MAJOR, "Propellant gauge reads 'some'"),
        (Severity.CRITICAL, "Latch valve stuck open: unscheduled orbit-raising in progress"),
    )
    + _templates(
        Subsystem.PAYLOAD,
        (Severity.MINOR, "Camera took 4,000 selfies overnight"),
        (Severity.MAJOR, "Spectrometer insists everything is beige"),
        (Severity.CRITICAL, "Instrument cover closed, locked, and lost the key"),
    )
    + _templates(
        Subsystem.SOFTWARE,
        (Severity.MINOR, "Flight software rebooted to install updates it already had"),
        (Severity.MAJOR, "Onboard clock fell into 1970 and likes it there"),
        (Severity.CRITICAL, "Watchdog timer fell asleep on watch"),
    )
)


def pick(rng: random.Random, subsystem: Subsystem | None = None) -> FaultTemplate:
    choices = [f for f in CATALOG if subsystem is None or f.subsystem is subsystem]
    return rng.choice(choices)
