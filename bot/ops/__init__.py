"""Operations: back up, restore, rotate the data key, import lists, retention (issue 8).

Importing this package registers the staff command /nhap and the daily retention and
housekeeping jobs.
"""

from bot.ops import chat_import, housekeeping, retention

__all__ = ["chat_import", "housekeeping", "retention"]
