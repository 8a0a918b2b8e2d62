"""Stage 1, the workload: what is computed.

``layer`` holds the Layer and Workload dataclasses, their CSV form and every per-layer count
(MACs, adds, tensor sizes), re-exported from ``layer_spec``, ``op_counts`` and ``workload_csv``;
``structured`` the structured-convolution algebra (design.md section 2); ``trace`` and ``onnx_import`` read networks from torch and ONNX; ``zoo`` and
``networks`` name the shipped networks; ``recipe`` turns a network into its structured variants
(its rules read by ``layer_rules``, as compression specs' are); ``compress`` and ``decompose`` the
other compression methods and the decomposition of trained weights; ``counts`` the operation
counts of a torch model; ``training_ops`` and ``projection`` the ops of a training step beyond
the forward pass.

``from accelsim.workload import Layer, Workload, macs`` keeps working: the names of ``layer``
are re-exported here.
"""

from .layer import *  # noqa: F401,F403
from .layer import __all__  # noqa: F401
