"""The form engine: pure, synchronous, framework-free.

`advance(form, state, input, ctx)` returns the new state and what to show next. Back, skip,
keep, cancel, the summary with "edit field N", and conditional steps come from here, once, for
every form. The caller saves the state (a small JSON document) after every turn, so a restart
or a second worker resumes exactly where the person was.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from conversations.fields import Context, Field, Input, Option, Pending, Value, is_number
from conversations.i18n import N_
from conversations.parsing.errors import ParseError
from conversations.parsing.text import fold

Answers = dict[str, Value]
Message = tuple[str, Mapping[str, object]]  # (message id, params)

BACK_WORDS = frozenset({"quay lai", "back", "tro lai", "lui", "lui lai", "<"})
SKIP_WORDS = frozenset({"bo qua", "skip", "bq"})
KEEP_WORDS = frozenset({"giu nguyen", "giu", "keep"})
SUBMIT_WORDS = frozenset({"gui", "gui bao cao", "send", "submit", "xong", "ok", "dong y", "xac nhan"})
EDIT_WORDS = ("sua", "edit", "chinh", "chinh sua")
CONTROL_TEXT_MAX = 40  # longer than any of the words above, even decomposed and with trailing "!!"


@dataclass(frozen=True)
class Trigger:
    """A side effect the router runs when a step is answered, e.g. the emergency alert."""

    name: str
    when: Callable[[Value], bool] = bool


@dataclass(frozen=True)
class Step:
    """Everything about one answer in one place. `personal=True` means: encrypted at rest,
    never logged, never shown to a donor."""

    id: str
    field: Field
    prompt: str
    label: str | None = None  # short name in the summary; the prompt when absent
    optional: bool = False
    personal: bool = False
    when: Callable[[Answers], bool] | None = None
    then: Trigger | None = None
    prompt_args: Mapping[str, str] = field(default_factory=dict)  # message ids, translated

    def applies(self, answers: Answers) -> bool:
        return self.when is None or bool(self.when(answers))


@dataclass(frozen=True)
class Form:
    id: str
    title: str
    steps: tuple[Step, ...]

    def __post_init__(self) -> None:
        ids = [s.id for s in self.steps]
        if len(ids) != len(set(ids)):
            raise ValueError(f"duplicate step ids in form {self.id}")

    def step(self, step_id: str) -> Step:
        for s in self.steps:
            if s.id == step_id:
                return s
        raise KeyError(step_id)

    def applicable(self, answers: Answers) -> list[Step]:
        return [s for s in self.steps if s.applies(answers)]

    @property
    def personal_fields(self) -> frozenset[str]:
        return frozenset(s.id for s in self.steps if s.personal)


Phase = Literal["ask", "summary", "pick_edit", "confirm_cancel", "done", "cancelled"]


@dataclass(frozen=True)
class FormState:
    """Where one person is in one form. JSON round-trips through to_json/from_json."""

    form: str
    step: str | None
    phase: Phase = "ask"
    answers: Answers = field(default_factory=dict)
    trail: tuple[str, ...] = ()
    pending: dict[str, Value] = field(default_factory=dict)
    editing: bool = False
    before_cancel: Phase = "ask"
    meta: dict[str, Any] = field(default_factory=dict)  # the router's notes (case id, alerts sent)

    def to_json(self) -> dict[str, Any]:
        return {
            "form": self.form, "step": self.step, "phase": self.phase, "answers": self.answers,
            "trail": list(self.trail), "pending": self.pending, "editing": self.editing,
            "before_cancel": self.before_cancel, "meta": self.meta,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FormState:
        return cls(
            form=data["form"], step=data.get("step"), phase=data.get("phase", "ask"),
            answers=dict(data.get("answers", {})), trail=tuple(data.get("trail", ())),
            pending=dict(data.get("pending", {})), editing=bool(data.get("editing", False)),
            before_cancel=data.get("before_cancel", "ask"), meta=dict(data.get("meta", {})),
        )


# ---- what to show next -------------------------------------------------------------------


@dataclass(frozen=True)
class Ask:
    step: Step
    options: tuple[Option, ...]
    ticked: tuple[str, ...] = ()  # multi-choice: already ticked codes
    error: Message | None = None
    note: Message | None = None
    current: str | None = None  # the earlier answer, shown when coming back to a step
    can_back: bool = False
    number: int = 1
    total: int = 1


@dataclass(frozen=True)
class SummaryItem:
    number: int
    step: Step
    shown: str | None  # None: skipped


@dataclass(frozen=True)
class Summary:
    items: tuple[SummaryItem, ...]
    error: Message | None = None
    picking: bool = False  # "which field do you want to change?"


@dataclass(frozen=True)
class ConfirmCancel:
    error: Message | None = None


@dataclass(frozen=True)
class Done:
    answers: Answers


@dataclass(frozen=True)
class Cancelled:
    pass


Outcome = Ask | Summary | ConfirmCancel | Done | Cancelled


@dataclass(frozen=True)
class Turn:
    state: FormState
    outcome: Outcome
    effects: tuple[str, ...] = ()


# ---- the engine --------------------------------------------------------------------------


def start(form: Form, ctx: Context, meta: Mapping[str, Any] | None = None) -> Turn:
    """Open a new form at its first applicable step."""
    first = _next_step(form, {}, after=None)
    state = FormState(form=form.id, step=first.id if first else None, meta=dict(meta or {}))
    if first is None:
        return Turn(replace(state, phase="summary"), _summary(form, state, ctx))
    return Turn(state, _ask(form, state, ctx))


def current(form: Form, state: FormState, ctx: Context) -> Outcome:
    """What to show for a saved state: used to resume after a restart or an interruption."""
    return _show(form, state, ctx)


def request_cancel(state: FormState) -> FormState:
    """Ask 'really cancel?' before throwing answers away."""
    if state.phase == "confirm_cancel":
        return state
    return replace(state, phase="confirm_cancel", before_cancel=state.phase)


def advance(form: Form, state: FormState, inp: Input, ctx: Context) -> Turn:
    """Apply one input to a saved state. Never raises on bad input: it re-asks with a message."""
    if state.phase == "confirm_cancel":
        return _on_confirm_cancel(form, state, inp, ctx)
    if state.phase in ("summary", "pick_edit"):
        return _on_summary(form, state, inp, ctx)
    if state.phase in ("done", "cancelled") or state.step is None:
        return Turn(state, Done(state.answers) if state.phase == "done" else Cancelled())
    return _on_answer(form, state, inp, ctx)


def _control(inp: Input) -> str | None:
    if inp.button is not None and inp.button.startswith("f:"):
        return inp.button[2:]
    if inp.text is not None and len(inp.text.strip()) <= CONTROL_TEXT_MAX:  # an answer is no command word
        folded = fold(inp.text).strip(" .!")
        for name, words in (("back", BACK_WORDS), ("skip", SKIP_WORDS), ("keep", KEEP_WORDS)):
            if folded in words:
                return name
    return None


def _on_answer(form: Form, state: FormState, inp: Input, ctx: Context) -> Turn:
    step = form.step(state.step or "")
    control = _control(inp)
    if control == "cancel":
        new = request_cancel(state)
        return Turn(new, ConfirmCancel())
    if control == "back":
        return _go_back(form, state, ctx)
    if control == "skip":
        if not step.optional:
            return _reask(form, state, ctx, (N_("Câu này cần trả lời, không bỏ qua được."), {}))
        return _accept(form, state, step, None, ctx)
    if control == "keep":
        if step.id not in state.answers:
            return _reask(form, state, ctx, (N_("Câu này chưa có câu trả lời để giữ. Hãy trả lời."), {}))
        return _accept(form, state, step, state.answers[step.id], ctx, keep=True)
    if control is not None:
        return _reask(form, state, ctx, (N_("Nút này không còn dùng được. Hãy chọn lại ở tin nhắn mới nhất."), {}))
    if inp.photo is not None and not step.field.accepts_photo:
        return _reask(form, state, ctx, (N_("Câu này chưa cần ảnh. Hãy trả lời bằng chữ."), {}))
    pending = dict(state.pending)
    try:
        value = step.field.parse(inp, state.answers, pending, ctx)
    except Pending as wait:
        new = replace(state, pending=pending)
        note = (wait.message, wait.params) if wait.message else None
        return Turn(new, _ask(form, new, ctx, note=note))
    except ParseError as bad:
        new = replace(state, pending=pending)
        return Turn(new, _ask(form, new, ctx, error=(bad.message, bad.params)))
    return _accept(form, state, step, value, ctx)


def _accept(form: Form, state: FormState, step: Step, value: Value, ctx: Context, keep: bool = False) -> Turn:
    answers = {**state.answers, step.id: value}
    trail = (*[s for s in state.trail if s != step.id], step.id)
    effects: tuple[str, ...] = ()
    if step.then is not None and value is not None and not keep and step.then.when(value):
        effects = (step.then.name,)
    if state.editing:
        nxt = _first_unanswered(form, answers)
    else:
        nxt = _next_step(form, answers, after=step.id)
    new = replace(state, answers=answers, trail=trail, pending={})
    if nxt is None:
        new = replace(new, step=None, phase="summary", editing=False)
        return Turn(new, _summary(form, new, ctx), effects)
    new = replace(new, step=nxt.id, phase="ask")
    return Turn(new, _ask(form, new, ctx), effects)


def _go_back(form: Form, state: FormState, ctx: Context) -> Turn:
    if state.editing:
        new = replace(state, step=None, phase="summary", editing=False, pending={})
        return Turn(new, _summary(form, new, ctx))
    trail = [s for s in state.trail if s != state.step and form.step(s).applies(state.answers)]
    if not trail:
        return _reask(form, state, ctx, (N_("Đây là câu hỏi đầu tiên, không quay lại được nữa."), {}))
    previous = trail.pop()
    new = replace(state, step=previous, phase="ask", trail=tuple(trail), pending={})
    return Turn(new, _ask(form, new, ctx))


def _on_summary(form: Form, state: FormState, inp: Input, ctx: Context) -> Turn:
    items = _summary(form, state, ctx).items
    control = _control(inp)
    picking = state.phase == "pick_edit"
    if control == "cancel":
        return Turn(request_cancel(state), ConfirmCancel())
    if control == "submit" or (inp.text is not None and fold(inp.text).strip(" .!") in SUBMIT_WORDS):
        missing = _first_unanswered(form, state.answers)
        if missing is not None:  # a condition changed: ask what is now needed
            new = replace(state, step=missing.id, phase="ask", editing=True)
            return Turn(new, _ask(form, new, ctx))
        answers = {s.id: state.answers.get(s.id) for s in form.applicable(state.answers)}
        return Turn(replace(state, phase="done", answers=answers), Done(answers))
    if control == "edit":
        new = replace(state, phase="pick_edit")
        return Turn(new, replace(_summary(form, new, ctx), picking=True))
    if control == "back":
        last = items[-1].step if items else None
        if picking or last is None:
            new = replace(state, phase="summary")
            return Turn(new, _summary(form, new, ctx))
        new = replace(state, step=last.id, phase="ask", editing=True)
        return Turn(new, _ask(form, new, ctx))
    number = _edit_number(inp, control)
    if number is not None:
        if 1 <= number <= len(items):
            new = replace(state, step=items[number - 1].step.id, phase="ask", editing=True, pending={})
            return Turn(new, _ask(form, new, ctx))
        error = (N_("Không có mục số {n}. Hãy gõ số từ 1 đến {total}."), {"n": number, "total": len(items)})
        return Turn(state, replace(_summary(form, state, ctx), error=error, picking=picking))
    hint = N_("Hãy gõ số của mục cần sửa.") if picking else N_("Hãy bấm «Gửi», hoặc gõ «gửi»; để sửa, gõ «sửa» và số mục, ví dụ: sửa 3.")
    return Turn(state, replace(_summary(form, state, ctx), error=(hint, {}), picking=picking))


def _edit_number(inp: Input, control: str | None) -> int | None:
    if control is not None and control.startswith("e:") and is_number(control[2:]):
        return int(control[2:])
    if inp.text is None:
        return None
    words = fold(inp.text).strip(" .").split()
    if len(words) == 1 and is_number(words[0]) and len(words[0]) <= 3:
        return int(words[0])
    for lead in EDIT_WORDS:
        lead_words = lead.split()
        rest = words[len(lead_words):]
        if words[: len(lead_words)] == lead_words and len(rest) == 1 and is_number(rest[0]) and len(rest[0]) <= 3:
            return int(rest[0])
    return None


def _on_confirm_cancel(form: Form, state: FormState, inp: Input, ctx: Context) -> Turn:
    answer: bool | None = None
    if inp.button in ("c:yes", "c:no"):
        answer = inp.button == "c:yes"
    elif inp.text is not None:
        folded = fold(inp.text).strip(" .!")
        if folded in ("1", "co", "c", "yes", "y", "huy", "co huy", "dong y"):
            answer = True
        elif folded in ("2", "khong", "k", "ko", "no", "n", "tiep tuc", "tiep"):
            answer = False
    elif inp.button == "f:back":
        answer = False
    if answer is None:
        return Turn(state, ConfirmCancel(error=(N_("Hãy trả lời «có» để hủy, hoặc «không» để tiếp tục."), {})))
    if answer:
        return Turn(replace(state, phase="cancelled"), Cancelled())
    resumed = replace(state, phase=state.before_cancel)
    return Turn(resumed, _show(form, resumed, ctx))


# ---- helpers -----------------------------------------------------------------------------


def _next_step(form: Form, answers: Answers, after: str | None) -> Step | None:
    seen = after is None
    for step in form.steps:
        if not seen:
            seen = step.id == after
            continue
        if step.applies(answers):
            return step
    return None


def _first_unanswered(form: Form, answers: Answers) -> Step | None:
    for step in form.applicable(answers):
        if step.id not in answers:
            return step
    return None


def _show(form: Form, state: FormState, ctx: Context) -> Outcome:
    if state.phase == "confirm_cancel":
        return ConfirmCancel()
    if state.phase in ("summary", "pick_edit"):
        return replace(_summary(form, state, ctx), picking=state.phase == "pick_edit")
    if state.phase == "done":
        return Done(state.answers)
    if state.phase == "cancelled":
        return Cancelled()
    return _ask(form, state, ctx)


def _reask(form: Form, state: FormState, ctx: Context, error: Message) -> Turn:
    return Turn(state, _ask(form, state, ctx, error=error))


def _ask(form: Form, state: FormState, ctx: Context, error: Message | None = None, note: Message | None = None) -> Ask:
    step = form.step(state.step or "")
    applicable = form.applicable(state.answers)
    number = next((i for i, s in enumerate(applicable, start=1) if s.id == step.id), len(applicable))
    shown = None
    if step.id in state.answers:
        value = state.answers[step.id]
        shown = ctx.t(N_("(bỏ qua)")) if value is None and step.optional else _display(step, value, ctx)
    earlier = [s for s in state.trail if s != step.id]
    return Ask(
        step=step,
        options=tuple(step.field.options(state.answers, state.pending)),
        ticked=tuple(state.pending.get("ticked", ())),
        error=error,
        note=note,
        current=shown,
        can_back=bool(earlier) or state.editing,
        number=number,
        total=len(applicable),
    )


def _display(step: Step, value: Value, ctx: Context) -> str:
    try:
        return step.field.display(value, ctx)
    except (KeyError, ValueError, TypeError):
        return str(value)


def _summary(form: Form, state: FormState, ctx: Context) -> Summary:
    items = []
    for number, step in enumerate(form.applicable(state.answers), start=1):
        value = state.answers.get(step.id)
        items.append(SummaryItem(number, step, None if value is None and step.optional else _display(step, value, ctx)))
    return Summary(tuple(items))
