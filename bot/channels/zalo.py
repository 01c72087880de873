"""Zalo (BOT_FRAMEWORK=zalo): the same bot on the Zalo Bot API, over a small aiohttp client.

The Zalo Bot API looks like Telegram's (`/bot<TOKEN>/<method>`, `{ok, result}`) but differs
where it matters: one update per getUpdates call, no update ids (the message id is the key),
string chat ids, millisecond dates, `event_name` on updates, texts up to 2,000 characters, photos
only by URL, no files, no buttons and no edits, direct chats only. See docs/zalo.md for the
sources and the choices.

So every Reply is shown the way the local chat shows it (bot.core.render_numbered: options as
numbered lines, controls as words to type) and typed numbers are resolved by the core, exactly
as on every channel. Images and workbooks are published through a FileHost (the running
service keeps them in the database and serves them under PUBLIC_URL). As for Telegram, the
delivery rules (split, retry, outbox) are bot.delivery's; this module only translates.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import html
import json
import logging
import mimetypes
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol
from urllib.parse import quote

import aiohttp
from aiohttp import web

from bot import i18n
from bot.core import Event, Reply, render_numbered
from bot.delivery import (
    ChatTurns,
    DeliveryError,
    InOrder,
    Permanent,
    RetryLater,
    Transient,
    split_text,
)
from bot.i18n import N_, _, t

log = logging.getLogger(__name__)

CHANNEL = "zalo"
DEFAULT_BASE_URL = "https://bot-api.zaloplatforms.com"
SECRET_HEADER = "X-Bot-Api-Secret-Token"
TEXT_LIMIT = 2000  # sendMessage text and sendPhoto caption: 1-2,000 characters
POLL_TIMEOUT = 30  # seconds a getUpdates call waits for an update (Zalo's default)
RETRY_429 = 1.0  # Zalo's 429 "Quota exceeded" carries no retry_after: back off, then the outbox
UPDATE_KEY_MAX = 64  # ProcessedUpdate.update_id
DOWNLOAD_LIMIT = 20 * 1024 * 1024
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".webp")

TEXT_EVENT = "message.text.received"
IMAGE_EVENT = "message.image.received"


# ---- updates in ---------------------------------------------------------------------------


def unwrap(body: dict[str, Any]) -> dict[str, Any] | None:
    """The update inside a webhook body or a getUpdates result: `{ok, result: {event_name,
    message}}` as the docs show it, or the bare `{event_name, message}`."""
    update = body if "event_name" in body else body.get("result")
    if isinstance(update, dict) and isinstance(update.get("event_name"), str) and isinstance(update.get("message"), dict):
        return update
    return None


def update_key(chat: str, message: dict[str, Any]) -> str:
    """What makes an update unique, for answering a redelivery once. Zalo updates carry no
    update id; the message id does the job (scoped by chat, to be safe). Without one, a digest
    of the message itself is just as stable across redeliveries."""
    message_id = message.get("message_id")
    key = f"{chat}:{message_id}" if message_id else ""
    if not key or len(key) > UPDATE_KEY_MAX:
        canonical = json.dumps(message, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        key = "h:" + hashlib.sha256(canonical.encode()).hexdigest()[:40]
    return key


def _photo_url(message: dict[str, Any]) -> str | None:
    photo = message.get("photo") or message.get("photo_url") or message.get("url")
    if isinstance(photo, dict):
        photo = photo.get("url")
    return photo if isinstance(photo, str) and photo else None


def event_from_update(body: dict[str, Any]) -> Event | None:
    """A Zalo update (as JSON) to an Event. Direct chats only; anything else is ignored."""
    update = unwrap(body)
    if update is None:
        return None
    message = update["message"]
    chat = message.get("chat") if isinstance(message.get("chat"), dict) else {}
    sender = message.get("from") if isinstance(message.get("from"), dict) else {}
    if str(chat.get("chat_type") or "PRIVATE").upper() != "PRIVATE" or sender.get("is_bot"):
        return None
    chat_id = str(chat.get("id") or sender.get("id") or "")
    if not chat_id:
        return None
    user_id = str(sender.get("id") or chat_id)
    name = sender.get("display_name") or sender.get("name")
    common: dict[str, Any] = {"locale": None, "update": update_key(chat_id, message), "name": name if isinstance(name, str) else None}
    kind = update["event_name"]
    if kind == TEXT_EVENT and isinstance(message.get("text"), str):
        return Event.from_text(CHANNEL, user_id, chat_id, message["text"], **common)
    if kind == IMAGE_EVENT and (photo := _photo_url(message)):
        return Event(CHANNEL, user_id, chat_id, photo=photo, **common)
    return Event(CHANNEL, user_id, chat_id, **common)  # a sticker, a voice note, hidden content: the core says what it needs


# ---- the client ---------------------------------------------------------------------------


class PollTimeout(Transient):
    """getUpdates waited and nothing came: Zalo answers `ok: false, error_code: 408`."""


def _neutral(code: int, description: str, parameters: Any) -> DeliveryError:
    """Zalo's error codes to bot.delivery's. 403 is documented as an internal error, so it is
    retried like a 5xx; 400/401/404 never get better by retrying."""
    if code == 429:
        retry_after = parameters.get("retry_after") if isinstance(parameters, dict) else None
        return RetryLater(float(retry_after) if isinstance(retry_after, int | float) else RETRY_429)
    if code == 408:
        return PollTimeout(description or "Request timeout")
    if code >= 500 or code == 403:
        return Transient(f"{code} {description}".strip())
    return Permanent(f"{code} {description}".strip())


class ZaloClient:
    """The Zalo Bot API over aiohttp: JSON POSTs, `{ok, result}` answers, neutral errors.

    The token is part of every URL, so neither URLs nor aiohttp's messages (which may quote
    them) are ever logged or put in an exception."""

    def __init__(self, token: str, base_url: str = DEFAULT_BASE_URL, pool_size: int = 64, timeout: float = 20.0) -> None:
        self._root = f"{base_url.rstrip('/')}/bot{token}/"
        self._pool_size, self._timeout = pool_size, timeout
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=self._pool_size, ttl_dns_cache=300))

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def call(self, method: str, params: dict[str, Any] | None = None, *, read_timeout: float | None = None) -> Any:
        """One API call. Raises RetryLater, Transient (PollTimeout) or Permanent."""
        await self.start()
        assert self._session is not None
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=read_timeout or self._timeout)
        try:
            async with self._session.post(self._root + method, json=params or {}, timeout=timeout) as response:
                status, body = response.status, await response.read()
        except TimeoutError:
            raise Transient(f"{method}: time-out") from None
        except aiohttp.ClientError as exc:
            raise Transient(f"{method}: {type(exc).__name__}") from None
        try:
            data = json.loads(body)
        except ValueError:
            data = None
        if isinstance(data, dict) and data.get("ok") is True:
            return data.get("result")
        if not isinstance(data, dict):  # a proxy's error page, not Zalo's answer
            raise _neutral(status if status >= 400 else 502, f"{method}: HTTP {status}", None)
        code = data.get("error_code") if isinstance(data.get("error_code"), int) else status
        description = str(data.get("description") or "")[:200]
        raise _neutral(code if code >= 400 else 400, description, data.get("parameters"))

    async def get_me(self) -> dict[str, Any]:
        return await self.call("getMe")

    async def get_update(self, timeout: int = POLL_TIMEOUT) -> dict[str, Any] | None:
        """Long polling: one update, or None when `timeout` seconds passed without one."""
        try:
            result = await self.call("getUpdates", {"timeout": str(timeout)}, read_timeout=timeout + 15)
        except PollTimeout:
            return None
        return result if isinstance(result, dict) else None

    async def send_message(self, chat: str, text: str) -> None:
        await self.call("sendMessage", {"chat_id": chat, "text": text})

    async def send_photo(self, chat: str, url: str, caption: str | None) -> None:
        params = {"chat_id": chat, "photo": url}
        if caption:
            params["caption"] = caption
        await self.call("sendPhoto", params)

    async def set_webhook(self, url: str, secret: str) -> dict[str, Any]:
        return await self.call("setWebhook", {"url": url, "secret_token": secret})

    async def delete_webhook(self) -> None:
        await self.call("deleteWebhook")

    async def download(self, url: str) -> bytes:
        """A photo a person sent (Zalo gives its URL)."""
        await self.start()
        assert self._session is not None
        chunks: list[bytes] = []
        size = 0
        try:
            async with self._session.get(url, timeout=aiohttp.ClientTimeout(total=60)) as response:
                if response.status != 200:
                    raise Permanent(f"download: HTTP {response.status}")
                async for chunk in response.content.iter_chunked(64 * 1024):
                    chunks.append(chunk)
                    size += len(chunk)
                    if size > DOWNLOAD_LIMIT:
                        raise Permanent("download: too large")
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise Transient(f"download: {type(exc).__name__}") from None
        return b"".join(chunks)


# ---- replies out --------------------------------------------------------------------------


FileKind = Literal["photo", "download"]


class FileHost(Protocol):
    """Keeps an image or a workbook for Zalo to fetch: its public URL, or None without one."""

    async def publish(self, kind: FileKind, name: str, data: bytes) -> str | None: ...


@dataclass(frozen=True, slots=True)
class Action:
    kind: Literal["text", "photo", "download"]
    text: str = ""
    data: bytes | None = None
    name: str = "image.png"


def is_image(name: str) -> bool:
    return name.lower().endswith(IMAGE_SUFFIXES)


def text_actions(text: str) -> list[Action]:
    return [Action("text", part) for part in split_text(text, TEXT_LIMIT)] if text.strip() else []


def plan_reply(reply: Reply) -> list[Action]:
    """The sends that show one Reply on Zalo: the text as the local chat shows it (numbered
    options), cut at line breaks into 2,000-character messages; an image as a photo with the
    text as its caption when it fits; a PNG certificate as a photo; any other file as a link."""
    text = render_numbered(reply)
    image: tuple[str, bytes] | None = ("image.png", reply.image) if reply.image is not None else None
    if image is None and reply.document is not None:
        if not is_image(reply.document[0]):
            return [Action("download", text, reply.document[1], reply.document[0])]
        image = reply.document
    if image is None:
        return text_actions(text) or [Action("text", "…")]
    if text.strip() and split_text(text, TEXT_LIMIT) == [text]:  # fits as the caption
        return [Action("photo", text, image[1], image[0])]
    return [Action("photo", "", image[1], image[0]), *text_actions(text)]


def _with_note(text: str, note: str) -> str:
    return f"{text}\n\n{note}" if text.strip() else note


# ---- the per-update flow ------------------------------------------------------------------


class ZaloChannel:
    """Handle an update, answer it, keep each chat in order; what cannot be sent now goes to
    the outbox (the same guarantees as TelegramChannel)."""

    def __init__(self, app: Any, client: ZaloClient, files: FileHost | None = None) -> None:
        self.app, self.client, self.files = app, client, files
        self.turns = ChatTurns()
        self.in_order = InOrder(app, CHANNEL)
        self.idle = self.turns.idle
        app.fetch_file = client.download

    async def on_update(self, body: dict[str, Any]) -> None:
        """Handle one update and send its answers; the chat's next update waits for both."""
        event = event_from_update(body)
        if event is None:
            return
        async with self.turns.turn(event.chat):
            replies = await self.app.handle(event)
            await self.in_order.answer(self.send, event.chat, replies)

    async def send(self, chat: str, reply: Reply) -> None:
        """Send one Reply (all its parts). Raises a bot.delivery error on failure."""
        for action in plan_reply(reply):
            if action.kind == "text":
                await self.client.send_message(chat, action.text)
            elif action.kind == "photo":
                await self._photo(chat, action)
            else:
                await self._download(chat, action)

    async def _publish(self, kind: FileKind, action: Action) -> str | None:
        if self.files is None or action.data is None:
            return None
        return await self.files.publish(kind, action.name, action.data)

    async def _photo(self, chat: str, action: Action) -> None:
        url = await self._publish("photo", action)
        if url is not None:
            await self.client.send_photo(chat, url, action.text or None)
            return
        note = _("🖼 Ảnh này chưa gửi được qua Zalo: máy chủ chưa có địa chỉ công khai (PUBLIC_URL) để Zalo tải ảnh về. Nội dung chính đã có trong tin nhắn; ảnh xem được trên Telegram.")
        for part in text_actions(_with_note(action.text, note)):
            await self.client.send_message(chat, part.text)

    async def _download(self, chat: str, action: Action) -> None:
        url = await self._publish("download", action)
        size = i18n.number(round(len(action.data or b"") / 1024, 1))
        if url is not None:
            note = t(N_("📎 Tệp {name} ({size} KB): tải về tại {url}\nĐường dẫn tải được một lần, trong 24 giờ."), name=action.name, size=size, url=url)
        else:
            note = t(N_("📎 Tệp {name} không gửi được qua Zalo: Zalo chưa cho bot gửi tệp, và máy chủ chưa có địa chỉ công khai (PUBLIC_URL) để tải về. Hãy mở Chung Tay trên Telegram để nhận tệp."), name=action.name)
        for part in text_actions(_with_note(action.text, note)):
            await self.client.send_message(chat, part.text)


