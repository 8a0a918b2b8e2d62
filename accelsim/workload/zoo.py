"""The reference networks shipped with accelsim (defined in torch in ``workloads/``).

Importing this module is cheap; torch is imported only when a model is built.
"""

from __future__ import annotations

import importlib

from accelsim.common.errors import InputError

# name -> (module in accelsim.workloads, constructor, input shape (C, H, W), published params)
_SPECS = {
    "resnet18": ("resnet", "resnet18", (3, 224, 224), 11_689_512),
    "resnet34": ("resnet", "resnet34", (3, 224, 224), 21_797_672),
    "resnet50": ("resnet", "resnet50", (3, 224, 224), 25_557_032),
    "resnet56": ("resnet", "resnet56", (3, 32, 32), 853_018),
    "mobilenetv2": ("mobilenetv2", "mobilenetv2", (3, 224, 224), 3_504_872),
    "efficientnet_b0": ("efficientnet", "efficientnet_b0", (3, 224, 224), 5_288_548),
    "efficientnet_b1": ("efficientnet", "efficientnet_b1", (3, 240, 240), 7_794_184),
}
NETWORKS = tuple(_SPECS)


def _spec(name: str):
    if name not in _SPECS:
        raise InputError(f"unknown network; expected one of {', '.join(NETWORKS)}",
                         field="network", value=name)
    return _SPECS[name]


def build_model(name: str, seed: int = 0):
    """The torch model in eval mode, with a seeded (reproducible) initialization."""
    import torch

    module, ctor, _, _ = _spec(name)
    mod = importlib.import_module(f"accelsim.workloads.{module}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = getattr(mod, ctor)()
    return model.eval()


def input_shape(name: str) -> tuple[int, int, int]:
    return _spec(name)[2]


def published_params(name: str) -> int:
    return _spec(name)[3]
