"""Staff work in chat (issue 4): the review queue and case file, the case process with its
deadlines, summaries, charts, exports, broadcasts, invites and the audit trail.

Importing this package registers every staff command, form and daily job.
"""

from bot.staff import (  # noqa: F401 - imported for their registrations
    actions,
    broadcast,
    charts,
    exports,
    history,
    overdue,
    questions,
    recheck,
    review,
    summaries,
    team,
)
