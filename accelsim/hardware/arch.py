"""Architecture spec, by the path every caller knows: ``accelsim.hardware.arch``.

The code lives in two modules; this one re-exports their names, so ``from
accelsim.hardware.arch import Arch, PoolUnit, load_arch`` keeps working:

- ``arch_spec`` the frozen, validated ``Arch`` and ``PoolUnit`` and the names of their choices;
- ``arch_io``   the readers and writers: a mapping, an arch YAML, a preset, a SCALE-Sim .cfg.
"""

from __future__ import annotations

from accelsim.hardware.arch_io import (PRESET_DIR, arch_from_dict, arch_to_dict,  # noqa: F401
                                       list_presets, load_arch, load_scalesim_cfg,
                                       load_yaml_arch, to_scalesim_cfg)
from accelsim.hardware.arch_spec import (BANDWIDTH_MODES, DATAFLOWS, POOL_MODES,  # noqa: F401
                                         POOL_ON_DEADLOCK, POOL_ORDERS, POOL_TREES,
                                         STALL_MODELS, Arch, PoolUnit, validate_arch)
