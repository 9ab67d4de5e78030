from __future__ import annotations


class DomainError(Exception):
    """A request that the fleet's rules refuse; mapped to an HTTP status in one place (app.py)."""

    status_code = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    status_code = 404


class Conflict(DomainError):
    status_code = 409


class Unprocessable(DomainError):
    """Well-formed input that says something impossible (a TLE whose checksum fails).

    Answered in the shape of a validation error (`{"detail": [{"loc", "msg", "type"}]}`), at
    `loc`, the field it concerns, like every other 422.
    """

    status_code = 422

    def __init__(self, message: str, loc: tuple[str, ...] = ("body",)) -> None:
        super().__init__(message)
        self.loc = loc
