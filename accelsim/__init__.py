"""accelsim: a cycle-level simulator and cost model for DNN accelerators with a sum-pooling unit.

The package's folders are the pipeline (docs/architecture.md), each importing only from those
before it: common -> workload -> hardware -> engine -> evaluate -> explore | report | check -> cli.
"""

__version__ = "0.1.0"

# The Python API (docs/api.md): ``import accelsim as acc; acc.simulate("resnet18:A", "tpu-v1")``.
# ``acc.simulate`` and ``acc.sweep`` are also the pre-0.2 module paths ``accelsim.evaluate.simulate`` and
# ``accelsim.explore.sweep`` (now evaluate/simulate.py and explore/sweep.py): _moved.Forward makes each
# both, callable as the API function and forwarding attributes to the module. They load on first
# use (numba is slow to import; ``accelsim --help`` stays fast).
import sys as _sys  # noqa: E402
import types as _types  # noqa: E402

from . import _moved  # noqa: E402

_moved.install()

from .api import (Arch, InputError, Workload, load_arch, load_workload,  # noqa: E402
                  speedup_table, structure, summarize)


class _Package(_types.ModuleType):
    def __getattr__(self, name):   # only for names not yet bound: the two API modules
        if name in _moved.API_FUNCTIONS:
            import importlib

            return importlib.import_module(f"{__name__}.{name}")
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_sys.modules[__name__].__class__ = _Package

__all__ = ["load_arch", "load_workload", "structure", "simulate", "summarize", "speedup_table",
           "sweep", "Arch", "Workload", "InputError", "__version__"]
