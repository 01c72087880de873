"""The one error type the parsers raise, so the form engine can catch a single thing."""

from __future__ import annotations


class ParseError(ValueError):
    """Bad input: carries a message id (Vietnamese, N_-marked) and format params.

    The message is not translated or formatted here: the bot layer knows the reader's
    language and calls `_(error.message).format(**error.params)`.
    """

    message: str
    params: dict[str, object]

    def __init__(self, message: str, **params: object) -> None:
        super().__init__(message)
        self.message = message
        self.params = dict(params)

    def __repr__(self) -> str:
        return f"ParseError({self.message!r}, **{self.params!r})"
