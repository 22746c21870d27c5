"""The whole schema: importing this module registers every model on `Base.metadata`."""

from __future__ import annotations

from sqlalchemy import MetaData

import jobs.feed_models
import jobs.models
import mailer.models
import portal.auth.api_tokens
import portal.auth.idempotency
import portal.connect.uploads
import portal.webhooks.models
import preferences.events
import preferences.models
from preferences.db import Base

MODEL_MODULES = (
    preferences.models,
    jobs.models,
    jobs.feed_models,
    mailer.models,
    portal.auth.api_tokens,
    portal.auth.idempotency,
    portal.connect.uploads,
    preferences.events,
    portal.webhooks.models,
)


def metadata() -> MetaData:
    """Return the metadata of every Talent Connect table."""
    return Base.metadata
