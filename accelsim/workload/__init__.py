"""Stage 1, the workload: what is computed.

``layer`` holds the Layer and Workload dataclasses, their CSV form and every per-layer count
(MACs, adds, tensor sizes); ``structured`` the structured-convolution algebra (design.md
section 2); ``trace`` and ``onnx_import`` read networks from torch and ONNX; ``zoo`` and
``networks`` name the shipped networks; ``recipe`` turns a network into its structured variants;
``compress`` and ``decompose`` the other compression methods and the decomposition of trained
weights; ``counts`` the operation counts of a torch model.

``from accelsim.workload import Layer, Workload, macs`` keeps working: the names of ``layer``
are re-exported here.
"""

from .layer import *  # noqa: F401,F403
from .layer import __all__  # noqa: F401
