"""Per-layer rules, the one reader behind recipes (workload/recipe.py) and compression specs
(workload/compress/spec.py): which layers of a network a file chooses, and with what.

Both files say it the same way::

    rules:                      # first matching rule wins; a rule that matches no layer is an error
      - match: "layer4.*"       # glob over layer names
        skip: true              # leave these as they are
      - match: "layer*"
        kind: conv3x3           # conv3x3 | conv1x1 | depthwise | conv | linear | any
        <parameter keys>        # recipe: c, n; a compression method: its own (PARAM_KEYS)
    layers:                     # explicit overrides, after the rules; a missing layer is an error
      fc: {<parameter keys>}
"""

from __future__ import annotations

import fnmatch

from accelsim.common.errors import require
from accelsim.workload.layer import Layer

KINDS = ("conv3x3", "conv1x1", "depthwise", "conv", "linear", "any")


def layer_kind(layer: Layer) -> str:
    if layer.op == "linear":
        return "linear"
    if layer.groups > 1 and layer.groups == layer.in_shape[0]:
        return "depthwise"
    if layer.kernel == (1, 1):
        return "conv1x1"
    if layer.kernel == (3, 3):
        return "conv3x3"
    return "conv"


def _kind_matches(layer: Layer, kind: str) -> bool:
    # "conv" is every conv2d, whatever its kernel (layer_kind says "conv" only for the others)
    return kind == "any" or layer_kind(layer) == kind or (kind == "conv" and layer.op == "conv2d")


def read_rules(data: dict, targets, keys: tuple[str, ...], resolve, src: str,
               scope: str) -> dict:
    """{layer name: choice} of a file's ``rules`` and ``layers`` over ``targets`` (the layers it
    may choose, in network order). ``resolve(layer, given, field)`` turns the parameter keys a
    rule or override gives for one layer (those of ``keys`` present) into its choice, or raises;
    it runs as each layer is read, so the first bad value in the file is the one reported.
    ``scope`` completes "rule matches no layer ..." (e.g. "of the network")."""
    by_name = {l.name: l for l in targets}
    chosen: dict = {}
    decided: set[str] = set()
    rules = data.get("rules") or []
    require(isinstance(rules, list), "rules must be a list", source=src, field="rules",
            value=rules)
    for i, rule in enumerate(rules):
        f = f"rules[{i}]"
        require(isinstance(rule, dict) and "match" in rule, "a rule needs 'match'", source=src,
                field=f, value=rule)
        require(isinstance(rule["match"], str), "match is a glob pattern (a string)",
                source=src, field=f"{f}.match", value=rule["match"])
        require(isinstance(rule.get("skip", False), bool), "skip is true or false",
                source=src, field=f"{f}.skip", value=rule.get("skip"))
        bad = sorted(set(rule) - {"match", "kind", "skip", *keys})
        require(not bad, f"unknown key in rule; a rule takes match, kind, skip, "
                f"{', '.join(keys)}", source=src, field=f"{f}.{bad[0]}" if bad else f,
                value=rule.get(bad[0]) if bad else None)
        kind = rule.get("kind", "any")
        require(kind in KINDS, f"unknown layer kind; expected one of {KINDS}", source=src,
                field=f"{f}.kind", value=kind)
        hits = [l for l in targets if fnmatch.fnmatchcase(l.name, rule["match"])
                and _kind_matches(l, kind)]
        require(bool(hits), f"rule matches no layer {scope}", source=src,
                field=f"{f}.match", value=rule["match"])
        for l in hits:
            if l.name in decided:
                continue
            decided.add(l.name)
            if not rule.get("skip"):
                chosen[l.name] = resolve(l, {k: rule[k] for k in keys if k in rule}, f)
    overrides = data.get("layers") or {}
    require(isinstance(overrides, dict), f"layers is a mapping of layer name -> "
            f"{{{', '.join(keys)}}}", source=src, field="layers", value=overrides)
    for name, given in overrides.items():
        f = f"layers.{name}"
        require(name in by_name, f"no such layer, or not one {scope}", source=src,
                field="layers", value=name)
        require(isinstance(given, dict), f"override must be a mapping {{{', '.join(keys)}}}",
                source=src, field=f, value=given)
        bad = sorted(set(given) - set(keys))
        require(not bad, f"unknown key in override; expected {', '.join(keys)}", source=src,
                field=f"{f}.{bad[0]}" if bad else f, value=given.get(bad[0]) if bad else None)
        chosen[name] = resolve(by_name[name], given, f)
    return chosen
