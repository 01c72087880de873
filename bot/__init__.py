"""Chung Tay: the bot layer (core types, router, roles, channels, CLI)."""
