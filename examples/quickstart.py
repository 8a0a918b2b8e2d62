"""accelsim's Python quick start (docs/api.md). CI runs it (tests/test_api.py).

    python examples/quickstart.py
"""

import accelsim as acc

# 1. a machine: a preset, an arch YAML (docs/arch.md) or a SCALE-Sim .cfg
arch = acc.load_arch("tpu-v1")
# a what-if copy: it gets its own name ("tpu-v1+rows=128"), never the preset's
small = arch.with_(rows=128, cols=128)

# 2. a workload: a zoo network and variant, a workload CSV, a SCALE-Sim topology or ONNX
regular = acc.load_workload("resnet18")
struct = acc.structure(regular, "A")        # = acc.load_workload("resnet18", variant="A")

# 3. simulate: one row per layer (pandas), then the network totals
for a in (arch, small):
    reg = acc.summarize(acc.simulate(regular, a), a)
    st = acc.summarize(acc.simulate(struct, a), a)
    print(f"{a.name:>22}: regular {reg['total_cycles']:>10,} cycles, "
          f"structured A {st['total_cycles']:>10,} cycles, "
          f"realized {reg['total_cycles'] / st['total_cycles']:.2f}x "
          f"(ideal {reg['macs'] / st['macs']:.2f}x), stall model {st['stall_model']}")

# 4. the speedup report's table as a DataFrame
table = acc.speedup_table(networks=["resnet18"], archs=["tpu-v1", "edge-npu"], variants=["A"])
print(table[["arch", "network", "variant", "ideal_speedup", "realized_speedup"]]
      .to_string(index=False, float_format=lambda v: f"{v:.2f}"))
