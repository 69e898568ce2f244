"""The errors a connector raises, and what the pipeline does with each.

Every failure a connector can meet is one of these classes; the pipeline branches on the class,
never on a message. The tree::

    ConnectorError                    base; never raised itself
    ├── AccountError                  one account's state changed: not retried, others go on
    │   ├── AccountNotFound           handle unknown, deleted or renamed → status "not_found"
    │   ├── AccountPrivate            exists but its counts are not public → status "private"
    │   └── AccountSuspended          suspended by the platform → status "suspended"
    └── PlatformError                 the whole platform is affected
        ├── RateLimited(retry_at)     slow down: retried after retry_at if that is soon,
        │                             otherwise the batch is rescheduled for retry_at
        ├── QuotaExhausted(reset_at)  the budget is spent: never retried; the platform waits
        │                             for reset_at
        ├── AuthError                 bad or missing credentials: the platform pauses until the
        │                             operator fixes them; other platforms go on
        ├── ConfigError               the platform refuses our request as configured (same as auth)
        ├── TransientError            5xx, timeout, reset connection: retried with capped backoff
        └── PayloadChanged(raw_body)  the response no longer has the expected shape: nothing is
                                      stored from it, the raw body is kept for debugging

Messages never contain credentials: connectors build them from status codes and platform error
codes, and the logging layer masks known secrets as a second line of defence.
"""

from __future__ import annotations

from datetime import datetime

__all__ = [
    "AccountError",
    "AccountNotFound",
    "AccountPrivate",
    "AccountSuspended",
    "AuthError",
    "ConfigError",
    "ConnectorError",
    "PayloadChanged",
    "PlatformError",
    "QuotaExhausted",
    "RateLimited",
    "TransientError",
]


class ConnectorError(Exception):
    """Base of every error a connector raises."""

    #: Short machine-readable outcome written to logs, metrics and ``collection_run``.
    outcome: str = "error"

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code


class AccountError(ConnectorError):
    """One account changed state; the account's status changes and it is not retried."""

    #: The ``account.status`` the pipeline writes.
    account_status: str = "not_found"

    def __init__(
        self, message: str, *, handle: str | None = None, status_code: int | None = None
    ) -> None:
        super().__init__(message, status_code=status_code)
        self.handle = handle


class AccountNotFound(AccountError):
    """The handle does not exist (any more) on the platform."""

    outcome = "not_found"
    account_status = "not_found"


class AccountPrivate(AccountError):
    """The account exists but its counts are not public."""

    outcome = "private"
    account_status = "private"


class AccountSuspended(AccountError):
    """The platform suspended or deactivated the account."""

    outcome = "suspended"
    account_status = "suspended"


class PlatformError(ConnectorError):
    """The platform as a whole cannot serve us right now."""


class RateLimited(PlatformError):
    """The platform asked us to slow down until ``retry_at``."""

    outcome = "rate_limited"

    def __init__(self, message: str, *, retry_at: datetime, status_code: int | None = None) -> None:
        super().__init__(message, status_code=status_code)
        self.retry_at = retry_at


class QuotaExhausted(PlatformError):
    """The platform's budget is spent until ``reset_at``; retrying earlier only wastes it."""

    outcome = "quota_exhausted"

    def __init__(self, message: str, *, reset_at: datetime, status_code: int | None = None) -> None:
        super().__init__(message, status_code=status_code)
        self.reset_at = reset_at


class AuthError(PlatformError):
    """Credentials are missing, wrong or expired; the platform pauses until they are fixed."""

    outcome = "auth_error"


class ConfigError(PlatformError):
    """The platform rejects the request as configured (bad base URL, missing permission)."""

    outcome = "config_error"


class TransientError(PlatformError):
    """A failure that is likely to pass: server error, timeout, dropped connection."""

    outcome = "transient"


class PayloadChanged(PlatformError):
    """The response does not have the expected shape; nothing from it is stored."""

    outcome = "payload_changed"

    #: Raw bodies can be large; keep enough to debug, not enough to fill the disk.
    MAX_KEPT_BYTES = 64 * 1024

    def __init__(self, message: str, *, raw_body: bytes | str, status_code: int | None = None):
        super().__init__(message, status_code=status_code)
        raw = raw_body.encode() if isinstance(raw_body, str) else raw_body
        self.raw_body = raw[: self.MAX_KEPT_BYTES]
