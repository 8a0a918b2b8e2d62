"""What-if sweeps: a YAML spec -> a list of design points -> evaluations appended to a store.

    spec.py        the spec (docs/sweeps.md): load_spec validates axes, ranges, random values,
                   networks, variants, batches, objectives and constraints, and every point's
                   Arch, before anything is written
    points.py      the design points: arch dicts, stable point keys (point_key), points(spec)
    evaluators.py  one point -> its summary numbers: fast (exact, memoized engine rows),
                   simulate (the DataFrame reference), toy (tests of the machinery)
    runner.py      run_sweep: the missing points in chunks, serially or in a process pool, each
                   chunk committed in one transaction; resume, lost workers, Ctrl-C
    dask_runner.py the same rounds on a Dask cluster (a thin adapter)
    codesign.py    the pool-unit co-design search (codesign_pool)

The store is explore/store.py; Pareto fronts explore/pareto.py.
"""

# every name the single-module sweep.py had, its private helpers included (callers used some)
from accelsim.explore.sweep.codesign import _pool_desc, codesign_pool  # noqa: F401
from accelsim.explore.sweep.dask_runner import DASK_CONNECT_TIMEOUT_S
from accelsim.explore.sweep.evaluators import (EVALUATORS, TOY_METRICS, evaluate_chunk,
                                               evaluate_point, metric_names, toy_evaluate)
from accelsim.explore.sweep.points import (_arch, _arch_dict, _file_sha, _is_file,  # noqa: F401
                                           _num, canon, load_point_workload, point_key, points)
from accelsim.explore.sweep.runner import SweepIncomplete, run_sweep, store_meta
from accelsim.explore.sweep.spec import (AXIS_NAMES, Constraint, Spec, feasible, load_spec,
                                         spec_constraints)

__all__ = ["AXIS_NAMES", "Constraint", "DASK_CONNECT_TIMEOUT_S", "EVALUATORS", "Spec",
           "SweepIncomplete", "TOY_METRICS", "canon", "codesign_pool", "evaluate_chunk",
           "evaluate_point", "feasible", "load_point_workload", "load_spec", "metric_names",
           "point_key", "points", "run_sweep", "spec_constraints", "store_meta", "toy_evaluate"]
