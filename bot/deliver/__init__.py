"""Delivery targets: one small module per target, each with one verb (send)."""
