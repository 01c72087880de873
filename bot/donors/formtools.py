"""Opening a form with facts from outside (hidden answers) and the router's notes (meta).

bot.forms.start opens a form empty; the pledge and receipt forms need to know what a need still
lacks or what a pledge promised before their first question (conversations/donor_forms.py).
"""

from __future__ import annotations

from typing import Any

from bot import forms
from bot.context import Context
from bot.forms import Replies
from conversations.engine import FormState
from storage import chat_state


async def open_form(ctx: Context, form_id: str, *, hidden: dict[str, Any] | None = None,
                    meta: dict[str, Any] | None = None, intro: str | None = None) -> Replies:
    """Start `form_id` at its first applicable question, with hidden answers and meta saved."""
    spec = forms.REGISTRY[form_id]
    answers = dict(hidden or {})
    first = next((s for s in spec.form.applicable(answers) if s.id not in answers), None)
    if first is None:
        raise ValueError(f"form {form_id} has nothing to ask")
    state = FormState(form=form_id, step=first.id, answers=answers, meta=dict(meta or {}))
    chat_state.save_form(ctx.chat, form_id, state.to_json())
    return await forms.resume(ctx, state, note=intro)


def busy(ctx: Context) -> Replies | None:
    """A form is already open: say so (the router then shows its current question)."""
    state = forms.open_state(ctx)
    return None if state is None else [forms.busy(state)]
