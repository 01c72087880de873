"""Property tests: whatever a person sends at whatever step, nothing escapes, nothing is lost."""

from __future__ import annotations

import asyncio
import itertools
import unicodedata
from datetime import date
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conversations import engine
from conversations.engine import Ask, FormState, Summary
from conversations.fields import Context, Input
from conversations.report import REPORT_FORM
from tests.test_report_scenarios import FULL_REPORT

CTX = Context(today=date(2026, 11, 24))

NASTY = st.sampled_from([
    "", " ", "\n", "0", "-1", "99999999999999999999", "1e9", "NaN", "😀👍🏽", "🇻🇳" * 50,
    "'; DROP TABLE child_case;--", "\" OR 1=1 --", "<script>alert(1)</script>", "%s%s%n", "{0}{name}",
    "\x00\x01\x7f", "\u202e", "x" * 10_000, "quay lại " * 300, "1," * 500,
    unicodedata.normalize("NFD", "Nguyễn Thị Ánh Tuyết"), unicodedata.normalize("NFD", "lào cai"),
    "c:yes", "f:submit", "p:999999", "t:zz",
])
TEXTS = st.one_of(NASTY, st.text(max_size=300), st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=40))
INPUTS = st.one_of(
    TEXTS.map(lambda t: Input(text=t)),
    st.text(min_size=1, max_size=64).map(lambda b: Input(button=b)),
    st.sampled_from(["c:yes", "c:no", "c:done", "t:a", "p:1", "f:back", "f:skip", "f:keep", "f:cancel", "f:e:1"]).map(lambda b: Input(button=b)),
    st.just(Input(photo="AgAC-file")),
    st.just(Input(contact="+84912345678")),
)


def states_along_the_form() -> list[FormState]:
    """The saved state before each step of a valid report, and at the summary."""
    turn = engine.start(REPORT_FORM, CTX)
    states = [turn.state]
    for answer in FULL_REPORT:
        turn = engine.advance(REPORT_FORM, turn.state, Input(text=answer), CTX)
        states.append(turn.state)
    assert isinstance(turn.outcome, Summary)
    return states


STATES = states_along_the_form()


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(index=st.integers(0, len(STATES) - 1), inp=INPUTS)
def test_no_input_escapes_and_earlier_answers_stay(index: int, inp: Input) -> None:
    state = STATES[index]
    turn = engine.advance(REPORT_FORM, state, inp, CTX)  # must not raise
    new = turn.state
    FormState.from_json(new.to_json())  # always saveable
    if new.phase == "cancelled" or new.phase == "confirm_cancel":
        assert new.answers == state.answers
        return
    if new.phase == "done":
        assert index == len(STATES) - 1
        return
    changed = {k for k in set(state.answers) | set(new.answers) if state.answers.get(k) != new.answers.get(k)}
    # at most the step being answered changes; every earlier answer is kept
    assert changed <= {state.step}, changed
    assert set(state.answers) <= set(new.answers)
    if isinstance(turn.outcome, Ask) and turn.outcome.error is not None:
        assert new.step == state.step and new.answers == state.answers


@settings(max_examples=200, deadline=None)
@given(inputs=st.lists(INPUTS, min_size=1, max_size=25))
def test_any_sequence_of_inputs_leaves_a_valid_state(inputs: list[Input]) -> None:
    state = engine.start(REPORT_FORM, CTX).state
    for inp in inputs:
        turn = engine.advance(REPORT_FORM, state, inp, CTX)
        state = turn.state
        if state.phase in ("done", "cancelled"):
            break
        assert state.step is None or state.step in {s.id for s in REPORT_FORM.steps}
        for key in state.answers:
            REPORT_FORM.step(key)  # only real steps hold answers


# ---- through the whole app: handler, transaction, encryption, persistence ----------------

_users = itertools.count(10_000)


@pytest.fixture(scope="module")
def app_loop(tmp_path_factory: pytest.TempPathFactory):
    from bot.app import App
    from bot.settings import Settings
    from tests.support import Clock

    path: Path = tmp_path_factory.mktemp("props") / "props.db"
    loop = asyncio.new_event_loop()
    settings_ = Settings(_env_file=None, database_url=f"sqlite+aiosqlite:///{path}", data_key=Fernet.generate_key().decode(), staff_ids="9001")
    from datetime import UTC, datetime

    app = loop.run_until_complete(App.open(settings_, clock=Clock(datetime(2026, 11, 24, 3, tzinfo=UTC))))
    yield app, loop
    loop.run_until_complete(app.close())
    loop.close()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(step=st.integers(0, 12), noise=st.lists(TEXTS, min_size=1, max_size=4))
def test_bad_input_through_the_app_keeps_the_form(app_loop, step: int, noise: list[str]) -> None:
    from tests.support import Chat

    app, loop = app_loop

    async def scenario() -> None:
        chat = await Chat.collaborator(app, user=str(next(_users)))
        await chat.send("/baocao")
        await chat.answers(*FULL_REPORT[:step])
        before = await _state(app, chat.user)
        for text in noise:
            replies = await chat.send(text)
            assert replies, "every message gets an answer"
            assert all(len(r.text) > 0 for r in replies)
        after = await _state(app, chat.user)
        if after is None:  # only a confirmed cancel can close the form, and noise cannot confirm twice
            raise AssertionError("form lost")
        # "<" or "quay lại" goes back a step, and what follows answers that step again: only the
        # steps that no amount of going back reached must be as they were
        backs = sum(engine._control(Input(text=t)) == "back" for t in noise)
        answered = [s.id for s in REPORT_FORM.steps if s.id in before.answers]  # back goes to these
        reachable = set(answered[max(0, len(answered) - backs):]) if backs else set()
        for key, value in before.answers.items():
            if key != after.step and key not in reachable and not (after.editing or after.phase != "ask"):
                assert after.answers.get(key) == value or key == before.step

    loop.run_until_complete(scenario())


async def _state(app, user: str) -> FormState | None:
    from sqlmodel import select

    from storage.models import Conversation

    async with app.db.transaction() as session:
        row = (await session.exec(select(Conversation).where(Conversation.chat_id == user))).first()
        return FormState.from_json(row.state) if row and row.state else None
