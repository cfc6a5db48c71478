"""Projections: the protocol a read model implements, the event it receives, and the runner
that keeps positions and tables in one transaction (inline, catch-up or worker).

Imports errors, instance and persistence; never commands, hooks, audit or cli. The concrete
read models live in the top-level ``projections`` package and plug in by entry point.
"""
