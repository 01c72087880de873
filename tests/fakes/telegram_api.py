"""A fake Telegram Bot API server on 127.0.0.1 for driving the real bot libraries in tests.

Every request is validated against the machine-readable Bot API (``api.json``, see
``TELEGRAM_BOT_API_JSON``): unknown method -> 404, missing/ill-typed field -> 400, plus the limits
that only live in the prose (text length, callback_data bytes, getUpdates limit, ...). Failures
are recorded in ``FakeTelegramAPI.errors`` so a test can assert the bot never sent a bad request.

    async with FakeTelegramAPI(token="123:ABC") as api:
        bot = telegram.Bot("123:ABC", base_url=f"{api.base_url}/bot")
        api.push_text(42, "/start")
        ...
        await api.wait_for_sent(1)
        assert api.sent_to(42)[0].text == "..." and not api.errors
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import copy
import hashlib
import json
import os
import random
import re
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Literal

import orjson
from aiohttp import web

API_JSON = Path(os.environ.get("TELEGRAM_BOT_API_JSON", "/work/shared/telegram-bot-api/api.json"))
BOT_USERNAME = "chungtay_test_bot"
BOT_FIRST_NAME = "Chung Tay (test)"

_SCALARS = frozenset({"String", "Integer", "Float", "Boolean", "True"})
_INT = re.compile(r"[+-]?\d+")
_BOOLS = {"true": True, "false": False, "1": True, "0": False}
_DISCRIMINATOR = re.compile(r'(?:must be|always) "?([a-z0-9_]+)"?')
_ATTACH = re.compile(r"attach://([\w.-]+)")
_BUTTON_PLAIN_FIELDS = frozenset({"text", "icon_custom_emoji_id", "style"})
_HTML_TAGS = frozenset(
    {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a",
     "code", "pre", "blockquote", "tg-emoji", "tg-time"}
)
_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
_DEFAULT_EXCLUDED_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
_FAULT_TEXT = {
    400: "Bad Request: injected failure",
    403: "Forbidden: bot was blocked by the user",
    500: "Internal Server Error",
    502: "Bad Gateway",
    504: "Gateway Timeout",
}


def utf16_len(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


@lru_cache(maxsize=4)
def load_spec(path: Path = API_JSON) -> dict[str, Any]:
    """The parsed api.json (cached)."""
    return json.loads(path.read_text(encoding="utf-8"))


@dataclass
class UploadedFile:
    """A file part of a multipart request."""

    filename: str | None
    content_type: str
    data: bytes = field(repr=False)

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass
class Call:
    """One request the bot made: decoded params, arrival time (monotonic), HTTP status, result."""

    method: str
    params: dict[str, Any]
    time: float
    status: int = 200
    result: Any = None
    description: str = ""

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def chat_id(self) -> int | str | None:
        return self.params.get("chat_id")

    @property
    def text(self) -> str | None:
        text = self.params.get("text")
        return text if text is not None else self.params.get("caption")

    @property
    def message_id(self) -> int | None:
        if isinstance(self.result, dict) and "message_id" in self.result:
            return self.result["message_id"]
        return self.params.get("message_id")

    @property
    def buttons(self) -> list[dict[str, Any]]:
        """The inline keyboard buttons, flattened row by row."""
        markup = self.params.get("reply_markup") or {}
        return [b for row in markup.get("inline_keyboard", []) for b in row]


@dataclass(frozen=True)
class ApiError:
    """A request the fake rejected as the real Bot API would."""

    method: str
    reason: str


@dataclass
class _Fault:
    status: int | str
    retry_after: int = 1
    delay: float | None = None
    deliver: bool = False


@dataclass
class _Ratio:
    ratio: float
    fault: _Fault
    rng: random.Random


@dataclass
class _Pending:
    update: dict[str, Any]
    forced: bool = False
    delivered: bool = False
    update_id: int = field(init=False)  # read for every queued update on every getUpdates: kept, not looked up

    def __post_init__(self) -> None:
        self.update_id = self.update["update_id"]

    @property
    def kind(self) -> str:
        return next((k for k in self.update if k != "update_id"), "")


class _ApiFailure(Exception):
    def __init__(self, status: int, description: str, *, parameters: dict[str, Any] | None = None,
                 record: bool = True) -> None:
        super().__init__(description)
        self.status, self.description = status, description
        self.parameters, self.record = parameters, record


def _bad(description: str) -> _ApiFailure:
    return _ApiFailure(400, f"Bad Request: {description}")


class _Mismatch(Exception):
    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.depth: float = path.count(".") + path.count("[")


class Schema:
    """Validates and decodes method parameters and objects against api.json."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.version: str = spec["version"]
        self.types: dict[str, Any] = spec["types"]
        self.methods: dict[str, Any] = {name.lower(): m for name, m in spec["methods"].items()}
        # JSON-serialized parameters repeat (the same keyboard to a thousand chats in a bench):
        # each distinct (type, text) is decoded and checked once. Results are never mutated.
        self._checked: dict[tuple[str, str], Any] = {}

    def method(self, name: str) -> dict[str, Any] | None:
        """Method spec; method names are case-insensitive as on the real server."""
        return self.methods.get(name.lower())

    def problem(self, value: Any, type_name: str) -> str | None:
        """Why a decoded JSON value is not a valid ``type_name``, or None."""
        try:
            self._native(value, type_name, type_name, {})
        except _Mismatch as e:
            return str(e)
        return None

    def parse(self, method: dict[str, Any], raw: dict[str, str], files: dict[str, UploadedFile]
              ) -> tuple[dict[str, Any], list[str]]:
        """Typed params from string params and file parts, plus warnings (unknown fields)."""
        fields = {f["name"]: f for f in method.get("fields", [])}
        used = {ref for v in raw.values() for ref in _ATTACH.findall(v)}
        params: dict[str, Any] = {}
        for name, spec in fields.items():
            value: str | UploadedFile | None = raw.get(name)
            if value is None and name in files and "InputFile" in spec["types"]:
                value = files[name]
                used.add(name)
            if value is None or value == "":
                if spec["required"]:
                    raise _bad("message text is empty" if name == "text" else f"{name} is empty")
                continue
            params[name] = self._top(value, spec["types"], name, files)
        warnings = [f"unknown field {k!r}" for k in sorted(raw.keys() - fields.keys())]
        warnings += [f"unused file part {k!r}" for k in sorted(files.keys() - used)]
        params.update({k: raw[k] for k in raw.keys() - fields.keys()})
        return params, warnings

    def _top(self, value: str | UploadedFile, types: list[str], name: str,
             files: dict[str, UploadedFile]) -> Any:
        misses: list[_Mismatch] = []
        for t in types:
            try:
                return self._top_one(value, t, name, files)
            except _Mismatch as e:
                misses.append(e)
        best = max(misses, key=lambda m: m.depth)
        if best.depth == 0:
            raise _bad(f'field "{name}" must be of type {" or ".join(types)}')
        raise _bad(f"can't parse {name}: {best}")

    def _top_one(self, value: str | UploadedFile, t: str, name: str,
                 files: dict[str, UploadedFile]) -> Any:
        if isinstance(value, UploadedFile):
            if t == "InputFile":
                return value
            raise _Mismatch(name, "unexpected file upload")
        if t == "InputFile":
            ref = value.removeprefix("attach://")
            if value.startswith("attach://") and ref in files:
                return files[ref]
            raise _Mismatch(name, "expected an uploaded file")
        if t in _SCALARS:
            return self._scalar(value, t, name)
        if (t, value) in self._checked:
            return self._checked[t, value]
        try:
            decoded = orjson.loads(value)
        except ValueError:
            raise _Mismatch(name, f"can't parse JSON-serialized {t}") from None
        result = self._native(decoded, t, name, files)
        if not files and "attach://" not in value:
            if len(self._checked) >= 10_000:
                self._checked.clear()
            self._checked[t, value] = result
        return result

    @staticmethod
    def _scalar(value: Any, t: str, path: str) -> Any:
        is_num = isinstance(value, int | float) and not isinstance(value, bool)
        if t == "String" and isinstance(value, str):
            return value
        if t == "Integer":
            if is_num and float(value).is_integer():
                return int(value)
            if isinstance(value, str) and _INT.fullmatch(value.strip()):
                return int(value)
        if t == "Float":
            if is_num:
                return float(value)
            with contextlib.suppress(ValueError):
                if isinstance(value, str):
                    return float(value)
        if t in ("Boolean", "True"):
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lower() in _BOOLS:
                return _BOOLS[value.lower()]
        raise _Mismatch(path, f"must be of type {t}")

    def _any(self, value: Any, types: list[str], path: str, files: dict[str, UploadedFile]) -> Any:
        misses: list[_Mismatch] = []
        for t in types:
            try:
                return self._native(value, t, path, files)
            except _Mismatch as e:
                misses.append(e)
        raise max(misses, key=lambda m: m.depth)

    def _native(self, value: Any, t: str, path: str, files: dict[str, UploadedFile]) -> Any:
        if t.startswith("Array of "):
            if not isinstance(value, list):
                raise _Mismatch(path, f"must be an {t}")
            return [self._native(v, t[9:], f"{path}[{i}]", files) for i, v in enumerate(value)]
        if t in _SCALARS:
            return self._scalar(value, t, path)
        if t == "InputFile":
            if isinstance(value, str):
                return value
            raise _Mismatch(path, "must be a file reference")
        spec = self.types[t]
        if "subtypes" in spec:
            return self._any(value, spec["subtypes"], path, files)
        if not isinstance(value, dict):
            raise _Mismatch(path, f"must be a {t} object")
        out = dict(value)
        for f in spec.get("fields", []):
            name, sub = f["name"], f"{path}.{f['name']}"
            if value.get(name) is None:
                if f["required"]:
                    raise _Mismatch(sub, f"field required in {t}")
                continue
            tag = _DISCRIMINATOR.search(f["description"]) if name == "type" else None
            if tag and "subtype_of" in spec and value[name] != tag.group(1):
                miss = _Mismatch(sub, f"must be {tag.group(1)!r} for {t}")
                miss.depth -= 0.5  # a wrong subtype is a weaker explanation than a bad field
                raise miss
            out[name] = self._any(value[name], f["types"], sub, files)
        return out


