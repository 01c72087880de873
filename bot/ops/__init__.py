"""Operations: back up, restore, rotate the data key, import lists, retention (issue 8).

Importing this package registers the staff command /nhap and the daily retention job.
"""

from bot.ops import chat_import, retention

__all__ = ["chat_import", "retention"]
