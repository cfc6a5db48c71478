"""Workflow definitions: the model (states, transitions, guards, payloads), its validation,
its content hash and its exports (dict, JSON, Mermaid, DOT).

A definition is data. This part imports only :mod:`engine.errors` and :mod:`engine.instance`
(the view and actor types that guards receive); never persistence, commands, projection,
hooks, audit or cli.
"""
