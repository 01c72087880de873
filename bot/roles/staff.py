"""Staff: review queue, risk and deadlines, summaries, charts, exports, outreach (issue 4)."""
