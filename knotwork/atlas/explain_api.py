"""Placeholder: POST /api/engine/explain is being built in this module."""

from ninja import Router

router = Router(tags=["engine"])
