"""Running forms for a chat: feed the engine, save its state, run side effects, show the result.

The engine (conversations/engine.py) decides; this module only loads and saves the state (in the
same transaction as everything else the answer causes) and turns outcomes into Replies.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from bot import i18n
from bot.context import Context
from bot.core import Button, Event, Reply
from bot.i18n import N_, _, t
from conversations import engine
from conversations.engine import Ask, Cancelled, ConfirmCancel, Done, Form, FormState, Summary, Turn
from conversations.fields import Context as FieldContext
from conversations.fields import Input, MultiChoice, Place
from storage import chat_state

log = logging.getLogger(__name__)

Replies = list[Reply]
Finisher = Callable[[Context, FormState, dict[str, Any]], Awaitable[Replies]]
Canceller = Callable[[Context, FormState], Awaitable[Replies]]
Effect = Callable[[Context, FormState], Awaitable[tuple[FormState, Replies]]]


class FormSpec:
    """A form plus what the router does when it ends or triggers something."""

    def __init__(self, form: Form, on_done: Finisher, on_cancel: Canceller, effects: dict[str, Effect]) -> None:
        self.form, self.on_done, self.on_cancel, self.effects = form, on_done, on_cancel, effects


REGISTRY: dict[str, FormSpec] = {}


def register(spec: FormSpec) -> None:
    REGISTRY[spec.form.id] = spec


def field_context(ctx: Context) -> FieldContext:
    return FieldContext(today=ctx.today, translate=_, format_money=i18n.money, format_date=i18n.day)


def open_state(ctx: Context) -> FormState | None:
    if ctx.chat.form and ctx.chat.state and ctx.chat.form in REGISTRY:
        return FormState.from_json(ctx.chat.state)
    return None


def busy(state: FormState) -> Reply:
    """Another form cannot start over an open one: say how to finish or cancel it."""
    return Reply(t(N_("Bạn đang điền «{form}» dở. Hãy trả lời tiếp, hoặc gõ /huy để bỏ rồi làm lại."),
                   form=_(REGISTRY[state.form].form.title)))


def _save(ctx: Context, state: FormState | None) -> None:
    if state is None or state.phase in ("done", "cancelled"):
        chat_state.save_form(ctx.chat, None, None)
    else:
        chat_state.save_form(ctx.chat, state.form, state.to_json())


async def start(ctx: Context, form_id: str, intro: str | None = None, meta: dict[str, Any] | None = None) -> Replies:
    spec = REGISTRY[form_id]
    turn = engine.start(spec.form, field_context(ctx), meta=meta)
    _save(ctx, turn.state)
    replies = [Reply(intro)] if intro else []
    return replies + present(spec.form, turn.state, turn.outcome)


async def resume(ctx: Context, state: FormState, note: str | None = None) -> Replies:
    """Show the question the person was at (after a restart, or when they come back)."""
    spec = REGISTRY[state.form]
    shown = present(spec.form, state, engine.current(spec.form, state, field_context(ctx)))
    if note and shown:  # one message, not two: fewer round trips on a weak connection
        shown[0] = replace(shown[0], text=f"{note}\n{shown[0].text}")
    return shown


async def request_cancel(ctx: Context, state: FormState) -> Replies:
    spec = REGISTRY[state.form]
    new = engine.request_cancel(state)
    _save(ctx, new)
    return present(spec.form, new, ConfirmCancel())


def to_input(event: Event) -> Input:
    return Input(text=event.text, button=event.button, photo=event.photo, contact=event.contact)


async def answer(ctx: Context, state: FormState) -> Replies:
    """One input into the open form; state saved, effects run, next question shown."""
    spec = REGISTRY[state.form]
    turn: Turn = engine.advance(spec.form, state, to_input(ctx.event), field_context(ctx))
    new_state, before = turn.state, []
    for name in turn.effects:
        new_state, effect_replies = await spec.effects[name](ctx, new_state)
        before += effect_replies
    if isinstance(turn.outcome, Done):
        _save(ctx, None)
        return before + await spec.on_done(ctx, new_state, dict(turn.outcome.answers))
    if isinstance(turn.outcome, Cancelled):
        _save(ctx, None)
        return before + await spec.on_cancel(ctx, new_state)
    _save(ctx, new_state)
    shown = present(spec.form, new_state, turn.outcome)
    if _redraws_pressed_menu(ctx, state, turn) and shown:
        shown[0] = replace(shown[0], edit=True)
    return before + shown


def _redraws_pressed_menu(ctx: Context, before: FormState, turn: Turn) -> bool:
    """A tick in a multi-choice or a list of places redraws the menu that was pressed: channels
    that can edit a message do so instead of sending a new one."""
    outcome = turn.outcome
    return (ctx.event.button is not None and isinstance(outcome, Ask) and outcome.error is None
            and before.phase == "ask" and outcome.step.id == before.step and not turn.effects)


# ---- presenting outcomes ------------------------------------------------------------------


def _controls(back: bool = False, skip: bool = False, keep: bool = False, cancel: bool = True) -> list[Button]:
    row = []
    if back:
        row.append(Button(_("⬅️ Quay lại"), "f:back", typed=_("quay lại")))
    if keep:
        row.append(Button(_("↩️ Giữ nguyên"), "f:keep", typed=_("giữ nguyên")))
    if skip:
        row.append(Button(_("⏭ Bỏ qua"), "f:skip", typed=_("bỏ qua")))
    if cancel:
        row.append(Button(_("✖️ Hủy"), "f:cancel", typed="/huy"))
    return row


def _message(msg: tuple[str, Any] | None) -> str | None:
    if msg is None:
        return None
    text, params = msg
    return t(text, **dict(params))


def present(form: Form, state: FormState, outcome: engine.Outcome) -> Replies:
    if isinstance(outcome, Ask):
        return [_present_ask(outcome)]
    if isinstance(outcome, Summary):
        return [_present_summary(form, outcome)]
    if isinstance(outcome, ConfirmCancel):
        lines = [_message(outcome.error)] if outcome.error else []
        lines.append(t(N_("Bạn có chắc muốn hủy «{form}»? Mọi câu trả lời sẽ bị xóa."), form=_(form.title)))
        buttons = ((Button(_("Có, hủy"), "c:yes"), Button(_("Không, làm tiếp"), "c:no")),)
        return [Reply("\n".join(lines), buttons=buttons)]
    return []


def _present_ask(ask: Ask) -> Reply:
    step = ask.step
    lines: list[str] = []
    if ask.error:
        lines.append("⚠️ " + (_message(ask.error) or ""))
    if ask.note:
        lines.append(_message(ask.note) or "")
    args = {k: _(v) for k, v in step.prompt_args.items()}
    lines.append(f"({ask.number}/{ask.total}) " + t(step.prompt, **args))
    if ask.current is not None:
        lines.append(t(N_("Câu trả lời trước: {answer}"), answer=ask.current))
    rows: list[tuple[Button, ...]] = []
    if isinstance(step.field, MultiChoice):
        ticked = set(ask.ticked)
        if ticked:
            lines.append(t(N_("Đã chọn: {n} mục. Chọn đủ thì bấm «Xong» hoặc gõ «xong»."), n=len(ticked)))
        rows += [(Button(("✅ " if o.code in ticked else "") + _(o.label), f"t:{o.code}"),) for o in ask.options]
        controls = [Button(_("✔️ Xong"), "c:done", typed=_("xong")), *_controls(ask.can_back, step.optional, ask.current is not None)]
    elif isinstance(step.field, Place):
        rows += [(Button(o.label, f"p:{o.code}"),) for o in ask.options]
        controls = _controls(ask.can_back, step.optional, ask.current is not None)
    else:
        options = [Button(_(o.label), f"c:{o.code}") for o in ask.options]
        per_row = 2 if all(len(b.label) <= 14 for b in options) else 1
        rows += [tuple(options[i : i + per_row]) for i in range(0, len(options), per_row)]
        controls = _controls(ask.can_back, step.optional, ask.current is not None)
    rows.append(tuple(controls))
    return Reply("\n".join(lines), buttons=tuple(r for r in rows if r))


def step_label(step: engine.Step) -> str:
    """The short name of a step in the person's language, with its arguments filled in."""
    return t(step.label or step.prompt, **{k: _(v) for k, v in step.prompt_args.items()})


