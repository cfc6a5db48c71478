"""Hooks: host code that reacts to recorded events, at least once, after commit.

The subscriber store (tables, positions, parked events), the per-name lease and the delivery
loop. Imports errors, instance, commands (the context), persistence and projection (the event
type); never audit or cli.
"""
