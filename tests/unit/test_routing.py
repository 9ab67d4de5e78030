"""The 405 middleware reads the routes, not the schema: both must name the same methods."""

from __future__ import annotations

import re

from fastapi import FastAPI

from galactic_goofs.app import create_app
from galactic_goofs.routing import DocumentedMethodsMiddleware, PathMethods
from tests.support import test_settings

_OPERATIONS = {"get", "head", "post", "put", "patch", "delete", "options", "trace"}


def _middleware_table(app: FastAPI) -> PathMethods:
    """The table `create_app` gave the 405 middleware."""
    (layer,) = [m for m in app.user_middleware if m.cls is DocumentedMethodsMiddleware]
    table = layer.kwargs["methods"]
    assert isinstance(table, PathMethods)
    return table


def test_the_allowed_methods_are_exactly_those_the_openapi_schema_documents() -> None:
    app = create_app(test_settings("sqlite:///unused.db"))
    schema = app.openapi()["paths"]
    methods = _middleware_table(app)

    allowed = {}
    for path in schema:
        concrete = re.sub(r"\{[^}]*\}", "x", path)
        allowed[path] = methods.allowed(concrete)
    documented = {
        path: frozenset(
            {op.upper() for op in operations if op in _OPERATIONS}
            | ({"HEAD"} if "get" in operations else set())
        )
        for path, operations in schema.items()
    }

    assert allowed == documented
    assert len(methods.literal) + len(methods.templated) == len(schema)
    assert methods.allowed("/board") is None  # the console is not in the schema
