"""The workload: an ordered list of layers (``Workload``), the size check of a run, and the
workload's CSV form (accelsim's lossless schema; a SCALE-Sim topology file is read as it is)."""

from __future__ import annotations

import csv
import io
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterator

from accelsim.common.errors import MAX_BATCH_ELEMS, MAX_LAYERS, MAX_TENSOR_ELEMS, InputError, require
from accelsim.common.fsio import write_text_atomic
from accelsim.workload.layer_spec import OPS, Layer, largest_operand, scalesim_out_hw
from accelsim.workload.op_counts import macs, weight_count


@dataclass(frozen=True)
class Workload:
    """An ordered list of layers of one network variant."""

    network: str
    variant: str
    layers: tuple[Layer, ...]
    input_shape: tuple[int, int, int] = (3, 224, 224)
    source: str = ""

    def __post_init__(self):
        object.__setattr__(self, "layers", tuple(self.layers))
        names = [l.name for l in self.layers]
        dup = {n for n in names if names.count(n) > 1}
        require(not dup, "layer names must be unique", source=self.source or self.network,
                field="Layer name", value=sorted(dup)[0] if dup else None)

    def __iter__(self) -> Iterator[Layer]:
        return iter(self.layers)

    def __len__(self) -> int:
        return len(self.layers)

    def layer(self, name: str) -> Layer:
        for l in self.layers:
            if l.name == name:
                return l
        raise InputError("no such layer", source=self.network, field="layer", value=name)

    @property
    def macs(self) -> int:
        return sum(macs(l) for l in self.layers)

    @property
    def weights(self) -> int:
        return sum(weight_count(l) for l in self.layers)



def check_run_size(wl: "Workload", batch: int, field: str = "--batch",
                   source: str | None = None) -> None:
    """Refuse, before any allocation, a run whose largest operand times the batch exceeds
    MAX_BATCH_ELEMS (docs/errors.md)."""
    big = max(wl.layers, key=largest_operand, default=None)
    if big is None:
        return
    n = largest_operand(big) * batch
    require(n <= MAX_BATCH_ELEMS, f"layer '{big.name}' at this batch has an operand of {n:,} "
            f"elements, above the limit of {MAX_BATCH_ELEMS:,} (docs/errors.md); use a smaller "
            "batch", source=source or wl.source or wl.network, field=field, value=batch)



# ---- CSV --------------------------------------------------------------------------------
# The first eight columns are SCALE-Sim's topology columns, in its order and spelling; the
# rest make the schema lossless for every op here. SCALE-Sim itself cannot load this file (it
# skips only one header line, and every op is not a conv): ``accelsim trace --format scalesim``
# writes a topology it runs (accelsim/report/export.py).
# IFMAP Height/Width are the *unpadded* input; padding is its own column (SCALE-Sim has none).
SCALESIM_COLUMNS = ["Layer name", "IFMAP Height", "IFMAP Width", "Filter Height", "Filter Width",
                    "Channels", "Num Filter", "Strides"]
EXTRA_COLUMNS = ["Stride Width", "op", "OFMAP Height", "OFMAP Width", "Pad Height", "Pad Width",
                 "Groups", "Pool Channels", "c", "n", "bias"]
CSV_COLUMNS = SCALESIM_COLUMNS + EXTRA_COLUMNS


def layer_to_row(layer: Layer) -> list[str]:
    C, H, W = layer.in_shape
    K, E, F = layer.out_shape
    return [layer.name, str(H), str(W), str(layer.kernel[0]), str(layer.kernel[1]), str(C),
            str(K), str(layer.stride[0]), str(layer.stride[1]), layer.op, str(E), str(F),
            str(layer.padding[0]), str(layer.padding[1]), str(layer.groups),
            str(layer.pool_channels), str(layer.c), str(layer.n), "1" if layer.bias else "0"]


def workload_to_csv(wl: Workload) -> str:
    buf = io.StringIO()
    buf.write(f"# accelsim workload: network={wl.network} variant={wl.variant} "
              f"input={'x'.join(map(str, wl.input_shape))}\n")
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for layer in wl.layers:
        w.writerow(layer_to_row(layer))
    return buf.getvalue()


