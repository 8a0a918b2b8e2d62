"""Trace a torch module into a ``Workload``.

torch.fx symbolic tracing captures both module calls and functional ops (residual adds, SE
scaling, ``x.mean``, ``F.relu``); ShapeProp runs a real forward once to give every node its shape.

Naming rule: a module layer is named by its qualified module path (``layer1.0.conv1``); a
functional op by the path of the module whose ``forward`` called it plus the op
(``layer1.0.add``), with ``_1``, ``_2`` ... for repeats inside the same module; a module
called more than once (a shared ``relu``) gets the same suffixes. A structured conv
``m`` gives two layers, ``m.sumpool`` and ``m``. BatchNorm is folded into the preceding conv at
inference, and flatten/dropout/identity/slicing/padding are data movement: none gives a layer.
"""

from __future__ import annotations

import operator

from accelsim.common.errors import InputError
from accelsim.workload.layer import Layer, Workload

_ACT_MODULES = ("ReLU", "ReLU6", "SiLU", "Sigmoid", "Hardswish", "Hardsigmoid", "GELU", "Tanh",
                "LeakyReLU")
_NOOP_MODULES = ("BatchNorm2d", "BatchNorm1d", "Dropout", "Identity", "Flatten")


def _structured_types():
    try:
        from accelsim.workload import structured
    except ImportError:  # pragma: no cover - structured.py ships with the package
        return (), ()
    return (getattr(structured, "StructuredConv2d", ()),), (
        getattr(structured, "StructuredLinear", ()),)


def _shape(node) -> tuple[int, int, int]:
    meta = node.meta.get("tensor_meta")
    if meta is None or not hasattr(meta, "shape"):
        raise InputError("no tensor shape recorded", field="node", value=node.name)
    s = tuple(meta.shape)[1:]  # drop batch
    if len(s) == 1:
        return (int(s[0]), 1, 1)
    if len(s) == 3:
        return tuple(int(x) for x in s)
    raise InputError(f"unsupported tensor rank {len(s) + 1}", field="node", value=node.name)


def _tensor_arg(node):
    import torch.fx as fx

    for a in node.args:
        if isinstance(a, fx.Node):
            return a
    raise InputError("op has no tensor input", field="node", value=node.name)


