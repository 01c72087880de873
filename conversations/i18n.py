"""Message-id markers for the pure layer.

`N_` marks a Vietnamese source string for extraction into locales/ without translating it here:
conversations/ never translates (it does not know who is reading); bot/ does, per user.
"""


def N_(message: str) -> str:
    return message
