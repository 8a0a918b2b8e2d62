"""Checks against independent sources: ``cosim`` runs a layer's arithmetic functionally and
compares its executed counts and values with the engines and torch; ``measure`` times the same
layers in torch on this machine (real runtimes next to the simulated ones)."""
