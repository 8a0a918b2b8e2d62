"""Stage 4, the evaluation: one (workload, arch, batch) -> one row of counts per layer.

``simulate`` is the list of steps (engines per layer, the pool unit's placement on structured
pairs, derived columns, energy); ``columns`` names the columns and computes every derived one
once; ``fastpath`` is the same path with the engine rows memoized for sweeps; ``training`` a
training step's forward, backward and regularizer work on the same engines."""
