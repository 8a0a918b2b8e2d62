"""Module paths from before the folder layout (0.1.0), kept for one release.

``import accelsim.arch`` or ``from accelsim.simulate import simulate_layer`` still work: an
import of an old path gets a small module that forwards every attribute to the module's new home
and warns (DeprecationWarning) once. ``accelsim.simulate`` and ``accelsim.sweep`` are also the
Python API's two functions (docs/api.md): calling them runs ``api.simulate`` / ``api.sweep``, and
they do not warn, since ``acc.simulate(...)`` is the documented way in.

The forwarder is a module of its own rather than the new module under a second name, so the new
module's ``__spec__`` (numba's cache and ``importlib.reload`` key on it) is never touched.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import types
import warnings

# old name under accelsim -> new module under accelsim
MOVED = {
    "errors": "common.errors", "fsio": "common.fsio", "yamlio": "common.yamlio",
    "names": "common.names",
    "structured": "workload.structured", "trace": "workload.trace",
    "onnx_import": "workload.onnx_import", "zoo": "workload.zoo",
    "networks": "workload.networks", "recipe": "workload.recipe", "counts": "workload.counts",
    "compress": "workload.compress", "decompose": "workload.decompose",
    "arch": "hardware.arch", "energy": "hardware.energy",
    "mapping": "engine.mapping",
    "simulate": "evaluate.simulate", "result": "evaluate.columns",
    "fastpath": "evaluate.fastpath", "training": "evaluate.training",
    "sweep": "explore.sweep", "store": "explore.store", "pareto": "explore.pareto",
    "plots": "report.plots", "html": "report.html", "export": "report.export",
    "cosim": "check.cosim", "measure": "check.measure",
}
API_FUNCTIONS = {"simulate", "sweep"}


class Forward(types.ModuleType):
    """An old module path: attributes read from (and written to) the new module."""

    def __init__(self, old: str, new: str):
        super().__init__(old)
        object.__setattr__(self, "_target", new)

    def _module(self):
        return importlib.import_module(object.__getattribute__(self, "_target"))

    def __getattr__(self, name):
        return getattr(self._module(), name)

    def __setattr__(self, name, value):
        if name.startswith("__") and name.endswith("__"):   # the import system's own fields
            object.__setattr__(self, name, value)
        else:
            setattr(self._module(), name, value)

    def __dir__(self):
        return dir(self._module())

    def __call__(self, *args, **kwargs):
        short = self.__name__.rpartition(".")[2]
        if short not in API_FUNCTIONS:
            raise TypeError(f"module {self.__name__!r} is not callable")
        from . import api

        return getattr(api, short)(*args, **kwargs)


class _Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname, path=None, target=None):
        pkg, _, short = fullname.partition(".")
        if pkg == "accelsim" and short in MOVED:
            return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec):
        short = spec.name.partition(".")[2]
        new = f"accelsim.{MOVED[short]}"
        if short not in API_FUNCTIONS:
            warnings.warn(f"{spec.name} has moved to {new}; the old path will be removed in the "
                          "next release (docs/architecture.md)", DeprecationWarning, stacklevel=2)
        return Forward(spec.name, new)

    def exec_module(self, module):
        pass


def install() -> None:
    if not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.append(_Finder())
