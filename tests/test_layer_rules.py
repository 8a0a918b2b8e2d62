"""The one per-layer rule reader (workload/layer_rules.py) behind recipes and compression specs:
first match wins, ``skip`` and ``kind`` filter, overrides come last, and both file kinds pick the
same layers for the same rules. The reference is a per-layer loop written here (for each layer,
the first rule that matches it), not the reader's per-rule loop, and the layer kinds are written
out by hand."""

from __future__ import annotations

import fnmatch
import random

import pytest

from accelsim.common.errors import InputError
from accelsim.workload.compress import resolve_spec
from accelsim.workload.layer import Layer, Workload
from accelsim.workload.layer_rules import read_rules
from accelsim.workload.recipe import resolve_recipe

# name -> kind, by hand: a depthwise 3x3 is "depthwise", a 5x5 dense conv is only "conv"
LAYERS = [
    (Layer("stem", "conv2d", (3, 16, 16), (16, 16, 16), (3, 3), (1, 1), (1, 1)), "conv3x3"),
    (Layer("a.conv1", "conv2d", (16, 16, 16), (16, 16, 16), (3, 3), (1, 1), (1, 1)), "conv3x3"),
    (Layer("a.conv2", "conv2d", (16, 16, 16), (32, 16, 16)), "conv1x1"),
    (Layer("a.dw", "conv2d", (32, 16, 16), (32, 16, 16), (3, 3), (1, 1), (1, 1), groups=32),
     "depthwise"),
    (Layer("b.conv1", "conv2d", (32, 16, 16), (32, 16, 16), (5, 5), (1, 1), (2, 2)), "conv"),
    (Layer("b.conv2", "conv2d", (32, 16, 16), (32, 16, 16), (3, 3), (1, 1), (1, 1)), "conv3x3"),
    (Layer("fc", "linear", (32, 1, 1), (10, 1, 1)), "linear"),
]
WL = Workload("toy", "regular", tuple(l for l, _ in LAYERS), (3, 16, 16))
KIND = {l.name: k for l, k in LAYERS}
GLOBS = ["*", "a.*", "b.*", "*conv1", "*.conv?", "stem", "fc", "a.dw", "x*"]
KINDS = ["any", "conv", "conv3x3", "conv1x1", "depthwise", "linear"]


def _kind_ok(name: str, kind: str) -> bool:
    return kind == "any" or KIND[name] == kind or (kind == "conv" and KIND[name] != "linear")


def _reference(rules, overrides, targets):
    """For each layer, the first rule that matches it; then the overrides; or the index of the
    first rule that matches no target (an error)."""
    for i, r in enumerate(rules):
        if not any(fnmatch.fnmatchcase(l.name, r["match"]) and _kind_ok(l.name, r.get("kind", "any"))
                   for l in targets):
            return i
    out = {}
    for l in targets:
        for i, r in enumerate(rules):
            if fnmatch.fnmatchcase(l.name, r["match"]) and _kind_ok(l.name, r.get("kind", "any")):
                if not r.get("skip", False):
                    out[l.name] = (r.get("v"), f"rules[{i}]")
                break
    for name, given in overrides.items():
        out[name] = (given.get("v"), f"layers.{name}")
    return out


def _random_rules(rng):
    rules = []
    for j in range(rng.randint(0, 4)):
        r = {"match": rng.choice(GLOBS)}
        if rng.random() < 0.5:
            r["kind"] = rng.choice(KINDS)
        if rng.random() < 0.3:
            r["skip"] = True
        elif rng.random() < 0.8:
            r["v"] = j
        rules.append(r)
    names = [l.name for l in WL.layers]
    overrides = {n: {"v": 100 + k} for k, n in enumerate(rng.sample(names, rng.randint(0, 2)))}
    return rules, overrides


def test_first_match_skip_kind_and_overrides_agree_with_a_per_layer_reference():
    rng = random.Random(13)
    targets = list(WL.layers)
    errors = hits = 0
    for _ in range(400):
        rules, overrides = _random_rules(rng)
        want = _reference(rules, overrides, targets)
        data = {"rules": rules, "layers": overrides}
        if isinstance(want, int):
            with pytest.raises(InputError, match=rf"rules\[{want}\]\.match.*matches no layer"):
                read_rules(data, targets, ("v",), lambda l, g, f: (g.get("v"), f), "f.yaml",
                           "of the toy")
            errors += 1
            continue
        got = read_rules(data, targets, ("v",), lambda l, g, f: (g.get("v"), f), "f.yaml",
                         "of the toy")
        assert got == want, (rules, overrides)
        hits += bool(got)
    assert errors > 20 and hits > 100     # both branches were exercised


def test_recipe_and_compression_spec_choose_the_same_layers():
    """One reader: the same rules choose the same layers in a recipe and a low-rank spec
    (whose layers are the dense convs but the stem, so the rules keep to those)."""
    rules = [{"match": "b.*", "kind": "conv3x3", "skip": True}, {"match": "*", "kind": "conv"}]
    overrides = {"b.conv2": {}}
    rec = resolve_recipe({"network": "toy", "rules": [dict(r, **({} if r.get("skip") else
                                                                 {"c": "C/2"})) for r in rules],
                          "layers": {n: {"c": "C/2"} for n in overrides}}, WL, "r.yaml")
    spec = resolve_spec({"network": "toy", "method": "low-rank",
                         "rules": [dict(r, **({} if r.get("skip") else {"rank": 0.5}))
                                   for r in rules],
                         "layers": {n: {"rank": 0.5} for n in overrides}}, WL, "s.yaml")
    dense_convs = {"a.conv1", "a.conv2", "b.conv1", "b.conv2"}     # low-rank's layers
    assert {n for n, _, _ in rec.choices} & dense_convs == dense_convs
    assert {n for n, _ in spec.params} == dense_convs
    # the recipe also structures the stem, which low-rank leaves; the depthwise conv's c = C/2
    # of its one channel per group is the dense layer itself, so no choice
    assert {n for n, _, _ in rec.choices} - dense_convs == {"stem"}


@pytest.mark.parametrize("bad, field", [
    ({"rules": [{"match": 3}]}, "rules[0].match"),
    ({"rules": [{"match": "*", "skip": "yes"}]}, "rules[0].skip"),
    ({"rules": [{"match": "*", "kind": "conv7x7"}]}, "rules[0].kind"),
    ({"rules": [{"match": "*", "colour": 1}]}, "rules[0].colour"),
    ({"rules": [{"match": "nothing*"}]}, "rules[0].match"),
    ({"layers": {"nolayer": {}}}, "layers"),
    ({"layers": {"a.conv1": {"colour": 1}}}, "layers.a.conv1.colour"),
    ({"rules": {"match": "*"}}, "rules"),
])
@pytest.mark.parametrize("kind", ["recipe", "spec"])
def test_both_file_kinds_refuse_the_same_bad_rules_by_file_and_field(bad, field, kind):
    if kind == "recipe":
        call = lambda: resolve_recipe({"network": "toy", **bad}, WL, "r.yaml")  # noqa: E731
    else:
        call = lambda: resolve_spec({"network": "toy", "method": "low-rank", **bad}, WL,  # noqa: E731
                                    "s.yaml")
    with pytest.raises(InputError) as exc:
        call()
    msg = str(exc.value)
    assert f"{kind[0]}.yaml" in msg and field in msg, msg