def _present_summary(form: Form, summary: Summary) -> Reply:
    lines: list[str] = []
    if summary.error:
        lines.append("⚠️ " + (_message(summary.error) or ""))
    lines.append(t(N_("Kiểm tra lại «{form}» trước khi gửi:"), form=_(form.title)))
    for item in summary.items:
        label = step_label(item.step)
        shown = item.shown if item.shown is not None else _("(bỏ qua)")
        lines.append(f"{item.number}. {label}: {shown}")
    if summary.picking:
        lines.append(_("Chọn mục cần sửa (bấm hoặc gõ số):"))
        rows = [(Button(f"{i.number}. {step_label(i.step)}", f"f:e:{i.number}"),) for i in summary.items]
        rows.append(tuple(_controls(back=True)))
        return Reply("\n".join(lines), buttons=tuple(rows))
    lines.append(_("Gõ «gửi» để gửi, hoặc «sửa» kèm số mục, ví dụ: sửa 3."))
    rows = [
        (Button(_("✅ Gửi"), "f:submit", typed=_("gửi")),),
        (Button(_("✏️ Sửa một mục"), "f:edit", typed=_("sửa <số>")), Button(_("✖️ Hủy"), "f:cancel", typed="/huy")),
    ]
    return Reply("\n".join(lines), buttons=tuple(rows))
