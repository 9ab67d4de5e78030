"""The console's admin page: operators, tokens and the audit log. Admins only."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