# ---- files served under PUBLIC_URL --------------------------------------------------------

Opener = Callable[[str, FileKind, bool], Awaitable[tuple[str, bytes] | None]]  # (token, kind, take)


def add_file_routes(web_app: web.Application, opener: Opener) -> None:
    """GET /f/<token>.<ext>: a photo for Zalo to fetch (while it lives). GET /d/<token>: a page
    with a download button; POST /d/<token>: the file, once. A GET never uses a download up, so
    a chat app fetching a link preview cannot spend it."""

    async def photo(request: web.Request) -> web.Response:
        found = await opener(request.match_info["token"], "photo", False)
        if found is None:
            raise web.HTTPNotFound()
        name, data = found
        return web.Response(body=data, content_type=mimetypes.guess_type(name)[0] or "application/octet-stream",
                            headers={"Cache-Control": "private, max-age=86400"})

    async def page(request: web.Request) -> web.Response:
        found = await opener(request.match_info["token"], "download", False)
        return _page(found[0] if found else None, status=200 if found else 410)

    async def download(request: web.Request) -> web.Response:
        found = await opener(request.match_info["token"], "download", True)
        if found is None:
            return _page(None, status=410)
        name, data = found
        ascii_name = name.encode("ascii", "ignore").decode().replace('"', "") or "file"
        disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"
        return web.Response(body=data, content_type=mimetypes.guess_type(name)[0] or "application/octet-stream",
                            headers={"Content-Disposition": disposition, "Cache-Control": "no-store"})

    web_app.router.add_get(r"/f/{token:[\w-]+}.{ext:[a-z]+}", photo)
    web_app.router.add_get(r"/d/{token:[\w-]+}", page)
    web_app.router.add_post(r"/d/{token:[\w-]+}", download)


