"""Which methods a path allows, answered from the routes the OpenAPI schema documents.

FastAPI answers a method a path lacks with the methods of the first route whose path matched,
so a path served by two routes (`GET` and `POST /api/v1/spacecraft`) named one of them in
`Allow`. And a literal path beside a parameter one (`/spacecraft/summary` beside
`/spacecraft/{spacecraft_id}`) was taken for the parameter by any method it lacks, which made
`PATCH /spacecraft/summary` a 422 about a malformed id instead of a 405. Both are answered here,
before routing, for every path the schema documents; the others (the console) route as ever.

The answer is read from the same routes FastAPI builds the schema from (`include_in_schema`),
not from the schema itself: building that costs half a second of CPU, which every app would pay
at its first request. `create_app` hands the middleware its table.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from fastapi.routing import APIRoute, iter_route_contexts
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

_METHODS = frozenset({"get", "head", "post", "put", "patch", "delete", "options", "trace"})


@dataclass(frozen=True)
class PathMethods:
    """The documented methods of each path, literal paths first (as routing prefers them)."""

    literal: dict[str, frozenset[str]]
    templated: list[tuple[re.Pattern[str], frozenset[str]]]

    @classmethod
    def from_routes(cls, routes: Sequence[BaseRoute]) -> PathMethods:
        """The methods of every route the schema documents, by path (`/spacecraft/{id}`),
        walked as FastAPI's `get_openapi` walks them (included routers too)."""
        paths: dict[str, set[str]] = {}
        for route in iter_route_contexts(routes):
            if isinstance(route.original_route, APIRoute) and route.include_in_schema:
                methods = {method for method in route.methods or () if method.lower() in _METHODS}
                paths.setdefault(str(route.path_format), set()).update(methods)
        literal: dict[str, frozenset[str]] = {}
        templated: list[tuple[re.Pattern[str], frozenset[str]]] = []
        for path, methods in paths.items():
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

    def __init__(self, app: ASGIApp, methods: PathMethods) -> None:
        self.app = app
        self.methods = methods

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            allowed = self.methods.allowed(_route_path(scope))
            if allowed is not None and scope["method"] not in allowed:
                refusal = JSONResponse(
                    {"detail": "Method Not Allowed"},
                    status_code=405,
                    headers={"Allow": ", ".join(sorted(allowed))},
                )
                await refusal(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _route_path(scope: Scope) -> str:
    path: str = scope["path"]
    root_path: str = scope.get("root_path", "")
    return path.removeprefix(root_path) if root_path and path.startswith(root_path) else path
