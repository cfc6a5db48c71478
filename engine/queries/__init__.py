"""The read side that the engine owns: instances now, at a version or as of a time, their
history, what an actor may fire, and short-id resolution (no read model needed).

Imports definition, instance, commands and persistence; never projection, hooks, audit or cli.
"""
