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
    """Well-formed, but not a value the rules accept (a time already past, say)."""

    status_code = 422
