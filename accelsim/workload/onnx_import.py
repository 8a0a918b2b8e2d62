"""Read an ONNX model into a ``Workload`` (the same layers ``accelsim.workload.trace`` gives for a torch
model; ``accelsim simulate --workload model.onnx`` resolves through ``networks.load_workload``).

ONNX shape inference gives every tensor its shape; the graph's nodes, in their (topological)
order, map to layers:

    Conv                          conv2d (group, pads, strides, kernel_shape; dilation 1 only)
    Gemm, MatMul with a 2-D weight linear (a following Add of a constant is its bias)
    Add, Sum / Mul of two tensors add / mul (element-wise; a constant operand is a bias/scale)
    Relu, Clip, Sigmoid, Tanh, ... act; x * Sigmoid(x) is one act (SiLU as old exporters write it)
    MaxPool, AveragePool          maxpool, avgpool
    GlobalAveragePool, ReduceMean over H and W   gap
    BatchNormalization            none: folded into the preceding conv at inference, as in trace
    Flatten, Reshape, Identity, Dropout, Pad, Slice, Concat, Transpose, Shape, Constant ...
                                  none: data movement, no arithmetic
    ai.accelsim::SumPool          sumpool (accelsim export); the Conv/Gemm reading it is that
                                  structured layer's small conv (its c, n)

Layer names come from the exporter's node names: torch writes ``/layer1/layer1.0/conv1/Conv``,
which becomes ``layer1.0.conv1`` (the module path), ``_1``, ``_2`` ... for repeats. Nodes without
a path keep their own name.
"""

from __future__ import annotations

from pathlib import Path

from accelsim.common.errors import MAX_TENSOR_ELEMS, InputError, require
from accelsim.workload.layer import Layer, Workload

_ACTS = {"Relu", "Clip", "Sigmoid", "Tanh", "HardSwish", "HardSigmoid", "LeakyRelu", "Elu",
         "Selu", "Gelu", "Softplus", "Mish", "PRelu", "Silu", "Swish"}
_NOOPS = {"BatchNormalization", "Flatten", "Reshape", "Identity", "Dropout", "Pad", "Slice",
          "Concat", "Transpose", "Shape", "Constant", "ConstantOfShape", "Cast", "Gather",
          "Squeeze", "Unsqueeze", "Expand", "Split", "Softmax", "LogSoftmax", "Range",
          "Equal", "Where", "Unique"}


def _attrs(node) -> dict:
    import onnx

    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


_FUNCTIONAL = {"Add": "add", "Sum": "add", "Mul": "mul", "ReduceMean": "gap",
               "SumPool": "sumpool"}


def _layer_name(node, used: dict) -> str:
    """The module path from torch's scope names, which nest each module's name under its
    parent's: ``/layer1/layer1.0/conv1/Conv`` -> ``layer1.0.conv1``,
    ``/layer1/layer1.0/downsample/downsample.0/Conv`` -> ``layer1.0.downsample.0``; an
    element-wise op gets its op after its module's path (``layer1.0.add``), as trace names it."""
    raw = node.name or node.output[0]
    parts = [p for p in raw.split("/") if p]
    if len(parts) < 2:
        base = _FUNCTIONAL.get(node.op_type, parts[0] if parts else node.op_type.lower())
    else:
        path: list[str] = []
        for comp in parts[:-1]:
            if path and comp.startswith(path[-1] + "."):
                path[-1] = comp
            else:
                path.append(comp)
        base = ".".join(path)
        if node.op_type in _FUNCTIONAL:
            base = f"{base}.{_FUNCTIONAL[node.op_type]}"
    k = used.get(base, 0)
    used[base] = k + 1
    return base if k == 0 else f"{base}_{k}"


