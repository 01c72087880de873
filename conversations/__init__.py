"""Guided forms as data, and the pure engine that walks them. Imports neither bot nor storage."""
