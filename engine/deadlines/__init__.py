"""Deadlines that fire: the due table, firing exactly once as the system actor, worklists.

Scheduling and cancelling are part of each command's own event (``deadlines`` in its
hashed body, see :meth:`engine.commands.compiled.CompiledWorkflow.deadline_changes`); this
package reads them back: an engine-owned read model (the due table and the worklist rows,
:mod:`.readmodel`), claims of due rows (:mod:`.claims`), recording a due deadline as the
``system`` actor (:mod:`.firing`) and the service the façade delegates to (:mod:`.service`).
"""
