"""Stage 2, the hardware: what it runs on.

``arch`` holds the validated, frozen Arch and PoolUnit dataclasses (``arch_spec``), the YAML and
SCALE-Sim .cfg readers and the presets (``arch_io``, ``presets/``); ``energy`` the per-operation
energy and area tables (``data/``) and the unit costs derived from them. Depends only on ``common``."""