class _HtmlText(HTMLParser):
    """Telegram's HTML subset: collects the visible text and the first parse error."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.stack: list[str] = []
        self.error: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _HTML_TAGS or (tag == "span" and ("class", "tg-spoiler") not in attrs):
            self.error = self.error or f'Unsupported start tag "{tag}"'
        self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.error = self.error or f'Unsupported start tag "{tag}"'

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.error = self.error or f'Unmatched end tag "{tag}"'
        else:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def _markdown_v2_text(text: str) -> str:
    """Visible text of MarkdownV2; raises on the classic unescaped reserved characters."""
    out: list[str] = []
    i, in_code, in_url = 0, False, False
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
            continue
        if c == "`":
            in_code = not in_code
        elif in_code:
            out.append(c)
        elif in_url:
            in_url = c != ")"
        elif c == "]" and text.startswith("(", i + 1):
            in_url, i = True, i + 1
        elif (c in "#+-={}.!()" and not (c == "!" and text.startswith("[", i + 1))) or (
            c == ">" and i > 0 and text[i - 1] != "\n"
        ):
            raise _bad(f"can't parse entities: Character '{c}' is reserved and must be escaped "
                       "with the preceding '\\'")
        elif c not in "_*~|[]>":
            out.append(c)
        i += 1
    return "".join(out)


def visible_text(text: str, parse_mode: str | None) -> str:
    """The text the user sees after entity parsing (raises _ApiFailure on a parse error)."""
    mode = (parse_mode or "").lower()
    if mode == "html":
        parser = _HtmlText()
        parser.feed(text)
        parser.close()
        if parser.error is None and parser.stack:
            parser.error = f'Can\'t find end tag corresponding to start tag "{parser.stack[-1]}"'
        if parser.error:
            raise _bad(f"can't parse entities: {parser.error}")
        return "".join(parser.parts)
    if mode == "markdownv2":
        return _markdown_v2_text(text)
    if mode == "markdown":
        return re.sub(r"[*_`\[]", "", text)
    if mode:
        raise _bad(f"unsupported parse_mode {parse_mode!r}")
    return text


def _unique_id(file_id: str) -> str:
    return "AQAD" + hashlib.sha1(file_id.encode()).hexdigest()[:12]


async def serve_forever(port: int, token: str, enforce: bool) -> None:
    """`python -m tests.fakes.telegram_api PORT TOKEN [--enforce]`: the server in its own process."""
    async with FakeTelegramAPI(token=token, port=port) as api:
        if enforce:
            api.enforce_limits()
        print(api.base_url, flush=True)
        await asyncio.Event().wait()


class FakeTelegramAPI:
    """An aiohttp Bot API server validating against api.json; use as an async context manager."""

    def __init__(self, token: str = "123:ABC", *, spec_path: Path = API_JSON,
                 clock: Callable[[], float] = time.time, port: int = 0) -> None:
        """``clock`` gives the Unix time used for message dates (e.g. a test's fake clock)."""
        self.token = token
        self.port = port
        self.clock = clock
        self.bot_id = int(token.split(":", 1)[0])
        self.schema = Schema(load_spec(spec_path))
        self.calls: list[Call] = []
        self._by_chat: dict[int | str, list[Call]] = {}
        self.listeners: list[Callable[[Call], None]] = []  # told of every recorded call (benches)
        self.polls_started = 0  # getUpdates requests received (a long poll is recorded at its end)
        self.errors: list[ApiError] = []
        self.warnings: list[ApiError] = []
        self.files: dict[str, bytes] = {}
        self.base_url = ""
        self._message_methods = frozenset(
            m["name"] for m in self.schema.methods.values()
            if m["name"].startswith("send") and m["returns"] in (["Message"], ["Array of Message"])
        ) | {"editMessageText", "editMessageCaption"}
        self._file_paths: dict[str, str] = {}
        self._queue: list[_Pending] = []
        self._history: dict[int, dict[str, Any]] = {}
        self._next_update_id = 700_000_001
        self._users: dict[int, dict[str, Any]] = {}
        self._chats: dict[int, dict[str, Any]] = {}
        self._last_mid: dict[int, int] = {}
        self._messages: dict[tuple[int, int], dict[str, Any]] = {}
        self._open_callbacks: set[str] = set()
        self._callback_seq = 0
        self._blocked: set[int] = set()
        self._faults: dict[str, list[_Fault]] = {}
        self._ratios: dict[str, _Ratio] = {}
        self._delays: dict[str, float] = {}
        self._flood: tuple[int, float] | None = None
        self._recent: collections.deque[float] = collections.deque()
        self._last_to_chat: dict[Any, float] = {}
        self._allowed: frozenset[str] | None = None
        self._webhook_url = ""
        self._webhook_secret: str | None = None
        self._webhook_gate = asyncio.Semaphore(40)
        self._deliveries: set[asyncio.Future[None]] = set()
        self._http: Any = None
        self._commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._poll_gen = 0
        self._inflight = 0
        self._last_activity = time.monotonic()
        self._changed = asyncio.Event()
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.bot_user: dict[str, Any] = {
            "id": self.bot_id, "is_bot": True, "first_name": BOT_FIRST_NAME, "username": BOT_USERNAME,
        }

    # ------------------------------------------------------------------ lifecycle
    async def __aenter__(self) -> FakeTelegramAPI:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        app.router.add_get("/__stats", self._stats)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", self.port))
        await web.SockSite(self._runner, sock).start()
        self.base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._closing.set()
        self._notify()
        for task in list(self._deliveries):
            task.cancel()
        if self._http is not None:
            await self._http.close()
        if self._runner is not None:
            await self._runner.cleanup()

    # ------------------------------------------------------------------ inspection
    @property
    def sent(self) -> list[Call]:
        """Successful calls, except read-only ``get*`` methods (getUpdates, getMe, ...)."""
        return [c for c in self.calls if c.ok and not c.method.startswith("get")]

    @property
    def messages(self) -> list[Call]:
        """Successful send*/editMessageText/editMessageCaption calls, in order."""
        return [c for c in self.calls if c.ok and c.method in self._message_methods]

    def sent_to(self, chat_id: int | str) -> list[Call]:
        """Messages sent to or edited in one chat, in order."""
        return list(self._by_chat.get(chat_id, ()))

    @property
    def pending_updates(self) -> list[int]:
        """Ids of updates not yet confirmed by the bot."""
        return [p.update_id for p in self._queue]

    async def wait_for_sent(self, n: int, timeout: float = 10, *, chat_id: int | None = None
                            ) -> list[Call]:
        """Wait until at least ``n`` messages (see ``messages``) were sent, optionally to one chat."""
        deadline = time.monotonic() + timeout
        while True:
            got = self.messages if chat_id is None else self.sent_to(chat_id)
            if len(got) >= n:
                return got
            if (remaining := deadline - time.monotonic()) <= 0:
                raise TimeoutError(f"expected {n} messages, got {len(got)}: "
                                   f"{[c.text for c in got]}; errors={self.errors}")
            await self._wait_change(remaining)

    async def wait_idle(self, timeout: float = 10, settle: float = 0.1) -> None:
        """Wait until every update is confirmed and no request is running for ``settle`` s."""
        deadline = time.monotonic() + timeout
        while True:
            now = time.monotonic()
            quiet = now - self._last_activity
            if not self._queue and not self._inflight and quiet >= settle:
                return
            if now >= deadline:
                raise TimeoutError(f"not idle: pending updates {self.pending_updates}, "
                                   f"{self._inflight} requests in progress")
            await self._wait_change(min(deadline - now, max(settle - quiet, 0.01)))

    # ------------------------------------------------------------------ fault injection
    def fail_next(self, method: str, status: int | Literal["timeout"] = 429, retry_after: int = 1,
                  count: int = 1, *, delay: float | None = None, deliver: bool = False) -> None:
        """Fail the next ``count`` calls of ``method`` ("*" = any): 429 with retry_after, 500, ...

        ``"timeout"`` holds the request for ``delay`` seconds (default 75, longer than the clients'
        timeouts) then answers 504, or processes it normally if ``deliver`` (the message got
        through but the bot never saw the answer).
        """
        fault = _Fault(status, retry_after, delay, deliver)
        self._faults.setdefault(self._canon(method), []).extend([fault] * count)

    def fail_ratio(self, method: str, ratio: float, status: int | Literal["timeout"] = 429,
                   retry_after: int = 0, seed: int = 0, delay: float | None = None) -> None:
        """Fail a deterministic pseudo-random ``ratio`` of the calls to ``method``; a "timeout"
        answers 504 after ``delay`` seconds (75 by default), the message not delivered."""
        self._ratios[self._canon(method)] = _Ratio(ratio, _Fault(status, retry_after, delay),
                                                   random.Random(seed))

    def enforce_limits(self, per_second: int = 30, per_chat_interval: float = 1.0) -> None:
        """Answer 429 like Telegram's flood control: more than `per_second` messages in any one
        second, or two messages to one chat closer than `per_chat_interval` seconds."""
        self._flood = (per_second, per_chat_interval)

    def _enforce_flood_limits(self, method: str, params: dict[str, Any]) -> None:
        if self._flood is None or method not in self._message_methods:
            return
        per_second, interval = self._flood
        now = time.monotonic()
        while self._recent and self._recent[0] <= now - 1.0:
            self._recent.popleft()
        chat = params.get("chat_id")
        too_fast = chat in self._last_to_chat and now - self._last_to_chat[chat] < interval
        if len(self._recent) >= per_second or too_fast:
            raise _ApiFailure(429, "Too Many Requests: retry after 1", parameters={"retry_after": 1}, record=False)
        self._recent.append(now)
        self._last_to_chat[chat] = now

    def delay(self, method: str, seconds: float) -> None:
        """Answer calls to ``method`` ("*" = any) only after ``seconds``."""
        self._delays[self._canon(method)] = seconds

    def block(self, user_id: int) -> None:
        """The user blocked the bot: sends to them answer 403 Forbidden."""
        self._blocked.add(user_id)

    def unblock(self, user_id: int) -> None:
        self._blocked.discard(user_id)

    def _canon(self, method: str) -> str:
        if method == "*":
            return method
        spec = self.schema.method(method)
        if spec is None:
            raise ValueError(f"unknown Bot API method {method!r}")
        return spec["name"]

    def _take_fault(self, method: str) -> _Fault | None:
        for key in (method, "*"):
            if self._faults.get(key):
                return self._faults[key].pop(0)
        for key in (method, "*"):
            r = self._ratios.get(key)
            if r and r.rng.random() < r.ratio:
                return r.fault
        return None

    # ------------------------------------------------------------------ updates
    def push_raw(self, update: dict[str, Any]) -> int:
        """Queue any update (validated against the Update type); assigns update_id if missing."""
        update = copy.deepcopy(update)
        update.setdefault("update_id", self._next_update_id)
        if problem := self.schema.problem(update, "Update"):
            raise ValueError(f"invalid update: {problem}")
        return self._queue_update(update)

    def _queue_update(self, update: dict[str, Any]) -> int:
        update.setdefault("update_id", self._next_update_id)
        self._next_update_id = max(self._next_update_id, update["update_id"] + 1)
        msg = update.get("message") or update.get("edited_message")
        if msg:
            chat_id = msg["chat"]["id"]
            self._messages[(chat_id, msg["message_id"])] = msg
            self._last_mid[chat_id] = max(self._last_mid.get(chat_id, 0), msg["message_id"])
            self._chats.setdefault(chat_id, msg["chat"])
        if "callback_query" in update:
            self._open_callbacks.add(update["callback_query"]["id"])
        self._history[update["update_id"]] = update
        pending = _Pending(update)
        allowed = self._allowed is None and pending.kind not in _DEFAULT_EXCLUDED_UPDATES
        if allowed or (self._allowed is not None and pending.kind in self._allowed):
            self._queue.append(pending)
            if self._webhook_url:
                task = asyncio.ensure_future(self._post_update(pending))
                self._deliveries.add(task)
                task.add_done_callback(self._deliveries.discard)
        else:  # like Telegram, which does not even create updates the bot did not ask for
            self.warnings.append(ApiError("push_raw", f"{pending.kind} update "
                                          f"{update['update_id']} dropped: not in allowed_updates"))
        self._notify()
        return update["update_id"]

    def redeliver(self, update_id: int) -> None:
        """Deliver an update again with the same id, as after a lost confirmation."""
        update = self._history[update_id]
        self._queue = [p for p in self._queue if p.update_id != update_id]
        front = sum(1 for p in self._queue if p.forced)
        self._queue.insert(front, _Pending(copy.deepcopy(update), forced=True))
        if "callback_query" in update:
            self._open_callbacks.add(update["callback_query"]["id"])
        self._notify()

    def push_text(self, user_id: int, text: str, *, language_code: str = "vi",
                  first_name: str | None = None, username: str | None = None) -> int:
        """A private text message; "/command" text gets a bot_command entity."""
        content: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            content["entities"] = [{"type": "bot_command", "offset": 0,
                                    "length": utf16_len(command)}]
        user = self._user(user_id, first_name, language_code, username)
        return self._push_message(user, content)

    def push_contact(self, user_id: int, phone: str) -> int:
        """The user shares their own contact (request_contact button)."""
        user = self._user(user_id)
        contact = {"phone_number": phone, "first_name": user["first_name"], "user_id": user_id}
        return self._push_message(user, {"contact": contact})

    def push_photo(self, user_id: int, file_id: str = "AgACAgIAAxkBAAIBPhotoTest",
                   *, caption: str | None = None, data: bytes = b"\xff\xd8\xff\xe0fake-jpeg") -> int:
        """A photo message (three PhotoSizes, the largest with ``file_id``)."""
        content: dict[str, Any] = {"photo": self._photo_sizes(file_id, data)}
        if caption is not None:
            content["caption"] = caption
        return self._push_message(self._user(user_id), content)

    def push_location(self, user_id: int, lat: float, lon: float) -> int:
        return self._push_message(self._user(user_id),
                                  {"location": {"latitude": lat, "longitude": lon}})

    def push_callback(self, user_id: int, data: str, *, message_id: int | None = None,
                      check: bool = True) -> int:
        """A button press on a bot message in the user's chat.

        By default the latest bot message there; with ``check`` (default) the latest one that
        carries a button with this callback_data, and it is an error if there is none.
        """
        def has_button(m: dict[str, Any]) -> bool:
            rows = (m.get("reply_markup") or {}).get("inline_keyboard", [])
            return data in [b.get("callback_data") for row in rows for b in row]

        own = [m for (chat, _), m in self._messages.items()
               if chat == user_id and m.get("from", {}).get("id") == self.bot_id
               and message_id in (None, m["message_id"]) and (not check or has_button(m))]
        if not own:
            raise ValueError(f"no bot message {message_id or ''} in chat {user_id} "
                             + (f"with a button {data!r}" if check else ""))
        msg = max(own, key=lambda m: m["message_id"])
        self._callback_seq += 1
        query = {"id": str(4_000_000_000_000_000_000 + self._callback_seq),
                 "from": self._user(user_id), "message": copy.deepcopy(msg),
                 "chat_instance": str(-8_000_000_000_000_000_000 - user_id), "data": data}
        return self.push_raw({"callback_query": query})

    def add_file(self, file_id: str, data: bytes = b"fake", path: str | None = None) -> None:
        """Make a file_id known to getFile/send*/downloads."""
        self.files[file_id] = data
        self._file_paths[file_id] = path or f"documents/file_{len(self._file_paths)}"

    def _user(self, user_id: int, first_name: str | None = None, language_code: str | None = None,
              username: str | None = None) -> dict[str, Any]:
        user = self._users.setdefault(user_id, {"id": user_id, "is_bot": False,
                                                "first_name": f"Người dùng {user_id}",
                                                "language_code": "vi"})
        updates = {"first_name": first_name, "language_code": language_code, "username": username}
        user.update({k: v for k, v in updates.items() if v is not None})
        chat = {"id": user_id, "type": "private", "first_name": user["first_name"]}
        if "username" in user:
            chat["username"] = user["username"]
        self._chats[user_id] = chat
        return dict(user)

    def _push_message(self, user: dict[str, Any], content: dict[str, Any]) -> int:
        chat = dict(self._chats[user["id"]])
        msg = {"message_id": self._next_mid(chat["id"]), "from": user, "chat": chat,
               "date": self._now(), **content}
        return self._queue_update({"message": msg})  # built here from valid parts: no copy, no check

    def _now(self) -> int:
        return int(self.clock())

    def _next_mid(self, chat_id: int) -> int:
        self._last_mid[chat_id] = self._last_mid.get(chat_id, 0) + 1
        return self._last_mid[chat_id]

    def _photo_sizes(self, file_id: str, data: bytes) -> list[dict[str, Any]]:
        sizes = []
        for i, (w, h) in enumerate([(90, 68), (320, 240), (1280, 960)]):
            fid = file_id if i == 2 else f"{file_id}-{w}"
            if fid not in self.files:
                self.add_file(fid, data, f"photos/file_{len(self._file_paths)}.jpg")
            sizes.append({"file_id": fid, "file_unique_id": _unique_id(fid), "width": w,
                          "height": h, "file_size": len(self.files[fid])})
        return sizes

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

    async def _download(self, request: web.Request) -> web.StreamResponse:
        path = request.match_info["path"]
        file_id = next((f for f, p in self._file_paths.items() if p == path), None)
        if request.match_info["token"] != self.token or file_id is None:
            raise web.HTTPNotFound()
        return web.Response(body=self.files[file_id])

    async def _read_params(self, request: web.Request) -> tuple[dict[str, str], dict[str, UploadedFile]]:
        raw: dict[str, str] = dict(request.query)
        files: dict[str, UploadedFile] = {}
        if not request.can_read_body:
            return raw, files
        if request.content_type == "application/json":
            try:
                body = orjson.loads(await request.read())
            except ValueError:
                raise _bad("can't parse JSON object") from None
            if not isinstance(body, dict):
                raise _bad("can't parse JSON object")
            # As the real server does: top-level non-strings are read back as JSON text.
            raw.update({k: v if isinstance(v, str) else orjson.dumps(v).decode()
                        for k, v in body.items() if v is not None})
        else:
            for key, value in (await request.post()).items():
                if isinstance(value, web.FileField):
                    files[key] = UploadedFile(value.filename, value.content_type, value.file.read())
                else:
                    raw[key] = str(value)
        return raw, files

    async def _handle(self, request: web.Request) -> web.Response:
        name = request.match_info["method"]
        spec = self.schema.method(name)
        method = spec["name"] if spec else name
        polling = method == "getUpdates"
        self.polls_started += polling
        call = Call(method, {}, time.monotonic())
        self._inflight += int(not polling)
        self._last_activity = time.monotonic()
        try:
            if request.match_info["token"] != self.token:
                raise _ApiFailure(401, "Unauthorized")
            if spec is None:
                raise _ApiFailure(404, "Not Found")
            raw, files = await self._read_params(request)
            call.params = {**raw, **files}  # kept undecoded if validation fails
            call.params, warnings = self.schema.parse(spec, raw, files)
            self.warnings += [ApiError(method, w) for w in warnings]
            self._check_limits(method, call.params)
            if (wait := self._delays.get(method, self._delays.get("*"))) is not None:
                await self._sleep(wait)
            if fault := self._take_fault(method):
                await self._apply_fault(fault)
            self._enforce_flood_limits(method, call.params)
            call.result = await self._dispatch(method, spec, call.params, request)
            body: dict[str, Any] = {"ok": True, "result": call.result}
            status = 200
        except _ApiFailure as e:
            call.status, call.description = e.status, e.description
            if e.record:
                self.errors.append(ApiError(method, e.description))
            body = {"ok": False, "error_code": e.status, "description": e.description}
            if e.parameters:
                body["parameters"] = e.parameters
            status = e.status
        finally:
            self._inflight -= int(not polling)
            self._last_activity = time.monotonic()
        data = orjson.dumps(body)  # once for the answer, and read back as the recorded call's copy
        call.result = orjson.loads(data).get("result")
        self.calls.append(call)
        if call.ok and call.method in self._message_methods and call.chat_id is not None:
            self._by_chat.setdefault(call.chat_id, []).append(call)
        for listener in self.listeners:
            listener(call)
        self._notify()
        return web.Response(body=data, status=status, content_type="application/json")

    async def _stats(self, _request: web.Request) -> web.Response:
        """For benches that run the server in another process: what it saw."""
        statuses = collections.Counter(str(c.status) for c in self.calls)
        return web.json_response({"calls": len(self.calls), "statuses": statuses, "errors": len(self.errors)})

    async def _apply_fault(self, fault: _Fault) -> None:
        if fault.status == "timeout":
            await self._sleep(75 if fault.delay is None else fault.delay)
            if fault.deliver and not self._closing.is_set():
                return
            raise _ApiFailure(504, _FAULT_TEXT[504], record=False)
        assert isinstance(fault.status, int)
        if fault.status == 429:
            raise _ApiFailure(429, f"Too Many Requests: retry after {fault.retry_after}",
                              parameters={"retry_after": fault.retry_after}, record=False)
        raise _ApiFailure(fault.status, _FAULT_TEXT.get(fault.status, "Injected failure"),
                          record=False)

    # ------------------------------------------------------------------ limits from the prose
    def _check_limits(self, method: str, p: dict[str, Any]) -> None:
        if method in ("sendMessage", "editMessageText"):
            if "text" not in p and "rich_message" not in p:
                raise _bad("message text is empty")
            if "text" in p:
                text = visible_text(p["text"], p.get("parse_mode")).strip()
                if not text:
                    raise _bad("message text is empty")
                if utf16_len(text) > 4096:
                    raise _bad("message is too long")
        if "caption" in p:
            if utf16_len(visible_text(p["caption"], p.get("parse_mode")).strip()) > 1024:
                raise _bad("message caption is too long")
        elif "parse_mode" in p:
            visible_text("", p["parse_mode"])
        for row in (p.get("reply_markup") or {}).get("inline_keyboard", []):
            for button in row:
                if not {k for k, v in button.items() if v is not None} - _BUTTON_PLAIN_FIELDS:
                    raise _bad("can't parse inline keyboard button: Text buttons are unallowed "
                               "in the inline keyboard")
                data = button.get("callback_data")
                if data is not None and not 1 <= len(data.encode()) <= 64:
                    raise _bad("BUTTON_DATA_INVALID")
        if method == "getUpdates" and not 1 <= p.get("limit", 100) <= 100:
            raise _bad("limit must be between 1 and 100")
        if method == "answerCallbackQuery" and utf16_len(p.get("text", "")) > 200:
            raise _bad("MESSAGE_TOO_LONG")
        if method == "setMyCommands":
            if len(p["commands"]) > 100:
                raise _bad("too many commands")
            for c in p["commands"]:
                if not re.fullmatch(r"[a-z0-9_]{1,32}", c["command"]):
                    raise _bad("BOT_COMMAND_INVALID")
                if not 1 <= len(c["description"]) <= 256:
                    raise _bad("BOT_COMMAND_DESCRIPTION_INVALID")

    # ------------------------------------------------------------------ methods
    async def _dispatch(self, method: str, spec: dict[str, Any], p: dict[str, Any],
                        request: web.Request) -> Any:
        if method == "getUpdates":
            return await self._get_updates(p, request)
        handler = getattr(self, f"_m_{method}", None)
        if handler is not None:
            return handler(p)
        if method in self._message_methods and spec["returns"] == ["Message"]:
            return self._send(method, p)
        if spec["returns"] == ["Boolean"]:
            return True
        raise _bad(f"FakeTelegramAPI does not implement {method}")

    async def _get_updates(self, p: dict[str, Any], request: web.Request) -> list[dict[str, Any]]:
        if self._webhook_url:
            raise _ApiFailure(409, "Conflict: can't use getUpdates method while webhook is active; "
                                   "use deleteWebhook to delete the webhook first")
        if "allowed_updates" in p:
            self._allowed = frozenset(p["allowed_updates"]) or None
        offset = p.get("offset", 0)
        if offset > 0:
            self._queue = [q for q in self._queue
                           if q.update_id >= offset or (q.forced and not q.delivered)]
        elif offset < 0:
            self._queue = self._queue[offset:]
        self._poll_gen += 1
        gen = self._poll_gen
        self._notify()
        deadline = time.monotonic() + max(0, p.get("timeout", 0))
        while True:
            batch = self._queue[: p.get("limit", 100)]
            remaining = deadline - time.monotonic()
            if batch or remaining <= 0 or self._closing.is_set():
                break
            await self._wait_change(remaining)
            if self._poll_gen != gen:
                gone = request.transport is None or request.transport.is_closing()
                raise _ApiFailure(409, "Conflict: terminated by other getUpdates request; make "
                                       "sure that only one bot instance is running", record=not gone)
        for q in batch:
            q.delivered = True
        return [q.update for q in batch]  # serialized at once; the recorded call gets a copy

    def _m_getMe(self, p: dict[str, Any]) -> dict[str, Any]:
        return {**self.bot_user, "can_join_groups": True, "can_read_all_group_messages": False,
                "supports_inline_queries": False, "can_connect_to_business": False,
                "has_main_web_app": False}

    def _m_setWebhook(self, p: dict[str, Any]) -> bool:
        self._webhook_url = p["url"]
        self._webhook_secret = p.get("secret_token")
        self._webhook_gate = asyncio.Semaphore(int(p.get("max_connections") or 40))
        if p.get("drop_pending_updates"):
            self._queue.clear()
        for pending in [q for q in self._queue if not q.delivered]:
            self._deliveries.add(asyncio.ensure_future(self._post_update(pending)))
        return True

    async def _post_update(self, pending: _Pending) -> None:
        """Deliver one update to the webhook as Telegram does: POST, retried until a 2xx."""
        import aiohttp

        headers = {"X-Telegram-Bot-Api-Secret-Token": self._webhook_secret} if self._webhook_secret else {}
        for attempt in range(50):
            if not self._webhook_url or self._closing.is_set():
                return
            try:
                async with self._webhook_gate:
                    if self._http is None or self._http.closed:
                        self._http = aiohttp.ClientSession()
                    async with self._http.post(self._webhook_url, json=pending.update, headers=headers) as response:
                        if 200 <= response.status < 300:
                            pending.delivered = True
                            self._queue = [q for q in self._queue if q is not pending]
                            self._notify()
                            return
            except (aiohttp.ClientError, OSError):
                pass
            await asyncio.sleep(min(0.1 * 2**attempt, 2.0))

    def _m_deleteWebhook(self, p: dict[str, Any]) -> bool:
        self._webhook_url = ""
        if p.get("drop_pending_updates"):
            self._queue.clear()
        return True

    def _m_getWebhookInfo(self, p: dict[str, Any]) -> dict[str, Any]:
        return {"url": self._webhook_url, "has_custom_certificate": False,
                "pending_update_count": len(self._queue)}

    @staticmethod
    def _scope_key(p: dict[str, Any]) -> tuple[str, str]:
        scope = p.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), p.get("language_code", "")

    def _m_setMyCommands(self, p: dict[str, Any]) -> bool:
        self._commands[self._scope_key(p)] = p["commands"]
        return True

    def _m_deleteMyCommands(self, p: dict[str, Any]) -> bool:
        self._commands.pop(self._scope_key(p), None)
        return True

    def _m_getMyCommands(self, p: dict[str, Any]) -> list[dict[str, Any]]:
        return self._commands.get(self._scope_key(p), [])

    def _m_answerCallbackQuery(self, p: dict[str, Any]) -> bool:
        if p["callback_query_id"] not in self._open_callbacks:
            raise _bad("query is too old and response timeout expired or query ID is invalid")
        self._open_callbacks.discard(p["callback_query_id"])
        return True

    def _m_sendChatAction(self, p: dict[str, Any]) -> bool:
        self._chat(p["chat_id"])
        return True

    def _m_getFile(self, p: dict[str, Any]) -> dict[str, Any]:
        fid = p["file_id"]
        if fid not in self.files:
            raise _bad("invalid file_id")
        return {"file_id": fid, "file_unique_id": _unique_id(fid),
                "file_size": len(self.files[fid]), "file_path": self._file_paths[fid]}

    def _m_deleteMessage(self, p: dict[str, Any]) -> bool:
        if self._messages.pop((self._chat(p["chat_id"])["id"], p["message_id"]), None) is None:
            raise _bad("message to delete not found")
        return True

    def _m_editMessageText(self, p: dict[str, Any]) -> dict[str, Any] | bool:
        return self._edit(p, "text")

    def _m_editMessageCaption(self, p: dict[str, Any]) -> dict[str, Any] | bool:
        return self._edit(p, "caption")

    def _m_editMessageReplyMarkup(self, p: dict[str, Any]) -> dict[str, Any] | bool:
        return self._edit(p, None)

    def _chat(self, chat_id: int | str) -> dict[str, Any]:
        if isinstance(chat_id, str):
            found = [c for c in self._chats.values() if f"@{c.get('username')}" == chat_id]
            if not found:
                raise _bad("chat not found")
            chat = found[0]
        elif chat_id in self._chats:
            chat = self._chats[chat_id]
        elif chat_id > 0:
            chat = {"id": chat_id, "type": "private", "first_name": f"Người dùng {chat_id}"}
        else:
            kind = "supergroup" if chat_id < -1_000_000_000_000 else "group"
            chat = {"id": chat_id, "type": kind, "title": f"Test {kind}"}
        if chat["id"] in self._blocked:
            raise _ApiFailure(403, "Forbidden: bot was blocked by the user", record=False)
        return dict(chat)

    def _file_ref(self, value: UploadedFile | str, folder: str, ext: str) -> tuple[str, bytes]:
        if isinstance(value, UploadedFile):
            fid = f"BQAC{hashlib.sha1(value.data).hexdigest()[:20]}{len(self.files)}"
            self.add_file(fid, value.data, f"{folder}/file_{len(self._file_paths)}{ext}")
            return fid, value.data
        if value.startswith(("http://", "https://")):
            fid = f"BQACurl{len(self.files)}"
            self.add_file(fid, b"downloaded", f"{folder}/file_{len(self._file_paths)}{ext}")
            return fid, b"downloaded"
        if value not in self.files:
            raise _bad("wrong file identifier/HTTP URL specified")
        return value, self.files[value]

    def _send(self, method: str, p: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat(p["chat_id"])
        if (reply := p.get("reply_parameters")) and not reply.get("allow_sending_without_reply"):
            target = self._chat(reply["chat_id"])["id"] if "chat_id" in reply else chat["id"]
            if (target, reply["message_id"]) not in self._messages:
                raise _bad("message to be replied not found")
        msg: dict[str, Any] = {"message_id": self._next_mid(chat["id"]),
                               "from": dict(self.bot_user), "chat": chat, "date": self._now()}
        if "text" in p:
            msg["text"] = visible_text(p["text"], p.get("parse_mode")).strip()
        if "caption" in p:
            msg["caption"] = visible_text(p["caption"], p.get("parse_mode")).strip()
        if method == "sendPhoto":
            fid, data = self._file_ref(p["photo"], "photos", ".jpg")
            msg["photo"] = self._photo_sizes(fid, data)
        elif method == "sendDocument":
            fid, data = self._file_ref(p["document"], "documents", "")
            doc = p["document"]
            msg["document"] = {"file_id": fid, "file_unique_id": _unique_id(fid),
                               "file_size": len(data)}
            if isinstance(doc, UploadedFile):
                msg["document"].update(file_name=doc.filename or "document",
                                       mime_type=doc.content_type)
        elif method == "sendLocation":
            msg["location"] = {"latitude": p["latitude"], "longitude": p["longitude"]}
        elif method == "sendContact":
            msg["contact"] = {k: p[k] for k in ("phone_number", "first_name", "last_name")
                              if k in p}
        if "inline_keyboard" in (p.get("reply_markup") or {}):
            msg["reply_markup"] = p["reply_markup"]
        self._messages[(chat["id"], msg["message_id"])] = msg
        return msg  # serialized before anything can change it

    def _edit(self, p: dict[str, Any], field_name: str | None) -> dict[str, Any] | bool:
        if "inline_message_id" in p:
            return True
        if "chat_id" not in p or "message_id" not in p:
            raise _bad("message identifier is not specified")
        msg = self._messages.get((self._chat(p["chat_id"])["id"], p["message_id"]))
        if msg is None:
            raise _bad("message to edit not found")
        if msg.get("from", {}).get("id") != self.bot_id:
            raise _bad("message can't be edited")
        new = dict(msg)
        if field_name is not None:
            if field_name == "text" and "text" not in msg:
                raise _bad("there is no text in the message to edit")
            value = visible_text(p.get(field_name, ""), p.get("parse_mode")).strip()
            new.pop(field_name, None)
            if value:
                new[field_name] = value
        new.pop("reply_markup", None)
        if p.get("reply_markup"):
            new["reply_markup"] = p["reply_markup"]
        if new == msg:
            raise _bad(_NOT_MODIFIED)
        msg.clear()
        msg.update(new, edit_date=self._now())
        return copy.deepcopy(msg)


if __name__ == "__main__":
    import sys

    asyncio.run(serve_forever(int(sys.argv[1]), sys.argv[2], "--enforce" in sys.argv))
