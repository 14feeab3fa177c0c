"""The parts of the SQL run store, one concept a module, behind ``SqlRunStore``
(``orchestra.store.run_store``), the thin facade the engine talks to.

* :mod:`.statements` – the SQL: prepared hot-path statements and the conditional
  updates that enforce the state machines and lease fencing in the database.
* :mod:`.rows` – row mapping: database rows to the engine's records.
* :mod:`.records` – creating runs and reading them back (the workflow snapshot cache).
* :mod:`.leases` – the run lease: claim, open, heartbeat, release, status, cancel.
* :mod:`.claims` – step claims: claim, renew, finish, settle, detach, and outputs.
* :mod:`.approvals` – approval requests and decisions.
* :mod:`.events` – appending and reading a run's events.

Writes are *operations* (functions of a group-commit :class:`~orchestra.store.group_commit.Tx`)
built here and submitted by the facade, so every module stays free of the writer's
life cycle and one commit can carry operations of all of them.
"""
