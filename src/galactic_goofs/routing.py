"""Which methods a path allows, answered from the OpenAPI schema, the API's contract.

FastAPI answers a method a path lacks with the methods of the first route whose path matched,
so a path served by two routes (`GET` and `POST /api/v1/spacecraft`) named one of them in
`Allow`. And a literal path beside a parameter one (`/spacecraft/summary` beside
`/spacecraft/{spacecraft_id}`) was taken for the parameter by any method it lacks, which made
`PATCH /spacecraft/summary` a 422 about a malformed id instead of a 405. Both are answered here,
before routing, for every path the schema documents; the others (the console) route as ever.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

_METHODS = frozenset({"get", "head", "post", "put", "patch", "delete", "options", "trace"})


@dataclass(frozen=True)
class PathMethods:
    """The documented methods of each path, literal paths first (as routing prefers them)."""

    literal: dict[str, frozenset[str]]
    templated: list[tuple[re.Pattern[str], frozenset[str]]]

    @classmethod
    def from_schema(cls, paths: dict[str, dict[str, Any]]) -> PathMethods:
        literal: dict[str, frozenset[str]] = {}
        templated: list[tuple[re.Pattern[str], frozenset[str]]] = []
        for path, operations in paths.items():
            methods = {method.upper() for method in operations if method in _METHODS}
            if "GET" in methods:
                methods.add("HEAD")  # every GET route answers HEAD too
            if "{" not in path:
                literal[path] = frozenset(methods)
                continue
            parts = re.split(r"(\{[^}]*\})", path)
            pattern = "".join(
                "[^/]+" if part.startswith("{") else re.escape(part) for part in parts
            )
            templated.append((re.compile(pattern), frozenset(methods)))
        return cls(literal, templated)

    def allowed(self, path: str) -> frozenset[str] | None:
        """The methods `path` allows, or None when the schema does not document it."""
        methods = self.literal.get(path)
        if methods is not None:
            return methods
        found = [methods for pattern, methods in self.templated if pattern.fullmatch(path)]
        return frozenset().union(*found) if found else None


class DocumentedMethodsMiddleware:
    """A method a documented path lacks is a 405 whose `Allow` lists every method it has."""

    touches_response_start_only = True

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._schema: dict[str, Any] | None = None
        self._methods = PathMethods({}, [])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            allowed = self._path_methods(scope).allowed(_route_path(scope))
            if allowed is not None and scope["method"] not in allowed:
                refusal = JSONResponse(
                    {"detail": "Method Not Allowed"},
                    status_code=405,
                    headers={"Allow": ", ".join(sorted(allowed))},
                )
                await refusal(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _path_methods(self, scope: Scope) -> PathMethods:
        # FastAPI keeps the schema it built until a route is added; so does this.
        schema = scope["app"].openapi()
        if schema is not self._schema:
            self._methods = PathMethods.from_schema(schema.get("paths", {}))
            self._schema = schema
        return self._methods


def _route_path(scope: Scope) -> str:
    path: str = scope["path"]
    root_path: str = scope.get("root_path", "")
    return path.removeprefix(root_path) if root_path and path.startswith(root_path) else path
