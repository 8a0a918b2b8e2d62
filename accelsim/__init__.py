"""accelsim: a cycle-level simulator and cost model for DNN accelerators with a sum-pooling unit.

The evaluation is a short list of steps (see ``accelsim.simulate``):
workload -> structure(recipe) -> map(layer, arch) -> engines -> results DataFrame -> reports.
"""

__version__ = "0.1.0"

# The Python API (docs/api.md): ``import accelsim as acc; acc.simulate("resnet18:A", "tpu-v1")``.
# ``simulate`` and ``sweep`` are also submodules (accelsim/simulate.py, sweep.py), and importing a
# submodule binds its name on the package, so ``acc.simulate`` is the module made callable: calling
# it runs ``api.simulate`` (``api.sweep``), and ``from accelsim import simulate`` /
# ``accelsim.simulate.simulate_layer`` keep working. The submodules load on first use (numba is
# slow to import; ``accelsim --help`` stays fast).
import sys as _sys  # noqa: E402
import types as _types  # noqa: E402

from . import api as _api  # noqa: E402
from .api import (Arch, InputError, Workload, load_arch, load_workload,  # noqa: E402
                  speedup_table, structure, summarize)

_CALLABLE_SUBMODULES = {"simulate": "simulate", "sweep": "sweep"}


class _CallableModule(_types.ModuleType):
    """A submodule that is also its API function."""

    def __call__(self, *args, **kwargs):
        return getattr(_api, _CALLABLE_SUBMODULES[self.__name__.rpartition(".")[2]])(
            *args, **kwargs)


class _Package(_types.ModuleType):
    def __setattr__(self, name, value):
        # the import system binds a loaded submodule here: make the two API ones callable
        if name in _CALLABLE_SUBMODULES and isinstance(value, _types.ModuleType) \
                and type(value) is _types.ModuleType:
            value.__class__ = _CallableModule
        super().__setattr__(name, value)

    def __getattr__(self, name):   # only for names not yet bound: load the submodule
        if name in _CALLABLE_SUBMODULES:
            import importlib

            return importlib.import_module(f"{__name__}.{name}")
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_sys.modules[__name__].__class__ = _Package

__all__ = ["load_arch", "load_workload", "structure", "simulate", "summarize", "speedup_table",
           "sweep", "Arch", "Workload", "InputError", "__version__"]
