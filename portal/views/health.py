"""Health check for load balancers and orchestrators."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, jsonify
from sqlalchemy.exc import SQLAlchemyError

from portal.web.runtime import runtime
from preferences.db import ping

bp = Blueprint("health", __name__)
log = logging.getLogger("portal.health")


@bp.get("/healthz")
def healthz() -> Any:
    """Answer 200 when the database answers, 503 otherwise."""
    try:
        ping(runtime().engine)
    except SQLAlchemyError as exc:
        log.warning("database check failed", extra={"error": type(exc).__name__})
        return jsonify(status="unavailable", database="unreachable"), 503
    return jsonify(status="ok", database="ok")
