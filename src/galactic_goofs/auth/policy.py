"""Who may do what: roles, token scopes, and the one rule that combines them.

An operator's role bounds everything they do; a token's scope narrows it further, so a token
can never do more than its owner may (a demoted operator's admin token only reads). Routes name
the access they need (`Access`); `galactic_goofs.auth.dependencies` enforces it, the same way
for the API and the console.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum


class Role(StrEnum):
    VIEWER = "viewer"
    OPERATOR = "operator"
    ADMIN = "admin"


class Scope(StrEnum):
    READ = "read"
    WRITE = "write"
    ADMIN = "admin"


class Access(IntEnum):
    """What a route needs, in increasing power."""

    READ = 1
    WRITE = 2
    ADMIN = 3


ROLE_ACCESS = {Role.VIEWER: Access.READ, Role.OPERATOR: Access.WRITE, Role.ADMIN: Access.ADMIN}
SCOPE_ACCESS = {Scope.READ: Access.READ, Scope.WRITE: Access.WRITE, Scope.ADMIN: Access.ADMIN}
WHAT = {
    Access.READ: "watch the fleet",
    Access.WRITE: "change the fleet",
    Access.ADMIN: "administer",
}


def granted(role: Role, scope: Scope | None) -> Access:
    """The access of an operator with `role`, through a token of `scope` (None: signed in)."""
    access = ROLE_ACCESS[role]
    return access if scope is None else min(access, SCOPE_ACCESS[scope])


def default_scope(role: Role) -> Scope:
    """A new token writes, unless its owner may only read; admin power is asked for by name."""
    return Scope.READ if role is Role.VIEWER else Scope.WRITE


def refusal(role: Role, scope: Scope | None, needed: Access) -> str | None:
    """Why an operator with `role` (through a token of `scope`) may not do `needed`, or None."""
    if ROLE_ACCESS[role] < needed:
        article = "an" if role is Role.OPERATOR or role is Role.ADMIN else "a"
        return f"{article} {role.value} may not {WHAT[needed]}"
    if scope is not None and SCOPE_ACCESS[scope] < needed:
        return f"a token with scope '{scope.value}' may not {WHAT[needed]}"
    return None
