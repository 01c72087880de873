"""A fake Zalo Bot API server on 127.0.0.1, for driving the real bot in tests.

It follows the published Zalo Bot API (docs/zalo.md lists the sources): `/bot<TOKEN>/<method>`,
case-sensitive method names, `{ok, result}` answers and `{ok: false, error_code, description}`
failures; getUpdates hands out ONE update per call and answers `error_code 408` ("Request
timeout") when none came; updates are `{event_name, message}` with string ids and millisecond
dates; sendMessage takes 1-2,000 characters (counted here in UTF-16 units, the stricter
reading); sendPhoto takes a photo URL, which the fake fetches like Zalo does (so a test proves
the bot really serves its images); while a webhook is set, pushed updates are POSTed to it with
the secret in `X-Bot-Api-Secret-Token`, and getUpdates refuses.

Every request is validated (unknown method, missing or ill-typed field, bad length): failures
answer as Zalo would and are recorded in ``errors``, so a test asserts ``api.errors == []``.
Faults are injected per method: 429 "Quota exceeded", 403/5xx, an HTML 502 from a proxy,
time-outs. Where the docs are silent the fake picks one behaviour and says so in a comment.

    async with FakeZaloAPI(token="1234:abc") as api:
        api.push_text("u1", "/start")
        await api.wait_for_sent(1, chat_id="u1")
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import hashlib
import itertools
import json
import random
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import aiohttp
from aiohttp import web

TEXT_LIMIT = 2000
EVENTS = frozenset({"message.text.received", "message.image.received", "message.sticker.received",
                    "message.voice.received", "message.unsupported.received"})
SECRET_HEADER = "X-Bot-Api-Secret-Token"
IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF8", b"RIFF")

# method -> {field: (required, accepted types)}
METHODS: dict[str, dict[str, tuple[bool, tuple[type, ...]]]] = {
    "getMe": {},
    "getUpdates": {"timeout": (False, (str, int))},
    "setWebhook": {"url": (True, (str,)), "secret_token": (True, (str,))},
    "deleteWebhook": {},
    "getWebhookInfo": {},
    "sendMessage": {"chat_id": (True, (str,)), "text": (True, (str,)), "parse_mode": (False, (str,)), "text_styles": (False, (list,))},
    "sendPhoto": {"chat_id": (True, (str,)), "photo": (True, (str,)), "caption": (False, (str,))},
    "sendSticker": {"chat_id": (True, (str,)), "sticker": (True, (str,))},
    "sendChatAction": {"chat_id": (True, (str,)), "action": (True, (str,))},
    "sendVoice": {"chat_id": (True, (str,)), "voice_url": (True, (str,))},
}
MESSAGE_METHODS = frozenset({"sendMessage", "sendPhoto", "sendSticker", "sendVoice"})
_ERROR_TEXT = {400: "Bad request", 401: "Unauthorized", 403: "Internal server error", 404: "Not found",
               408: "Request timeout", 429: "Quota exceeded", 500: "Internal server error", 502: "Bad gateway"}


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


@dataclass
class Call:
    """One request the bot made: params, arrival time (monotonic), Zalo's error code or 200."""

    method: str
    params: dict[str, Any]
    time: float
    status: int = 200
    result: Any = None
    description: str = ""
    photo_bytes: bytes | None = field(default=None, repr=False)  # what the fake fetched for sendPhoto

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def chat_id(self) -> str | None:
        return self.params.get("chat_id")

    @property
    def text(self) -> str:
        """The visible text: a message's text or a photo's caption."""
        return str(self.params.get("text") or self.params.get("caption") or "")


@dataclass(frozen=True)
class ApiError:
    """A request the fake rejected as Zalo would."""

    method: str
    reason: str


@dataclass
class _Fault:
    status: int | Literal["timeout", "proxy"]
    delay: float | None = None
    deliver: bool = False


class _Failure(Exception):
    def __init__(self, code: int, description: str | None = None, *, record: bool = True) -> None:
        super().__init__(description)
        self.code, self.description, self.record = code, description or _ERROR_TEXT.get(code, "Error"), record


