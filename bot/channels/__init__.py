"""Thin adapters: a channel's updates in, Events to the core, Replies back out. No business logic."""
