"""The workflow instance: the eventsourcing aggregate, its events, the view types, and the
canonical JSON and hashes of the tamper-evident chain.

State changes only by applying events. This part imports only :mod:`engine.errors`; never
definition, persistence, commands, projection, hooks, audit or cli.
"""
