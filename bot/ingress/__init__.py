"""Webhook endpoints: verify, parse to InboundEvent, store, answer. No platform calls."""
