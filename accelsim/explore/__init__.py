"""Stage 5a, exploration: design-space sweeps (``sweep``: spec, points, runners), the result
store they write (``store``), Pareto fronts (``pareto``) and the pool-unit co-design search."""
