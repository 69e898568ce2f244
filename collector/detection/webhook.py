"""The webhook: new ``medium``/``high`` flags announced once, as Slack-compatible JSON.

One message per detection run lists every flag nobody has been told about yet (``notified_at``
NULL), so a first run over a year of history sends one message, not hundreds. A flag is marked
announced only after the receiver accepted the message: a receiver that is down gets the same
flags on the next run, and no flag is ever announced twice. Server errors and timeouts are
retried with the shared :class:`~connectors.http.RetryPolicy`; a failure is logged once when it
starts and once when it ends, never on every pass. The URL is a secret (Slack's carries a
token): it is registered for masking and never logged.

For now the URL comes from the environment variable ``COLLECTOR_WEBHOOK_URL``.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx
import structlog
from sqlalchemy.engine import Engine

from collector.detection.flags import mark_notified, pending_announcements
from collector.logs import add_secrets
from connectors.errors import ConnectorError, TransientError
from connectors.http import Clock, RetryPolicy, classify_response, utcnow

__all__ = [
    "ENV_VAR",
    "MAX_FLAGS_PER_MESSAGE",
    "WebhookNotifier",
    "slack_payload",
    "webhook_from_env",
]

log = structlog.get_logger("collector.detection.webhook")

ENV_VAR = "COLLECTOR_WEBHOOK_URL"
#: Slack accepts 50 blocks per message; the rest are summed up in the last line.
MAX_FLAGS_PER_MESSAGE = 20
TIMEOUT = httpx.Timeout(10.0, connect=5.0)
_EMOJI = {"high": ":red_circle:", "medium": ":large_orange_circle:", "low": ":white_circle:"}


def slack_payload(flags: list[dict[str, Any]]) -> dict[str, Any]:
    """The message announcing ``flags`` (objects of :func:`flag_objects`): text and blocks."""
    high = sum(1 for f in flags if f["severity"] == "high")
    medium = sum(1 for f in flags if f["severity"] == "medium")
    counts = ", ".join(
        part
        for part in (f"{high} high" if high else "", f"{medium} medium" if medium else "")
        if part
    )
    text = f"Collector: {len(flags)} new flag{'s' if len(flags) != 1 else ''} to review ({counts})"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": text[:150]}}
    ]
    for flag in flags[:MAX_FLAGS_PER_MESSAGE]:
        subject = f"{flag['platform']} @{flag['handle']}"
        if flag.get("post_id"):
            subject += f" post {flag['post_id']}"
        mark = _EMOJI.get(flag["severity"], "")
        line = (
            f"{mark} *{flag['severity']}* `{flag['kind']}` — {subject}\n"
            f"{flag['summary']}\n"
            f"_{flag['window_start']} → {flag['window_end']} · score {flag['score']:.2f} · "
            f"flag #{flag['id']}_"
        )
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": line[:3000]}})
    if len(flags) > MAX_FLAGS_PER_MESSAGE:
        more = len(flags) - MAX_FLAGS_PER_MESSAGE
        blocks.append(
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": f"and {more} more: `collector flags --status open`",
                    }
                ],
            }
        )
    return {"text": text, "blocks": blocks}


class WebhookNotifier:
    """Posts announcements to one webhook URL with retries; remembers whether it is failing."""

    def __init__(
        self,
        url: str,
        *,
        retry: RetryPolicy | None = None,
        clock: Clock = utcnow,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: httpx.Timeout = TIMEOUT,
    ) -> None:
        """Prepare to post to ``url`` (registered as a secret: never logged)."""
        # Slack and most others put the token in the path: mask it wherever it turns up alone.
        path = urlsplit(url).path
        add_secrets([url, *([path] if len(path) >= 8 else [])])
        self._url = url
        self.retry = retry or RetryPolicy(max_attempts=4, base_wait_seconds=2.0, clock=clock)
        self.clock = clock
        self._transport = transport
        self._timeout = timeout
        self.failing = False

    async def send(self, payload: Mapping[str, Any]) -> None:
        """POST one message; raises the last error once the retries are spent."""

        async def attempt() -> None:
            try:
                response = await client.post(self._url, json=dict(payload))
            except httpx.TransportError as exc:
                raise TransientError(f"webhook unreachable ({exc.__class__.__name__})") from None
            error = classify_response(response, self.clock())
            if error is not None:
                raise error

        async with httpx.AsyncClient(timeout=self._timeout, transport=self._transport) as client:
            await self.retry.call(attempt)

    async def announce(self, flags: list[dict[str, Any]]) -> bool:
        """Announce these flags in one message; True if the receiver accepted it."""
        if not flags:
            return True
        try:
            await self.send(slack_payload(flags))
        except (ConnectorError, httpx.HTTPError) as exc:
            if not self.failing:
                # Once when it starts failing; the next passes retry quietly.
                log.error(
                    "webhook failed; new flags will be announced when it recovers",
                    error=str(exc),
                    flags=len(flags),
                )
            self.failing = True
            return False
        if self.failing:
            log.info("webhook recovered", flags=len(flags))
        self.failing = False
        return True

    async def announce_pending(self, engine: Engine) -> int:
        """Announce every open medium/high flag not announced yet; returns how many were."""

        def load() -> list[dict[str, Any]]:
            with engine.connect() as conn:
                return pending_announcements(conn)

        flags = await asyncio.to_thread(load)
        if not flags or not await self.announce(flags):
            return 0

        def mark() -> None:
            with engine.begin() as conn:
                mark_notified(conn, [f["id"] for f in flags], self.clock())

        await asyncio.to_thread(mark)
        return len(flags)


def webhook_from_env(
    environ: Mapping[str, str] | None = None, *, clock: Clock = utcnow
) -> WebhookNotifier | None:
    """The notifier for ``COLLECTOR_WEBHOOK_URL``, or None when it is not set."""
    url = (environ if environ is not None else os.environ).get(ENV_VAR, "").strip()
    return WebhookNotifier(url, clock=clock) if url else None
