"""Test doubles for external services (Telegram Bot API, ...)."""