def _pair(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


def trace(model, input_shape, network: str = "", variant: str = "regular") -> Workload:
    import torch
    import torch.fx as fx
    from torch import nn

    sconv, slin = _structured_types()
    leaves = sconv + slin

    class _Tracer(fx.Tracer):
        def is_leaf_module(self, m, qualname):
            return isinstance(m, leaves) or super().is_leaf_module(m, qualname)

    was_training = model.training
    model.eval()
    try:
        graph = _Tracer().trace(model)
        gm = fx.GraphModule(model, graph)
        _propagate_shapes(gm, input_shape)
    finally:
        model.train(was_training)
    modules = dict(model.named_modules())

    layers: list[Layer] = []
    used: dict[str, int] = {}

    def fname(node, op):
        stack = node.meta.get("nn_module_stack") or {}
        parent = ""
        if stack:
            last = list(stack.values())[-1]
            parent = last[0] if isinstance(last, tuple) else str(last)
        base = f"{parent}.{op}" if parent else op
        k = used.get(base, 0)
        used[base] = k + 1
        return base if k == 0 else f"{base}_{k}"

    for node in graph.nodes:
        if node.op == "call_module":
            m = modules[node.target]
            # a module called more than once (a shared ReLU) gives one layer per call
            k = used.get(node.target, 0)
            used[node.target] = k + 1
            name = node.target if k == 0 else f"{node.target}_{k}"
            cls = type(m).__name__
            src = _shape(_tensor_arg(node))
            out = _shape(node)
            if sconv and isinstance(m, sconv):
                layers.extend(_structured_conv_layers(name, m, src, out))
            elif slin and isinstance(m, slin):
                layers.extend(_structured_linear_layers(name, m, src, out))
            elif isinstance(m, nn.Conv2d):
                if tuple(_pair(m.dilation)) != (1, 1) or isinstance(m.padding, str):
                    raise InputError("only dilation 1 and numeric padding are supported",
                                     field=name, value=cls)
                layers.append(Layer(name, "conv2d", src, out, _pair(m.kernel_size),
                                    _pair(m.stride), _pair(m.padding), groups=m.groups,
                                    bias=m.bias is not None))
            elif isinstance(m, nn.Linear):
                layers.append(Layer(name, "linear", (m.in_features, 1, 1),
                                    (m.out_features, 1, 1), bias=m.bias is not None))
            elif isinstance(m, (nn.MaxPool2d, nn.AvgPool2d)):
                op = "maxpool" if isinstance(m, nn.MaxPool2d) else "avgpool"
                layers.append(Layer(name, op, src, out, _pair(m.kernel_size),
                                    _pair(m.stride or m.kernel_size), _pair(m.padding)))
            elif isinstance(m, nn.AdaptiveAvgPool2d):
                if out[1:] != (1, 1):
                    raise InputError("only AdaptiveAvgPool2d to 1x1 is supported", field=name,
                                     value=out)
                layers.append(Layer(name, "gap", src, out, (src[1], src[2])))
            elif cls in _ACT_MODULES:
                layers.append(Layer(name, "act", src, out))
            elif cls in _NOOP_MODULES:
                continue
            else:
                raise InputError("unsupported module type", field=name, value=cls)
        elif node.op in ("call_function", "call_method"):
            tgt = node.target
            tname = tgt if isinstance(tgt, str) else getattr(tgt, "__name__", str(tgt))
            if tgt in (operator.add, torch.add) or tname in ("add", "add_", "__add__", "iadd"):
                out = _shape(node)
                layers.append(Layer(fname(node, "add"), "add", out, out))
            elif tgt in (operator.mul, torch.mul) or tname in ("mul", "mul_", "__mul__", "imul"):
                out = _shape(node)
                layers.append(Layer(fname(node, "mul"), "mul", out, out))
            elif tname in ("relu", "relu6", "silu", "sigmoid", "hardswish", "gelu", "tanh",
                           "relu_", "sigmoid_"):
                out = _shape(node)
                layers.append(Layer(fname(node, tname.rstrip("_")), "act", out, out))
            elif tname == "mean" or tname == "adaptive_avg_pool2d":
                src, out = _shape(_tensor_arg(node)), _shape(node)
                layers.append(Layer(fname(node, "gap"), "gap", src, out, (src[1], src[2])))
            elif tname in ("flatten", "view", "reshape", "getitem", "pad", "size", "contiguous",
                           "option_a_shortcut", "dropout", "cat", "squeeze", "unsqueeze"):
                continue
            else:
                raise InputError("unsupported function in model", field=node.name, value=tname)
    return Workload(network=network or type(model).__name__.lower(), variant=variant,
                    layers=tuple(layers), input_shape=tuple(input_shape))


def _propagate_shapes(gm, input_shape) -> None:
    """Record every node's output shape. Shapes only need the meta device (no arithmetic), so the
    forward first runs with meta copies of the parameters swapped in (ResNet-50 on a loaded CPU:
    seconds -> tens of ms); a model whose forward makes tensors on a fixed device (and so cannot
    run on meta) falls back to a real zero-input forward on its own device."""
    import torch
    from torch import nn
    from torch.fx.passes.shape_prop import ShapeProp

    first = next(iter(gm.parameters()), None)
    dtype = first.dtype if first is not None else torch.float32

    class _Prop(nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, x):
            return ShapeProp(self.inner).propagate(x)

    prop = _Prop(gm)
    state = {k: torch.empty_like(v, device="meta")
             for k, v in (*prop.named_parameters(), *prop.named_buffers())}
    with torch.no_grad():
        try:
            torch.func.functional_call(
                prop, state, (torch.zeros((1, *input_shape), dtype=dtype, device="meta"),))
            return
        except (RuntimeError, NotImplementedError, TypeError):
            pass
        device = first.device if first is not None else "cpu"
        ShapeProp(gm).propagate(torch.zeros((1, *input_shape), dtype=dtype, device=device))


def _structured_conv_layers(name, m, src, out):
    """sumpool (pad, stride-1 all-ones window) then the small conv (design.md section 2)."""
    C, H, W = src
    g = m.groups
    N = _pair(m.kernel_size)
    n = _pair(m.n)
    p = _pair(m.padding)
    bn = (N[0] - n[0] + 1, N[1] - n[1] + 1)
    hp, wp = H + 2 * p[0], W + 2 * p[1]
    pooled = (g * m.c, hp - bn[0] + 1, wp - bn[1] + 1)
    pool = Layer(f"{name}.sumpool", "sumpool", src, pooled, bn, (1, 1), p, groups=g,
                 pool_channels=C // g - m.c + 1, c=m.c, n=n[0])
    conv = Layer(name, "conv2d", pooled, out, n, _pair(m.stride), (0, 0), groups=g, c=m.c,
                 n=n[0], bias=getattr(m, "bias", None) is not None)
    return [pool, conv]


def _structured_linear_layers(name, m, src, out):
    C = m.in_features
    pool = Layer(f"{name}.sumpool", "sumpool", (C, 1, 1), (m.c, 1, 1), (1, 1),
                 pool_channels=C - m.c + 1, c=m.c, n=1)
    lin = Layer(name, "linear", (m.c, 1, 1), (m.out_features, 1, 1), c=m.c, n=1,
                bias=getattr(m, "bias", None) is not None)
    return [pool, lin]