def load_onnx(path: str | Path, network: str | None = None, variant: str = "regular") -> Workload:
    """The layers of an ONNX model, per sample (the batch axis is dropped)."""
    import onnx
    from onnx import shape_inference

    path = Path(path)
    src = str(path)
    try:
        model = onnx.load(str(path))
    except FileNotFoundError:
        raise InputError("no such file", source=src) from None
    except Exception as exc:  # protobuf decode errors have no common base class
        raise InputError(f"not a readable ONNX model: {exc}", source=src) from None
    try:
        model = shape_inference.infer_shapes(model)
    except Exception as exc:
        raise InputError(f"ONNX shape inference failed: {exc}", source=src) from None
    g = model.graph
    consts = {t.name for t in g.initializer}
    shapes: dict[str, tuple] = {t.name: tuple(t.dims) for t in g.initializer}
    for vi in list(g.input) + list(g.value_info) + list(g.output):
        tt = vi.type.tensor_type
        if tt.HasField("shape"):
            shapes[vi.name] = tuple(d.dim_value if d.HasField("dim_value") else -1
                                    for d in tt.shape.dim)
    for node in g.node:
        # constants computed in the graph (Constant nodes, Identity of an initializer) are weights
        if node.op_type == "Constant" or (node.op_type == "Identity" and node.input[0] in consts):
            consts.update(node.output)
    inputs = [vi for vi in g.input if vi.name not in consts]
    require(len(inputs) >= 1, "model has no data input", source=src)
    in_shape = shapes.get(inputs[0].name, ())
    require(len(in_shape) == 4 and all(d > 0 for d in in_shape[1:]),
            "first input must be a fixed-size N x C x H x W tensor", source=src,
            field=inputs[0].name, value=in_shape)
    # sizes first: a small file can declare a tensor of billions of elements
    for name, s in shapes.items():
        elems = 1
        for d in s[1:]:
            elems *= max(1, int(d))
        require(elems <= MAX_TENSOR_ELEMS, f"tensor of {elems:,} elements per sample is larger "
                f"than the limit of {MAX_TENSOR_ELEMS:,} (docs/errors.md)", source=src,
                field=name, value=s)

    def chw(name: str, node) -> tuple[int, int, int]:
        s = shapes.get(name)
        if s is None or any(d <= 0 for d in s[1:]):
            raise InputError("tensor shape unknown after shape inference", source=src,
                             field=node.name or node.op_type, value=name)
        s = s[1:]
        if len(s) == 1:
            return (int(s[0]), 1, 1)
        if len(s) == 3:
            return tuple(int(x) for x in s)
        if len(s) == 2 and s[1] == 1:  # (N, C, 1) after a partial squeeze
            return (int(s[0]), 1, 1)
        raise InputError(f"unsupported tensor rank {len(s) + 1}", source=src,
                         field=node.name or node.op_type, value=name)

    consumers: dict[str, list] = {}
    for node in g.node:
        for i in node.input:
            consumers.setdefault(i, []).append(node)
    skip: set[int] = set()
    used: dict[str, int] = {}
    layers: list[Layer] = []
    last_gemm: dict[str, int] = {}  # output name -> index of the linear layer producing it
    # output name -> (c, n) of the ai.accelsim::SumPool producing it (accelsim export): the
    # conv/linear reading it is that structured layer's small conv
    pooled: dict[str, tuple[int, int]] = {}

    for node in g.node:
        if id(node) in skip:
            continue
        try:
            _add_node(node, shapes, consts, consumers, skip, used, layers, last_gemm, chw, src,
                      pooled)
        except InputError as exc:
            if exc.source == src:
                raise
            # a Layer's own check (OFMAP, padding, sizes): say which file and node it came from
            where = node.name or node.op_type
            raise InputError(f"node {where}: {exc}", source=src) from None
        except (KeyError, IndexError, TypeError, ValueError, OverflowError) as exc:
            where = node.name or node.op_type
            raise InputError(f"malformed {node.op_type} node ({type(exc).__name__}: {exc})",
                             source=src, field=where, value=node.op_type) from None
    return Workload(network=network or path.stem, variant=variant, layers=tuple(layers),
                    input_shape=tuple(int(d) for d in in_shape[1:]), source=src)