def write_workload_csv(wl: Workload, path: str | Path) -> None:
    write_text_atomic(path, workload_to_csv(wl))


def _int_cell(value: str, source: str, field: str) -> int:
    v = value.strip()
    try:
        f = float(v)
    except ValueError:
        raise InputError("not a number", source=source, field=field, value=v) from None
    if not f.is_integer():
        raise InputError("not an integer", source=source, field=field, value=v)
    return int(f)


def read_workload_csv(path: str | Path, network: str | None = None,
                      variant: str = "regular") -> Workload:
    """Read a workload CSV: accelsim's schema, or a SCALE-Sim topology file as it is.

    A SCALE-Sim file (no ``op`` column) is read the way SCALE-Sim reads it: every row a conv
    with no padding, ofmap ceil((H - R + S)/S), one stride for both axes unless a second
    stride column is present.
    """
    from accelsim.common.fsio import read_text_input

    path = Path(path)
    src = str(path)
    text = read_text_input(path, "workload CSV")
    meta = {}
    lines = []
    # line ends kept: a quoted cell may span lines, and its newline is part of its text
    for line in text.splitlines(keepends=True):
        if line.startswith("#"):
            for tok in line[1:].split():
                if "=" in tok:
                    k, v = tok.split("=", 1)
                    meta[k] = v
            continue
        if line.strip():
            lines.append(line)
    require(bool(lines), "empty workload file", source=src)
    require(len(lines) <= MAX_LAYERS + 1, f"more than {MAX_LAYERS:,} layers (docs/errors.md)",
            source=src, field="rows", value=len(lines) - 1)
    try:
        rows = list(csv.reader(lines))
    except csv.Error as exc:
        raise InputError(f"malformed CSV: {exc}", source=src) from None
    header = [h.strip() for h in rows[0]]
    accelsim_schema = "op" in header
    if not accelsim_schema:
        # SCALE-Sim skips its first row whatever it says (any header spelling); a first row of
        # numbers would be a layer it silently drops, so that is refused
        first = [c.strip() for c in rows[0][1:8]]
        require(not (len(first) == 7 and all(c.lstrip("-").isdigit() for c in first)),
                "the first row is skipped as the header (as SCALE-Sim does), but it holds a "
                "layer: add a header row", source=src, field="header", value=",".join(rows[0]))
    if accelsim_schema:
        missing = [h for h in CSV_COLUMNS if h not in header]
        require(not missing, f"header lacks column(s) {', '.join(missing)} of the accelsim "
                "schema", source=src, field="header", value=",".join(header))
    layers = []
    seen: dict[str, int] = {}   # SCALE-Sim topology: times each name was given
    for i, row in enumerate(rows[1:], start=2):
        cells = [c.strip() for c in row]
        if not any(cells):
            continue
        rsrc = f"{src}:{i}"
        name = cells[0]
        if accelsim_schema:
            require(len(cells) >= len(CSV_COLUMNS),
                    f"expected {len(CSV_COLUMNS)} columns, got {len(cells)}", source=rsrc,
                    field="row", value=",".join(cells))
            get = {h: cells[header.index(h)] for h in CSV_COLUMNS}
            num = {h: _int_cell(get[h], rsrc, h) for h in CSV_COLUMNS
                   if h not in ("Layer name", "op")}
            op = get["op"]
            require(op in OPS, f"unknown layer type; expected one of {', '.join(OPS)}",
                    source=rsrc, field="op", value=op)
            layers.append(_make_layer(rsrc, name=name, op=op,
                                      in_shape=(num["Channels"], num["IFMAP Height"],
                                                num["IFMAP Width"]),
                                      out_shape=(num["Num Filter"], num["OFMAP Height"],
                                                 num["OFMAP Width"]),
                                      kernel=(num["Filter Height"], num["Filter Width"]),
                                      stride=(num["Strides"], num["Stride Width"]),
                                      padding=(num["Pad Height"], num["Pad Width"]),
                                      groups=num["Groups"], pool_channels=num["Pool Channels"],
                                      c=num["c"], n=num["n"], bias=bool(num["bias"])))
        else:
            # SCALE-Sim drops a row's last field (its rows end with a trailing comma); a row of
            # exactly 8 values without one, which SCALE-Sim cannot run, is read as 8 values
            if cells[-1] == "" or len(cells) > 8:
                cells = cells[:-1]
            vals = [c for c in cells[1:8]]
            require(len(vals) == 7 and all(v != "" for v in vals),
                    "expected 8 SCALE-Sim columns (Layer name, IFMAP Height, IFMAP Width, "
                    "Filter Height, Filter Width, Channels, Num Filter, Strides)", source=rsrc,
                    field="row", value=",".join(cells))
            nums = [_int_cell(v, rsrc, SCALESIM_COLUMNS[j + 1]) for j, v in enumerate(vals)]
            H, W, R, S, C, K, sh = nums
            sw = sh
            if len(cells) > 8 and cells[8] != "":
                # a 9th value is the stride width, whatever the header says (SCALE-Sim 2.0.2)
                sw = _int_cell(cells[8], rsrc, "Stride Width")
            for fld, v in (("IFMAP Height", H), ("IFMAP Width", W), ("Filter Height", R),
                           ("Filter Width", S), ("Channels", C), ("Num Filter", K),
                           ("Strides", sh)):
                require(v >= 1, "must be >= 1", source=rsrc, field=fld, value=v)
            require(R <= H, f"filter is larger than its ifmap ({R} > {H})", source=rsrc,
                    field="Filter Height", value=R)
            require(S <= W, f"filter is larger than its ifmap ({S} > {W})", source=rsrc,
                    field="Filter Width", value=S)
            E, F = scalesim_out_hw(H, W, (R, S), (sh, sw))
            # SCALE-Sim runs a layer whose name contains "DP" (depthwise) as one 1-channel layer
            # per input channel, each with all K filters, named <name>Channel_<i>; it accepts a
            # name twice, which accelsim keeps apart as <name>~2, <name>~3 ... (same order)
            split = [(f"{name}Channel_{i}", 1) for i in range(C)] if "DP" in name \
                else [(name, C)]
            require(len(layers) + len(split) <= MAX_LAYERS, f"more than {MAX_LAYERS:,} layers "
                    "(docs/errors.md)", source=rsrc, field="Channels", value=C)
            for lname, ch in split:
                seen[lname] = seen.get(lname, 0) + 1
                if seen[lname] > 1:
                    lname = f"{lname}~{seen[lname]}"
                layers.append(_make_layer(rsrc, name=lname, op="conv2d", in_shape=(ch, H, W),
                                          out_shape=(K, E, F), kernel=(R, S), stride=(sh, sw)))
    require(bool(layers), "no layers in workload file", source=src)
    inp = meta.get("input")
    input_shape = layers[0].in_shape
    if inp:
        dims = inp.split("x")
        require(len(dims) == 3 and all(d.isdigit() and 1 <= int(d) <= MAX_TENSOR_ELEMS
                                       for d in dims),
                "expected C x H x W, e.g. input=3x224x224", source=src, field="# input",
                value=inp)
        input_shape = tuple(int(d) for d in dims)
    return Workload(network=network or meta.get("network") or path.stem,
                    variant=meta.get("variant", variant), layers=tuple(layers),
                    input_shape=input_shape, source=src)


def _make_layer(source: str, **kw) -> Layer:
    # a file's layer needs a name (Layer itself allows "" for the engines' memo keys)
    name = kw.get("name")
    require(isinstance(name, str) and name.strip() != "", "layer name must be non-empty",
            source=source, field="Layer name", value=name)
    try:
        return Layer(**kw)
    except InputError as exc:
        # re-label the error with the file and line it came from
        raise InputError(str(exc).split(": ", 1)[-1], source=source) from None


def layer_dict(layer: Layer) -> dict:
    return asdict(layer)
