"""The webhook server (aiohttp), shared by every channel that receives updates by HTTP POST.

A request must carry the secret header set with the platform (Telegram:
X-Telegram-Bot-Api-Secret-Token; Zalo: X-Bot-Api-Secret-Token); anything else gets 403.
GET /healthz answers 200 with the database reachable and the outbox depth, 503 otherwise.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from aiohttp import web

log = logging.getLogger(__name__)

Feed = Callable[[dict[str, Any]], Awaitable[None]]
Health = Callable[[], Awaitable[dict[str, Any]]]


def make_app(path: str, secret: str | None, feed: Feed, health: Health, secret_header: str = "X-Telegram-Bot-Api-Secret-Token") -> web.Application:
    async def receive(request: web.Request) -> web.Response:
        given = request.headers.get(secret_header, "")
        if secret is None or not hmac.compare_digest(given.encode(), secret.encode()):
            return web.Response(status=403, text="forbidden")
        try:
            data = orjson.loads(await request.read())
        except ValueError:
            return web.Response(status=400, text="bad json")
        if not isinstance(data, dict):
            return web.Response(status=400, text="bad update")
        await feed(data)
        return web.Response(text="ok")

    async def healthz(_request: web.Request) -> web.Response:
        report = await health()
        return web.json_response(report, status=200 if report.get("database") == "ok" else 503)

    app = web.Application(client_max_size=2 * 1024 * 1024)
    app.router.add_post(path, receive)
    app.router.add_get("/healthz", healthz)
    return app


class WebhookServer:
    def __init__(self, app: web.Application, listen: str) -> None:
        host, _sep, port = listen.rpartition(":")
        self.host, self.port = host or "127.0.0.1", int(port)
        self.runner = web.AppRunner(app, access_log=None)  # no URLs in logs: tokens hide in them

    async def start(self) -> None:
        await self.runner.setup()
        await web.TCPSite(self.runner, self.host, self.port, reuse_port=True).start()  # several workers, one port
        log.info("webhook listening on %s:%s", self.host, self.port)

    async def stop(self) -> None:
        await self.runner.cleanup()