def _page(name: str | None, status: int) -> web.Response:
    with i18n.use("vi"):
        if name is None:
            title, body = _("Đường dẫn không còn dùng được"), "<p>" + html.escape(_("Đường dẫn này đã được dùng hoặc đã hết hạn. Hãy yêu cầu lại tệp trong Chung Tay.")) + "</p>"
        else:
            title = t(N_("Tải tệp {name}"), name=name)
            body = (f'<form method="post"><button type="submit">{html.escape(_("Tải về"))}</button></form>'
                    f"<p>{html.escape(_('Đường dẫn chỉ tải được một lần.'))}</p>")
    document = (f'<!doctype html><html lang="vi"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">'
                f'<meta name="robots" content="noindex"><title>{html.escape(title)}</title></head>'
                f"<body><h1>{html.escape(title)}</h1>{body}</body></html>")
    return web.Response(text=document, content_type="text/html", status=status, headers={"Cache-Control": "no-store"})


# ---- the adapter: polling or webhook --------------------------------------------------------


class ZaloAdapter:
    """Feeds Zalo updates to the channel: long polling (one update per call) or the webhook."""

    name = "zalo"

    def __init__(self, token: str, base_url: str = DEFAULT_BASE_URL, max_in_flight: int = 256, poll_timeout: int = POLL_TIMEOUT) -> None:
        self.client = ZaloClient(token, base_url, pool_size=max_in_flight)
        self.poll_timeout = poll_timeout
        self.channel: ZaloChannel | None = None
        self.accepting = True
        self._gate = asyncio.Semaphore(max_in_flight)  # backpressure: bound what is in memory
        self._poller: asyncio.Task[None] | None = None
        self._handlers: set[asyncio.Task[None]] = set()

    def attach(self, channel: ZaloChannel) -> None:
        self.channel = channel

    async def start(self) -> None:
        """Check the token once (getMe), as the Telegram libraries do on start."""
        await self.client.start()
        try:
            await self.client.get_me()
        except Permanent as exc:
            raise SystemExit(f"Zalo refused BOT_TOKEN (getMe: {exc})") from None
        except DeliveryError as exc:
            log.warning("getMe failed, starting anyway: %s", exc)

    async def start_polling(self) -> None:
        with contextlib.suppress(DeliveryError):  # getUpdates answers nothing while a webhook is set
            await self.client.delete_webhook()
        self._poller = asyncio.create_task(self._poll())

    async def _poll(self) -> None:
        """One getUpdates after another; each update is handled in its own task (chats run in
        parallel, the channel keeps each chat in order)."""
        failures = 0
        while self.accepting:
            try:
                update = await self.client.get_update(self.poll_timeout)
            except DeliveryError as exc:
                failures += 1
                delay = min(2.0 ** failures, 30.0) if not isinstance(exc, RetryLater) else (exc.retry_after or 1.0)
                log.warning("getUpdates failed (%s); again in %.0f s", exc, delay)
                await asyncio.sleep(delay)
                continue
            except Exception:  # never let one odd answer stop the bot listening
                failures += 1
                log.exception("getUpdates failed")
                await asyncio.sleep(min(2.0 ** failures, 30.0))
                continue
            failures = 0
            if update is None:
                continue
            await self._gate.acquire()
            task = asyncio.create_task(self._handle(update))
            self._handlers.add(task)
            task.add_done_callback(self._handlers.discard)

    async def _handle(self, update: dict[str, Any]) -> None:
        try:
            assert self.channel is not None
            await self.channel.on_update(update)
        except Exception:
            log.exception("update failed")
        finally:
            self._gate.release()

    async def feed(self, data: dict[str, Any]) -> None:
        """Webhook: one update body. Once stopping, answer 503 so Zalo delivers it again later."""
        if not self.accepting:
            raise web.HTTPServiceUnavailable()
        assert self.channel is not None
        await self.channel.on_update(data)

    async def set_webhook(self, url: str, secret: str | None) -> None:
        if secret is None or not 8 <= len(secret) <= 256:
            raise SystemExit("WEBHOOK_SECRET must be 8-256 characters for Zalo")
        result = await self.client.set_webhook(url, secret)
        verification = result.get("verification") if isinstance(result, dict) else None
        if isinstance(verification, dict) and verification.get("ok") is False:
            log.warning("Zalo could not reach the webhook: %s", verification.get("outcome"))

    async def stop_taking_updates(self) -> None:
        self.accepting = False
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
            self._poller = None

    async def stop(self) -> None:
        await self.client.close()

