"""Channel pruning on a torch model: the prune chains read from its graph (a conv whose
output reaches one other conv through channel-wise modules only), and the surgery that keeps
each producer's filters of largest L1 norm; with the small torch helpers the other transforms
(compress/surgery.py) share."""

from __future__ import annotations

from functools import lru_cache

from accelsim.workload.compress.methods import Chain

_CHANNELWISE = ("BatchNorm2d", "ReLU", "ReLU6", "SiLU", "Hardswish", "Sigmoid", "GELU",
                "LeakyReLU", "Tanh", "Identity", "Dropout")


def prune_chains(model) -> tuple[Chain, ...]:
    """Every conv (not the first) whose only consumer, through batch-norms, activations and
    depthwise convs that have no other user, is one ungrouped conv: the channels it can drop."""
    import torch.fx as fx
    from torch import nn

    from accelsim.workload.trace import _structured_types

    sconv, slin = _structured_types()

    class _Tracer(fx.Tracer):
        def is_leaf_module(self, m, qualname):
            return isinstance(m, sconv + slin) or super().is_leaf_module(m, qualname)

    graph = _Tracer().trace(model)
    mods = dict(model.named_modules())
    convs = [n for n in graph.nodes if n.op == "call_module"
             and type(mods[n.target]) is nn.Conv2d]
    out = []
    for node in convs[1:]:
        m = mods[node.target]
        if m.groups != 1:
            continue
        dws, follow, cur = [], [], node
        consumer = None
        while len(cur.users) == 1:
            nxt = next(iter(cur.users))
            if nxt.op != "call_module":
                break
            nm = mods[nxt.target]
            if type(nm) is nn.Conv2d:
                if nm.groups > 1 and nm.groups == nm.in_channels == nm.out_channels:
                    dws.append(nxt.target)
                    cur = nxt
                    continue
                if nm.groups == 1:
                    consumer = nxt.target
                break
            if type(nm).__name__ not in _CHANNELWISE:
                break
            if isinstance(nm, nn.BatchNorm2d):
                follow.append(nxt.target)
            cur = nxt
        if consumer is not None:
            out.append(Chain(node.target, tuple(dws), consumer, tuple(follow)))
    return tuple(out)


@lru_cache(maxsize=16)
def network_chains(net: str) -> tuple[Chain, ...]:
    """The prune chains of a shipped network (its model built on the meta device: no weights)."""
    import torch

    from accelsim.workload.zoo import build_model

    with torch.device("meta"):
        model = build_model(net)
    return prune_chains(model)


# ---- torch helpers ---------------------------------------------------------------------------
def _pair(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (int(v), int(v))


def _new_conv(cin, cout, kernel, stride=1, padding=0, groups=1, bias=False, like=None):
    from torch import nn

    conv = nn.Conv2d(cin, cout, kernel, stride, padding, groups=groups, bias=bias)
    if like is not None:
        conv = conv.to(device=like.device, dtype=like.dtype)
    return conv


def _set(t, value):
    import torch

    with torch.no_grad():
        t.copy_(value.to(t.dtype))


def _slice_conv(conv, out_idx=None, in_idx=None):
    """A copy of ``conv`` with only the output channels ``out_idx`` / inputs ``in_idx``
    (a depthwise conv keeps out_idx channels as its groups)."""
    w = conv.weight
    dw = conv.groups > 1
    if out_idx is not None:
        w = w[out_idx]
    if in_idx is not None and not dw:
        w = w[:, in_idx]
    cout = w.shape[0]
    cin = cout if dw else w.shape[1]
    new = _new_conv(cin, cout, conv.kernel_size, conv.stride, conv.padding,
                    groups=cout if dw else 1, bias=conv.bias is not None, like=conv.weight)
    if w.device.type != "meta":
        _set(new.weight, w.detach())
        if conv.bias is not None:
            _set(new.bias, conv.bias.detach()[out_idx] if out_idx is not None else conv.bias)
    return new


def _slice_bn(bn, idx):
    from torch import nn

    new = nn.BatchNorm2d(len(idx), bn.eps, bn.momentum, bn.affine, bn.track_running_stats)
    new = new.to(device=bn.weight.device if bn.affine else "cpu",
                 dtype=bn.weight.dtype if bn.affine else None)
    if new.weight is not None and bn.weight.device.type != "meta":
        for name in ("weight", "bias", "running_mean", "running_var"):
            src = getattr(bn, name)
            if src is not None:
                _set(getattr(new, name), src.detach()[idx])
    return new


def _setmod(model, name, mod):
    parent, _, attr = name.rpartition(".")
    setattr(model.get_submodule(parent) if parent else model, attr, mod)


def prune_model(model, keeps: dict, chains=None):
    """Channel pruning in place: for each chain whose producer is in ``keeps`` (a count), the
    producer keeps its filters of largest L1 norm in the unpruned model (ties: lower index),
    in index order."""
    import torch

    chains = [c for c in (prune_chains(model) if chains is None else chains)
              if c.producer in keeps]
    # the kept filters from the unpruned weights, before any conv loses input channels to
    # another chain (a conv can be one chain's consumer and the next one's producer)
    kept = {}
    for ch in chains:
        w = model.get_submodule(ch.producer).weight
        k = keeps[ch.producer]
        if w.device.type == "meta":
            kept[ch.producer] = torch.arange(k)
        else:
            norms = w.detach().abs().flatten(1).sum(1).tolist()
            order = sorted(range(len(norms)), key=lambda i: (-norms[i], i))
            kept[ch.producer] = torch.tensor(sorted(order[:k]))
    for ch in chains:
        idx = kept[ch.producer]
        prod = model.get_submodule(ch.producer)
        _setmod(model, ch.producer, _slice_conv(prod, out_idx=idx))
        for d in ch.depthwise:
            _setmod(model, d, _slice_conv(model.get_submodule(d), out_idx=idx))
        for b in ch.followers:
            _setmod(model, b, _slice_bn(model.get_submodule(b), idx))
        _setmod(model, ch.consumer, _slice_conv(model.get_submodule(ch.consumer), in_idx=idx))
    return model
