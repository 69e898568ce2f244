"""Platform connectors: small, pure adapters from a platform's API to typed records.

The public surface for connector authors is re-exported here; everything else is private.
"""

from __future__ import annotations

from connectors.base import CallStats, Connector, Duration, PlatformConfig, parse_duration
from connectors.errors import (
    AccountError,
    AccountNotFound,
    AccountPrivate,
    AccountSuspended,
    AuthError,
    ConfigError,
    ConnectorError,
    PayloadChanged,
    PlatformError,
    QuotaExhausted,
    RateLimited,
    TransientError,
)
from connectors.http import RetryPolicy, classify_response, make_client, utcnow
from connectors.records import (
    AccountRef,
    History,
    PostPage,
    PostRecord,
    ProfileBatch,
    ProfileRecord,
)

__all__ = [
    "AccountError",
    "AccountNotFound",
    "AccountPrivate",
    "AccountRef",
    "AccountSuspended",
    "AuthError",
    "CallStats",
    "ConfigError",
    "Connector",
    "ConnectorError",
    "Duration",
    "History",
    "PayloadChanged",
    "PlatformConfig",
    "PlatformError",
    "PostPage",
    "PostRecord",
    "ProfileBatch",
    "ProfileRecord",
    "QuotaExhausted",
    "RateLimited",
    "RetryPolicy",
    "TransientError",
    "classify_response",
    "make_client",
    "parse_duration",
    "utcnow",
]
