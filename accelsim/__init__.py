"""accelsim: a cycle-level simulator and cost model for DNN accelerators with a sum-pooling unit.

The evaluation is a short list of steps (see ``accelsim.simulate``):
workload -> structure(recipe) -> map(layer, arch) -> engines -> results DataFrame -> reports.
"""

__version__ = "0.1.0"