class FakeZaloAPI:
    def __init__(self, token: str = "1234567890:test-zalo-token", *, http_status: bool = False,
                 clock: Callable[[], float] = time.time) -> None:
        """`http_status`: answer failures with that HTTP status too (default: HTTP 200 with
        `ok: false`, which the docs' envelope allows; a client must read the body either way)."""
        self.token, self.http_status, self.clock = token, http_status, clock
        self.base_url = ""
        self.calls: list[Call] = []
        self.errors: list[ApiError] = []
        self.warnings: list[ApiError] = []
        self.webhook_deliveries: list[tuple[str, int]] = []  # (message_id, HTTP status or 0)
        self.polls_started = 0
        self.bot = {"id": "1459232241454765289", "account_name": "bot.ChungTayTest", "account_type": "BASIC", "can_join_groups": False}
        self._queue: list[dict[str, Any]] = []
        self._history: dict[str, dict[str, Any]] = {}
        self._by_chat: dict[str, list[Call]] = {}
        self._faults: dict[str, list[_Fault]] = {}
        self._ratios: dict[str, tuple[float, _Fault, random.Random]] = {}
        self._delays: dict[str, float] = {}
        self._webhook: tuple[str, str] | None = None  # (url, secret)
        self._webhook_updated = 0
        self._ids = itertools.count(1)
        self._inflight = 0
        self._last_activity = time.monotonic()
        self._changed = asyncio.Event()
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._http: aiohttp.ClientSession | None = None
        self._pushes: set[asyncio.Task[None]] = set()

    # ------------------------------------------------------------------ lifecycle
    async def __aenter__(self) -> FakeZaloAPI:
        app = web.Application(client_max_size=8 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        await web.SockSite(self._runner, sock).start()
        self.base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        self._http = aiohttp.ClientSession()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._closing.set()
        self._notify()
        for task in list(self._pushes):
            task.cancel()
        if self._http is not None:
            await self._http.close()
        if self._runner is not None:
            await self._runner.cleanup()

    # ------------------------------------------------------------------ inspection
    @property
    def sent(self) -> list[Call]:
        """Successful calls, except the read-only get* methods."""
        return [c for c in self.calls if c.ok and not c.method.startswith("get")]

    @property
    def messages(self) -> list[Call]:
        """Successful sendMessage/sendPhoto/... calls, in order."""
        return [c for c in self.calls if c.ok and c.method in MESSAGE_METHODS]

    def sent_to(self, chat_id: str) -> list[Call]:
        return list(self._by_chat.get(chat_id, ()))

    def texts(self, chat_id: str) -> list[str]:
        return [c.text for c in self.sent_to(chat_id)]

    @property
    def pending_updates(self) -> list[str]:
        return [u["message"]["message_id"] for u in self._queue]

    @property
    def webhook(self) -> tuple[str, str] | None:
        return self._webhook

    async def wait_for_sent(self, n: int, timeout: float = 10, *, chat_id: str | None = None) -> list[Call]:
        deadline = time.monotonic() + timeout
        while True:
            got = self.messages if chat_id is None else self.sent_to(chat_id)
            if len(got) >= n:
                return got
            if (remaining := deadline - time.monotonic()) <= 0:
                raise TimeoutError(f"expected {n} messages, got {len(got)}: {[c.text[:60] for c in got]}; errors={self.errors}")
            await self._wait_change(remaining)

    async def wait_idle(self, timeout: float = 10, settle: float = 0.1) -> None:
        """Until every update was handed out and no request (but long polls) ran for `settle` s."""
        deadline = time.monotonic() + timeout
        while True:
            now = time.monotonic()
            quiet = now - self._last_activity
            if not self._queue and not self._inflight and not self._pushes and quiet >= settle:
                return
            if now >= deadline:
                raise TimeoutError(f"not idle: pending {self.pending_updates}, {self._inflight} requests in progress")
            await self._wait_change(min(deadline - now, max(settle - quiet, 0.01)))

    # ------------------------------------------------------------------ fault injection
    def fail_next(self, method: str, status: int | Literal["timeout", "proxy"] = 429, count: int = 1, *,
                  delay: float | None = None, deliver: bool = False) -> None:
        """Fail the next `count` calls of `method` ("*" = any): 429 "Quota exceeded", 403, 500...
        as Zalo answers them; "proxy": an HTML 502 from a load balancer, not JSON; "timeout":
        hold the request `delay` s (default 75) then 504, or process it if `deliver`."""
        self._faults.setdefault(self._canon(method), []).extend([_Fault(status, delay, deliver)] * count)

    def fail_ratio(self, method: str, ratio: float, status: int | Literal["timeout", "proxy"] = 429, seed: int = 0) -> None:
        """Fail a deterministic pseudo-random `ratio` of the calls to `method`."""
        self._ratios[self._canon(method)] = (ratio, _Fault(status), random.Random(seed))

    def delay(self, method: str, seconds: float) -> None:
        self._delays[self._canon(method)] = seconds

    def _canon(self, method: str) -> str:
        if method != "*" and method not in METHODS:
            raise ValueError(f"unknown Zalo Bot API method {method!r}")
        return method

    def _take_fault(self, method: str) -> _Fault | None:
        for key in (method, "*"):
            if self._faults.get(key):
                return self._faults[key].pop(0)
        for key in (method, "*"):
            if key in self._ratios:
                ratio, fault, rng = self._ratios[key]
                if rng.random() < ratio:
                    return fault
        return None

    # ------------------------------------------------------------------ updates
    def push_raw(self, update: dict[str, Any]) -> str:
        """Queue (or, with a webhook set, POST) an update `{event_name, message}`; validated."""
        update = copy.deepcopy(update)
        problem = self._problem(update)
        if problem:
            raise ValueError(f"invalid update: {problem}")
        message_id = update["message"]["message_id"]
        self._history[message_id] = update
        self._deliver(update)
        return message_id

    def redeliver(self, message_id: str) -> None:
        """The same update again (a webhook retry, a poll answer that got lost on the way)."""
        self._deliver(copy.deepcopy(self._history[message_id]), front=True)

    def push_text(self, user: str, text: str, *, name: str | None = None) -> str:
        return self.push_raw(self._update(user, "message.text.received", {"text": text}, name))

    def push_image(self, user: str, photo_url: str, caption: str | None = None) -> str:
        content: dict[str, Any] = {"photo": photo_url}
        if caption is not None:
            content["caption"] = caption
        return self.push_raw(self._update(user, "message.image.received", content))

    def push_sticker(self, user: str, sticker: str = "d063f44dc80821567819") -> str:
        return self.push_raw(self._update(user, "message.sticker.received", {"sticker": sticker, "url": "https://zalo.example/sticker.webp"}))

    def push_unsupported(self, user: str) -> str:
        return self.push_raw(self._update(user, "message.unsupported.received", {}))

    def push_group_text(self, user: str, group: str, text: str) -> str:
        update = self._update(user, "message.text.received", {"text": text})
        update["message"]["chat"] = {"id": group, "chat_type": "GROUP"}
        return self.push_raw(update)

    def _update(self, user: str, event: str, content: dict[str, Any], name: str | None = None) -> dict[str, Any]:
        message_id = hashlib.sha1(f"m{next(self._ids)}".encode()).hexdigest()[:20]
        message = {"from": {"id": user, "display_name": name or f"Người dùng {user}", "is_bot": False},
                   "chat": {"id": user, "chat_type": "PRIVATE"}, "message_id": message_id,
                   "date": int(self.clock() * 1000), **content}
        return {"event_name": event, "message": message}

    @staticmethod
    def _problem(update: dict[str, Any]) -> str | None:
        if update.get("event_name") not in EVENTS:
            return f"event_name {update.get('event_name')!r}"
        message = update.get("message")
        if not isinstance(message, dict):
            return "message missing"
        sender, chat = message.get("from"), message.get("chat")
        if not isinstance(sender, dict) or not isinstance(sender.get("id"), str):
            return "message.from.id must be a string"
        if not isinstance(chat, dict) or not isinstance(chat.get("id"), str) or chat.get("chat_type") not in ("PRIVATE", "GROUP"):
            return "message.chat must have a string id and chat_type PRIVATE or GROUP"
        if not isinstance(message.get("message_id"), str) or not isinstance(message.get("date"), int) or message["date"] < 10**12:
            return "message_id must be a string and date in milliseconds"
        if update["event_name"] == "message.text.received" and not isinstance(message.get("text"), str):
            return "a text message needs text"
        return None

    def _deliver(self, update: dict[str, Any], front: bool = False) -> None:
        if self._webhook is not None:
            task = asyncio.ensure_future(self._post_webhook(update))
            self._pushes.add(task)
            task.add_done_callback(self._pushes.discard)
        elif front:
            self._queue.insert(0, update)
        else:
            self._queue.append(update)
        self._last_activity = time.monotonic()
        self._notify()

    async def _post_webhook(self, update: dict[str, Any]) -> None:
        """One POST, as Zalo sends it; whether Zalo retries a failed delivery is not documented,
        so the fake does not (tests call redeliver)."""
        assert self._webhook is not None and self._http is not None
        url, secret = self._webhook
        status = 0
        try:
            async with self._http.post(url, json={"ok": True, "result": update}, headers={SECRET_HEADER: secret},
                                       timeout=aiohttp.ClientTimeout(total=30)) as response:
                status = response.status
        except (aiohttp.ClientError, TimeoutError):
            pass
        self.webhook_deliveries.append((update["message"]["message_id"], status))
        self._last_activity = time.monotonic()
        self._notify()

    # ------------------------------------------------------------------ HTTP plumbing
    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def _wait_change(self, timeout: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._changed.wait(), timeout)

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closing.wait(), seconds)

    async def _params(self, request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        if request.can_read_body:
            if request.content_type == "application/json":
                try:
                    body = await request.json()
                except ValueError:
                    raise _Failure(400, "Bad request: body is not JSON") from None
                if not isinstance(body, dict):
                    raise _Failure(400, "Bad request: body is not a JSON object")
                params.update(body)
            else:
                params.update({k: v for k, v in (await request.post()).items() if isinstance(v, str)})
        return params

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        polling = method == "getUpdates"
        self.polls_started += polling
        call = Call(method, {}, time.monotonic())
        self._inflight += int(not polling)
        self._last_activity = time.monotonic()
        try:
            if request.match_info["token"] != self.token:
                raise _Failure(401)
            if method not in METHODS:  # names are case-sensitive
                raise _Failure(400, f"Bad request: unknown API {method}")
            call.params = await self._params(request)
            self._validate(method, call.params)
            if (wait := self._delays.get(method, self._delays.get("*"))) is not None:
                await self._sleep(wait)
            if fault := self._take_fault(method):
                proxy = await self._apply_fault(fault)
                if proxy is not None:
                    call.status, call.description = 502, "proxy"
                    return proxy
            call.result = await self._dispatch(method, call, request)
            body: dict[str, Any] = {"ok": True} if call.result is None else {"ok": True, "result": call.result}
            status = 200
        except _Failure as failure:
            call.status, call.description = failure.code, failure.description
            if failure.record:
                self.errors.append(ApiError(method, failure.description))
            body = {"ok": False, "error_code": failure.code, "description": failure.description}
            status = failure.code if self.http_status else 200
        finally:
            self._inflight -= int(not polling)
            self._last_activity = time.monotonic()
            self.calls.append(call)
            if call.ok and method in MESSAGE_METHODS and call.chat_id is not None:
                self._by_chat.setdefault(call.chat_id, []).append(call)
            self._notify()
        return web.json_response(body, status=status)

    async def _apply_fault(self, fault: _Fault) -> web.Response | None:
        if fault.status == "timeout":
            await self._sleep(75 if fault.delay is None else fault.delay)
            if fault.deliver and not self._closing.is_set():
                return None
            raise _Failure(408, record=False)
        if fault.status == "proxy":
            return web.Response(status=502, text="<html><body>502 Bad Gateway</body></html>", content_type="text/html")
        raise _Failure(fault.status, record=False)

    def _validate(self, method: str, params: dict[str, Any]) -> None:
        spec = METHODS[method]
        for name, (required, types) in spec.items():
            value = params.get(name)
            if value is None or value == "":
                if required:
                    raise _Failure(400, f"Bad request: {name} is required")
                continue
            if not isinstance(value, types) or isinstance(value, bool):
                raise _Failure(400, f"Bad request: {name} must be {' or '.join(t.__name__ for t in types)}")
        self.warnings += [ApiError(method, f"unknown field {k!r}") for k in sorted(params.keys() - spec.keys())]
        for name in ("text", "caption"):
            if name in params and isinstance(params[name], str):
                if not params[name].strip():
                    raise _Failure(400, f"Bad request: {name} is empty")
                if utf16_len(params[name]) > TEXT_LIMIT:
                    raise _Failure(400, f"Bad request: {name} is longer than {TEXT_LIMIT} characters")
        if params.get("parse_mode") not in (None, "markdown", "html"):
            raise _Failure(400, "Bad request: parse_mode must be markdown or html")
        if method == "sendChatAction" and params["action"] not in ("typing", "upload_photo"):
            raise _Failure(400, "Bad request: action must be typing")
        if method == "setWebhook":
            if not 8 <= len(params["secret_token"]) <= 256:
                raise _Failure(400, "Bad request: secret_token must be 8-256 characters")
            if not params["url"].startswith(("https://", "http://")):  # real Zalo wants public HTTPS; tests use loopback
                raise _Failure(400, "Bad request: url must be an HTTPS URL")
        if method == "getUpdates" and "timeout" in params:
            try:
                int(params["timeout"])
            except ValueError:
                raise _Failure(400, "Bad request: timeout must be a number of seconds") from None

    async def _dispatch(self, method: str, call: Call, request: web.Request) -> Any:
        p = call.params
        if method == "getMe":
            return dict(self.bot)
        if method == "getUpdates":
            return await self._get_update(int(p.get("timeout", 30)), request)
        if method == "setWebhook":
            self._webhook, self._webhook_updated = (p["url"], p["secret_token"]), int(self.clock() * 1000)
            return {"url": p["url"], "updated_at": self._webhook_updated}
        if method == "deleteWebhook":
            self._webhook, self._webhook_updated = None, int(self.clock() * 1000)
            return {"url": "", "updated_at": self._webhook_updated}
        if method == "getWebhookInfo":
            return {"url": self._webhook[0] if self._webhook else "", "updated_at": self._webhook_updated}
        if method == "sendChatAction":
            return None  # documented answer: {"ok": true}
        if method == "sendPhoto":
            call.photo_bytes = await self._fetch_photo(p["photo"])
        return {"message_id": hashlib.sha1(f"s{next(self._ids)}".encode()).hexdigest()[:20], "date": int(self.clock() * 1000)}

    async def _get_update(self, timeout: int, request: web.Request) -> dict[str, Any]:
        """One update, or 408 after `timeout` s. The docs describe no offset and no confirmation:
        an update is gone once handed out. An update is not handed to a caller that hung up."""
        if self._webhook is not None:  # the docs: getUpdates does not work while a webhook is set
            raise _Failure(400, "Bad request: a webhook is set; call deleteWebhook to use getUpdates")
        deadline = time.monotonic() + timeout
        while not self._closing.is_set():
            gone = request.transport is None or request.transport.is_closing()
            if gone:
                raise _Failure(408, record=False)
            if self._queue:
                return self._queue.pop(0)
            if (remaining := deadline - time.monotonic()) <= 0:
                break
            await self._wait_change(min(remaining, 0.5))
        raise _Failure(408, record=False)

    async def _fetch_photo(self, url: str) -> bytes:
        """Zalo downloads the photo from its URL: it must answer 200 with an image."""
        if not url.startswith(("http://", "https://")):
            raise _Failure(400, "Bad request: photo must be a URL")
        assert self._http is not None
        try:
            async with self._http.get(url, timeout=aiohttp.ClientTimeout(total=10)) as response:
                data = await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError):
            raise _Failure(400, "Bad request: photo URL unreachable") from None
        if status != 200 or not data.startswith(IMAGE_MAGIC):
            raise _Failure(400, f"Bad request: photo URL answered {status} without an image")
        return data


def update_body(update: dict[str, Any]) -> bytes:
    """A webhook body as Zalo sends it, for tests that POST by hand."""
    return json.dumps({"ok": True, "result": update}).encode()
