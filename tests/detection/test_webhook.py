"""The webhook against a real loopback HTTP receiver: retried, announced once, never logged."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp import web
from sqlalchemy.engine import Engine

from collector.detection.flags import upsert_findings
from collector.detection.webhook import WebhookNotifier, slack_payload, webhook_from_env
from collector.logs import configure_logging, reset_logging
from connectors.http import RetryPolicy
from tests.detection.stored import add_account
from tests.detection.test_flags import finding

NOW = datetime(2026, 6, 1, tzinfo=UTC)


class Receiver:
    """A loopback webhook receiver that answers with the statuses it is given, then 200."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.statuses = list(statuses or [])
        self.bodies: list[dict[str, Any]] = []
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.bodies.append(json.loads(await request.read()))
        status = self.statuses.pop(0) if self.statuses else 200
        return web.Response(status=status, text="ok")


@asynccontextmanager
async def serving(receiver: Receiver) -> AsyncIterator[Receiver]:
    app = web.Application()
    app.router.add_post("/hooks/T000/B000/secret-token-xyz", receiver.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    receiver.url = f"http://127.0.0.1:{port}/hooks/T000/B000/secret-token-xyz"
    try:
        yield receiver
    finally:
        await runner.cleanup()


def notifier(url: str, waits: list[float]) -> WebhookNotifier:
    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    return WebhookNotifier(url, retry=RetryPolicy(max_attempts=3, sleep=sleep), clock=lambda: NOW)


def add_flags(engine: Engine, n: int = 1, severity: str = "high") -> None:
    account = add_account(engine, "rabat.street", platform="demo")
    with engine.begin() as conn:
        upsert_findings(
            conn,
            [
                finding(account, severity=severity, start=1_780_000_000 + i * 86400)
                for i in range(n)
            ],
            NOW,
        )


def test_new_flags_are_posted_as_slack_json(engine: Engine) -> None:
    add_flags(engine, 2)

    async def main() -> tuple[int, Receiver]:
        async with serving(Receiver()) as receiver:
            sent = await notifier(receiver.url, []).announce_pending(engine)
        return sent, receiver

    sent, receiver = asyncio.run(main())
    assert sent == 2
    (body,) = receiver.bodies
    assert body["text"].startswith("Collector: 2 new flags")
    assert body["blocks"][0]["type"] == "header"
    assert "rabat.street" in body["blocks"][1]["text"]["text"]


def test_a_server_error_is_retried(engine: Engine) -> None:
    add_flags(engine)
    waits: list[float] = []

    async def main() -> tuple[int, Receiver]:
        async with serving(Receiver([500, 503])) as receiver:
            sent = await notifier(receiver.url, waits).announce_pending(engine)
        return sent, receiver

    sent, receiver = asyncio.run(main())
    assert sent == 1
    assert len(receiver.bodies) == 3
    assert len(waits) == 2


def test_a_known_flag_is_not_announced_again(engine: Engine) -> None:
    add_flags(engine)

    async def main() -> tuple[list[int], Receiver]:
        async with serving(Receiver()) as receiver:
            hook = notifier(receiver.url, [])
            first = await hook.announce_pending(engine)
            second = await hook.announce_pending(engine)
        return [first, second], receiver

    sent, receiver = asyncio.run(main())
    assert sent == [1, 0]
    assert len(receiver.bodies) == 1


def test_flags_are_announced_once_the_receiver_recovers(engine: Engine) -> None:
    add_flags(engine)

    async def main() -> tuple[list[int], Receiver]:
        async with serving(Receiver([500, 500, 500])) as receiver:
            hook = notifier(receiver.url, [])
            first = await hook.announce_pending(engine)
            second = await hook.announce_pending(engine)
        return [first, second], receiver

    sent, _receiver = asyncio.run(main())
    assert sent == [0, 1]


def test_failures_are_logged_once_and_never_show_the_url(
    engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    add_flags(engine)
    configure_logging(level="info", fmt="json")
    try:

        async def main() -> None:
            async with serving(Receiver([500] * 9)) as receiver:
                hook = notifier(receiver.url, [])
                for _ in range(3):
                    await hook.announce_pending(engine)

        asyncio.run(main())
    finally:
        reset_logging()
    output = capsys.readouterr()
    text = output.out + output.err
    assert text.count("webhook failed") == 1
    assert "secret-token-xyz" not in text


def test_low_flags_are_never_announced(engine: Engine) -> None:
    add_flags(engine, severity="low")

    async def main() -> Receiver:
        async with serving(Receiver()) as receiver:
            await notifier(receiver.url, []).announce_pending(engine)
        return receiver

    assert asyncio.run(main()).bodies == []


def test_a_long_list_is_summed_up_in_one_message() -> None:
    flag = {
        "id": 1,
        "platform": "x",
        "handle": "a",
        "kind": "bought_followers",
        "severity": "high",
        "summary": "s",
        "window_start": "a",
        "window_end": "b",
        "score": 0.9,
        "post_id": None,
    }
    payload = slack_payload([flag] * 30)
    assert len(payload["blocks"]) == 22
    assert "and 10 more" in payload["blocks"][-1]["elements"][0]["text"]


def test_no_url_in_the_environment_means_no_webhook() -> None:
    assert webhook_from_env({}) is None
    assert webhook_from_env({"COLLECTOR_WEBHOOK_URL": "http://127.0.0.1:9/x"}) is not None