def _add_node(node, shapes, consts, consumers, skip, used, layers, last_gemm, chw, src,
              pooled):
    """Append the layer(s) of one ONNX node."""
    op = node.op_type
    a = _attrs(node)
    where = node.name or op
    if op == "SumPool" and node.domain == "ai.accelsim":
        x, out = chw(node.input[0], node), chw(node.output[0], node)
        bc, bh, bw = (int(v) for v in a["kernel_shape"])
        pads = [int(v) for v in a.get("pads", [0, 0, 0, 0])]
        c, n = int(a["c"]), int(a["n"])
        layers.append(Layer(_layer_name(node, used), "sumpool", x, out, (bh, bw), (1, 1),
                            tuple(pads[:2]), groups=int(a.get("group", 1)), pool_channels=bc,
                            c=c, n=n))
        pooled[node.output[0]] = (c, n)
        return
    cn = pooled.get(node.input[0]) if node.input else None
    sc = {"c": cn[0], "n": cn[1]} if cn else {}
    if op == "Conv":
        require(all(d == 1 for d in a.get("dilations", [1, 1])),
                "only dilation 1 is supported", source=src, field=where,
                value=a.get("dilations"))
        x, w = chw(node.input[0], node), shapes.get(node.input[1])
        out = chw(node.output[0], node)
        require(w is not None and len(w) == 4, "Conv weight must be 4-D", source=src,
                field=where, value=w)
        k = tuple(a.get("kernel_shape", w[2:]))
        pads = list(a.get("pads", [0, 0, 0, 0]))
        if a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET", b"VALID", "VALID"):
            # SAME_*: total padding from the output size; must split evenly
            st = a.get("strides", [1, 1])
            tot = [max(0, (out[1 + i] - 1) * st[i] + k[i] - x[1 + i]) for i in range(2)]
            pads = [tot[0] // 2, tot[1] // 2, tot[0] - tot[0] // 2, tot[1] - tot[1] // 2]
        require(pads[:2] == pads[2:], "asymmetric padding is not supported", source=src,
                field=where, value=pads)
        layers.append(Layer(_layer_name(node, used), "conv2d", x, out, k,
                            tuple(a.get("strides", [1, 1])), tuple(pads[:2]),
                            groups=int(a.get("group", 1)), bias=len(node.input) > 2, **sc))
    elif op in ("Gemm", "MatMul"):
        wname = node.input[1]
        w = shapes.get(wname)
        require(wname in consts and w is not None and len(w) == 2,
                "only a matrix product with a constant 2-D weight (a linear layer) is "
                "supported", source=src, field=where, value=op)
        trans_b = op == "Gemm" and a.get("transB", 0)
        cin, cout = (w[1], w[0]) if trans_b else (w[0], w[1])
        layers.append(Layer(_layer_name(node, used), "linear", (int(cin), 1, 1),
                            (int(cout), 1, 1), bias=op == "Gemm" and len(node.input) > 2,
                            **sc))
        last_gemm[node.output[0]] = len(layers) - 1
    elif op in ("Add", "Sum", "Mul"):
        tensors = [i for i in node.input if i not in consts]
        if len(tensors) < 2:
            # a constant operand: bias of a MatMul, or a scale/shift folded at inference
            src_idx = last_gemm.get(tensors[0]) if tensors else None
            if op == "Add" and src_idx is not None:
                from dataclasses import replace

                layers[src_idx] = replace(layers[src_idx], bias=True)
                last_gemm[node.output[0]] = src_idx
            return
        out = chw(node.output[0], node)
        kind = "mul" if op == "Mul" else "add"
        layers.append(Layer(_layer_name(node, used), kind, out, out))
    elif op in _ACTS:
        out = chw(node.output[0], node)
        if op == "Sigmoid":
            users = consumers.get(node.output[0], [])
            if (len(users) == 1 and users[0].op_type == "Mul"
                    and node.input[0] in users[0].input):
                # x * sigmoid(x): SiLU, one activation as trace counts it
                skip.add(id(users[0]))
        layers.append(Layer(_layer_name(node, used), "act", out, out))
    elif op in ("MaxPool", "AveragePool"):
        x, out = chw(node.input[0], node), chw(node.output[0], node)
        pads = list(a.get("pads", [0, 0, 0, 0]))
        require(pads[:2] == pads[2:], "asymmetric padding is not supported", source=src,
                field=where, value=pads)
        k = tuple(a["kernel_shape"])
        # ONNX's default stride is 1 on each axis (not the kernel, as in torch's MaxPool2d;
        # torch's exporter always writes its strides)
        layers.append(Layer(_layer_name(node, used),
                            "maxpool" if op == "MaxPool" else "avgpool", x, out, k,
                            tuple(a.get("strides", (1, 1))), tuple(pads[:2])))
    elif op in ("GlobalAveragePool", "ReduceMean"):
        x, out = chw(node.input[0], node), chw(node.output[0], node)
        require(out[1:] == (1, 1) and x[0] == out[0], "only a mean over height and width "
                "(global average pool) is supported", source=src, field=where, value=op)
        layers.append(Layer(_layer_name(node, used), "gap", x, out, (x[1], x[2])))
    elif op in _NOOPS:
        # data movement; a bias Add after it still belongs to the linear layer before it
        if node.input and node.input[0] in last_gemm:
            last_gemm[node.output[0]] = last_gemm[node.input[0]]
        if node.input and node.input[0] in pooled:
            pooled[node.output[0]] = pooled[node.input[0]]
        return
    else:
        raise InputError("unsupported ONNX operator", source=src, field=where, value=op)
