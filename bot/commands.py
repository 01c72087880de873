"""The command registry: each role module declares its commands here, with who may use them.

The router looks commands up here; a person whose role is not allowed gets a polite refusal and
the attempt is written to the audit log. Vietnamese names first; English aliases beside them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.context import Context
    from bot.core import Reply

Handler = Callable[["Context"], Awaitable[list["Reply"]]]
EVERYONE = frozenset({"guest", "donor", "collaborator", "staff"})


@dataclass(frozen=True)
class Command:
    name: str
    handler: Handler
    roles: frozenset[str]
    aliases: tuple[str, ...] = ()
    description: str | None = None  # message id, for the command menus (setMyCommands)
    works_in_form: bool = True  # may run while a form is open (the form resumes after)


REGISTRY: dict[str, Command] = {}


def command(name: str, *aliases: str, roles: frozenset[str] | set[str] = EVERYONE, description: str | None = None, works_in_form: bool = True) -> Callable[[Handler], Handler]:
    """Register a handler: `@command("choduyet", "review", roles={"staff"}, description=N_("…"))`."""

    def register(handler: Handler) -> Handler:
        entry = Command(name, handler, frozenset(roles), tuple(aliases), description, works_in_form)
        for key in (name, *aliases):
            if key in REGISTRY and REGISTRY[key].handler is not handler:
                raise ValueError(f"command /{key} registered twice")
            REGISTRY[key] = entry
        return handler

    return register


def lookup(name: str) -> Command | None:
    return REGISTRY.get(name)


def for_role(role: str) -> list[Command]:
    """Distinct commands a role may use, in registration order (for menus and setMyCommands)."""
    seen: dict[str, Command] = {}
    for entry in REGISTRY.values():
        if role in entry.roles and entry.description and entry.name not in seen:
            seen[entry.name] = entry
    return list(seen.values())
