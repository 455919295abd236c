"""Routing, admin-chat rendering and the outbox worker."""
