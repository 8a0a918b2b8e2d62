"""Compression methods side by side: each a transform of a torch model (float64-checked against
its dense reconstruction) and of a Workload (closed form, checked against the trace of the
transformed model), with per-layer YAML specs and a matched-budget mode.

Methods (``METHODS``) and their per-layer parameter:
  structured      (c, n)        sum-pool + small conv (accelsim.workload.recipe; today's recipes)
  small-kernel    n             N x N -> n x n dense conv (the input cropped so the output size
                                stays; the n x n kernel sits at offset (N - n) // 2 of the N x N)
  channel-prune   keep          keep this many output channels of a conv whose output feeds one
                                other conv (through batch-norm, activations and depthwise convs);
                                the consumer loses the same input channels (Li et al. 2017: the
                                filters of largest L1 norm stay)
  low-rank        ranks         Tucker-2: 1x1 C->r1, N x N r1->r2 core, 1x1 r2->K;
                                a 1x1 conv: rank-r SVD (1x1 C->r, 1x1 r->K)
  low-rank-cp     rank          CP / separable: 1x1 C->R, Nh x 1 and 1 x Nw depthwise, 1x1 R->K;
                                a 1x1 conv: rank-R SVD as above
  depthwise       mult          depthwise N x N (depth multiplier m) + pointwise 1x1

Which layers a method touches: every conv except the stem (the network's first conv), and only
those the method applies to (small-kernel and depthwise need N > 1; low-rank and depthwise need
an ungrouped conv; channel-prune needs a single-consumer chain). Linear layers stay dense, so
every method competes on the same layers (structured recipes may still name fc).

A spec (a YAML file; ``accelsim compare --out`` writes the ones it used to specs/) says per
layer what to apply::

    network: resnet18
    method: low-rank
    rules:                          # first match wins; a rule that matches nothing is an error
      - match: "layer4.*"
        skip: true
      - match: "layer*"
        kind: conv3x3               # as in recipes: conv3x3 conv1x1 depthwise conv any
        ranks: [0.5, 0.5]           # a float in (0, 1]: a fraction of the channels; an int: a count
    layers:                         # explicit overrides
      layer1.0.conv1: {ranks: [32, 32]}

Per-method keys: small-kernel ``n``; channel-prune ``keep`` (fraction in (0, 1] or a count);
low-rank ``ranks: [r1, r2]`` (or ``rank`` for both / a 1x1 conv); low-rank-cp ``rank``
(a fraction is of C); depthwise ``mult``. A structured spec is a recipe (accelsim.workload.recipe).

The code, one concept a module: ``methods`` (method names, eligibility, parameter checks, the
closed-form workload transforms), ``spec`` (specs and their YAML), ``match`` (the
matched-budget search), ``prune`` (prune chains and channel pruning of a torch model),
``surgery`` (the other torch transforms, ``compress_model``, ``dense_reconstruction``). Every
name below is importable from ``accelsim.workload.compress`` as before the split.
"""

from __future__ import annotations

from accelsim.workload.compress.match import MATCH_TOL, Matched, match_budget  # noqa: F401
from accelsim.workload.compress.methods import (ALIASES, METHODS, PARAM_KEYS,  # noqa: F401
                                                Chain, check_param, eligible, layer_transform,
                                                method_name, transform_workload)
from accelsim.workload.compress.prune import network_chains, prune_chains, prune_model  # noqa: F401
from accelsim.workload.compress.spec import (Spec, default_spec, load_spec_file,  # noqa: F401
                                             resolve_spec, spec_to_yaml, spec_workload)
from accelsim.workload.compress.surgery import (compress_model, cp_factors,  # noqa: F401
                                                dense_reconstruction)

__all__ = ["METHODS", "Spec", "Matched", "Chain", "method_name", "eligible", "check_param",
           "layer_transform", "transform_workload", "prune_chains", "network_chains",
           "resolve_spec", "load_spec_file", "default_spec", "spec_to_yaml", "spec_workload",
           "match_budget", "compress_model", "prune_model", "dense_reconstruction", "cp_factors"]
