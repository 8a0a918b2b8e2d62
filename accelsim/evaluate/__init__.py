"""Stage 4, the evaluation: one (workload, arch, batch) -> one row of counts per layer.

``simulate`` is the list of steps: ``layers`` (every layer on its engine, the pool unit's
placement on structured pairs), ``columns`` (the rows as a table, one numpy array per column;
every derived and energy column computed once; the summary), and the DataFrame at the very end.
A sweep's ``simulate.evaluate`` runs the same steps on engine rows memoized by ``rows``, with no
DataFrame (``fastpath`` is its old name); ``fast`` the same steps with the array's rows from the
analytical tier (fidelity fast). ``training`` a training step's forward, backward and
regularizer work on the same engines."""
