"""The write side: the compiled state machine that decides a command, the workflow registry,
the command context, the instance cache and the service that records one event per command.

Imports :mod:`engine.definition`, :mod:`engine.instance` and :mod:`engine.persistence`;
never projection, hooks, audit or cli.
"""
