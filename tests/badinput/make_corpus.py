"""Write the bad-input corpus (tests/badinput/{arch,cfg,csv,recipe,sweep}/ and cases.txt).

Run from the repository root: ``.venv/bin/python tests/badinput/make_corpus.py``. The files are
committed; this script documents how each was made and regenerates them byte for byte. ONNX
models and the stores are built by tests/test_badinput.py itself (binary, made with onnx and
sqlite3).

cases.txt: one case a line, ``name<TAB>expected text in the error line<TAB>command line``;
``{D}`` is this folder, ``{T}`` the case's empty temporary folder (its working directory too),
``{O}`` the folder of generated ONNX models, ``{S}`` the folder of generated stores, ``{E}`` the
arch/energy_*.yaml files with ENERGY_DIR replaced by the absolute path of energy/.
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
CASES: list[tuple[str, str, str]] = []

ARCH = {"rows": 8, "cols": 8, "dataflow": "os", "ifmap_sram_kb": 64, "filter_sram_kb": 64,
        "ofmap_sram_kb": 64}
ARCH_COMMANDS = [
    "simulate --arch {f} --workload resnet18 --out {T}/o",
    "verify --arch {f} --workload resnet56:A",
    "codesign --arch {f} --network resnet56 --out {T}/o",
    "speedup --arch {f} --networks resnet56 --out {T}/o",
    "measure --arch {f} --networks resnet56 --out {T}/m.csv",
]


def write(rel: str, data: str | bytes) -> str:
    p = HERE / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    p.write_bytes(data)
    return "{D}/" + rel


def yaml_of(d: dict) -> str:
    lines = []
    for k, v in d.items():
        lines.append(f"{k}: {v}")
    return "\n".join(lines) + "\n"


def case(name: str, expect: str, cmd: str) -> None:
    assert "\t" not in cmd and all(n != name for n, _, _ in CASES), name
    CASES.append((name, expect, cmd))


# ---- arch YAML ---------------------------------------------------------------------------
def arch_case(name, expect, text):
    f = write(f"arch/{name}.yaml", text)
    cmd = ARCH_COMMANDS[len([c for c in CASES if c[0].startswith("arch_")]) % len(ARCH_COMMANDS)]
    case(f"arch_{name}", expect, cmd.format(f=f, T="{T}"))


def arch_with(**over) -> str:
    d = dict(ARCH)
    for k, v in over.items():
        if v is None:
            d.pop(k, None)
        else:
            d[k] = v
    return yaml_of(d)


arch_case("not_utf8", "UTF-8", b"rows: 8\ncols: 8\nname: caf\xe9\n")
arch_case("latin1_name", "UTF-8", arch_with().encode() + b"name: m\xfcnchen\n")
arch_case("duplicate_key", "given twice", arch_with() + "rows: 16\n")
arch_case("duplicate_pool_key", "given twice",
          arch_with() + "pool:\n  lanes: 8\n  lanes: 16\n")
arch_case("alias_bomb", "expands to more than", "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
          + "".join(f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, "
                    f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
                    f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
                    for i in range(8)) + arch_with())
arch_case("recursive_alias", "expands to more than", "rows: &r [1, *r]\n")
arch_case("deep_nesting", "", "rows: " + "[" * 5000 + "]" * 5000 + "\n")
arch_case("a_list", "mapping", "- rows: 8\n- cols: 8\n")
arch_case("a_scalar", "mapping", "just text\n")
arch_case("empty", "mapping", "")
arch_case("malformed", "malformed YAML", "rows: [8\ncols: 8\n")
arch_case("tab_indent", "malformed YAML", "rows: 8\n\tcols: 8\n")
arch_case("unknown_key", "unknown key", arch_with(colour="red"))
arch_case("missing_rows", "rows", arch_with(rows=None))
arch_case("rows_zero", "rows", arch_with(rows=0))
arch_case("rows_negative", "rows", arch_with(rows=-8))
arch_case("rows_fraction", "rows", arch_with(rows=1.5))
arch_case("rows_string", "rows", arch_with(rows='"8"'))
arch_case("rows_bool", "rows", arch_with(rows="true"))
arch_case("rows_1e30_float", "rows", arch_with(rows="1.0e+30"))
arch_case("rows_1e30_int", "rows", arch_with(rows=10**30))
arch_case("rows_inf", "rows", arch_with(rows=".inf"))
arch_case("cols_huge", "cols", arch_with(cols=1_000_000))
arch_case("dataflow_unknown", "dataflow", arch_with(dataflow="xs"))
arch_case("word_bits_zero", "word_bits", arch_with(word_bits=0))
arch_case("word_bits_million", "word_bits", arch_with(word_bits=1_000_000))
arch_case("clock_denormal", "clock_mhz", arch_with(clock_mhz="1.0e-320"))
arch_case("clock_nan", "clock_mhz", arch_with(clock_mhz=".nan"))
arch_case("clock_negative", "clock_mhz", arch_with(clock_mhz=-700))
arch_case("sram_zero", "ifmap_sram_kb", arch_with(ifmap_sram_kb=0))
arch_case("sram_inf", "filter_sram_kb", arch_with(filter_sram_kb=".inf"))
arch_case("sram_1e30", "ofmap_sram_kb", arch_with(ofmap_sram_kb="1.0e+30"))
arch_case("sram_no_word", "ifmap_sram_kb", arch_with(ifmap_sram_kb="0.0001"))
arch_case("sram_one_word", "filter_sram_kb", arch_with(filter_sram_kb="0.0009765625"))
arch_case("bandwidth_mode_unknown", "bandwidth_mode", arch_with(bandwidth_mode="fast"))
arch_case("stall_model_unknown", "stall_model", arch_with(stall_model="magic"))
arch_case("dram_bw_zero", "dram_bw_words_per_cycle", arch_with(dram_bw_words_per_cycle=0))
arch_case("dram_bw_inf", "dram_bw_words_per_cycle", arch_with(dram_bw_words_per_cycle=".inf"))
arch_case("offset_text", "ifmap_offset", arch_with(ifmap_offset="abc"))
arch_case("offset_negative", "filter_offset", arch_with(filter_offset=-1))
arch_case("vector_lanes_zero", "vector_lanes", arch_with(vector_lanes=0))
arch_case("name_dotdot", "name", arch_with(name="../../x"))
arch_case("name_slash", "name", arch_with(name="vendor/npu"))
arch_case("name_list", "name", arch_with(name="[1, 2]"))
arch_case("name_empty", "name", arch_with(name='""'))
arch_case("name_nul", "name", arch_with(name='"a\\0b"'))
arch_case("energy_number", "energy", arch_with(energy=5))
arch_case("energy_missing_file", "energy", arch_with(energy="no_such_table.yaml"))
write("energy/duplicate_key.yaml", "add_pj: {8: 0.03}\nadd_pj: {8: 0.04}\n")
write("energy/not_utf8.yaml", b"add_pj: {8: 0.03}\n# \xff\n")
write("energy/negative.yaml", "add_pj: {8: -1}\n")
# an arch's energy path is read relative to the working folder, and {D} is substituted in the
# command line only: the test copies these archs to {E} with ENERGY_DIR made absolute
for table, expect in (("duplicate_key", "given twice"), ("not_utf8", "UTF-8"),
                      ("negative", "add_pj")):
    f = write(f"arch/energy_{table}.yaml", arch_with(energy="ENERGY_DIR/" + table + ".yaml"))
    case(f"arch_energy_{table}", expect,
         "simulate --arch {E}/energy_%s.yaml --workload resnet56" % table)
arch_case("pool_scalar", "pool", arch_with(pool=16))
arch_case("pool_unknown_key", "pool.colour", arch_with() + "pool:\n  colour: red\n")
arch_case("pool_lanes_zero", "pool.lanes", arch_with() + "pool:\n  lanes: 0\n")
arch_case("pool_lanes_huge", "pool.lanes", arch_with() + f"pool:\n  lanes: {10**30}\n")
arch_case("pool_tree_unknown", "pool.tree", arch_with() + "pool:\n  tree: oak\n")
arch_case("pool_staging_negative", "pool.staging_kb",
          arch_with() + "pool:\n  staging_kb: -1\n")

# ---- SCALE-Sim .cfg ----------------------------------------------------------------------
CFG = {"ArrayHeight": "8", "ArrayWidth": "8", "IfmapSramSzkB": "64", "FilterSramSzkB": "64",
       "OfmapSramSzkB": "64", "IfmapOffset": "0", "FilterOffset": "10000000",
       "OfmapOffset": "20000000", "Dataflow": "os", "Bandwidth": "10"}


def cfg_text(run_name="t", extra_general="", **over) -> str:
    d = dict(CFG)
    for k, v in over.items():
        if v is None:
            d.pop(k)
        else:
            d[k] = v
    return ("[general]\nrun_name = " + run_name + "\n" + extra_general + "\n[architecture_presets]\n"
            + "".join(f"{k} : {v}\n" for k, v in d.items()) + "\n[run_presets]\n"
            "InterfaceBandwidth: CALC\n")


def cfg_case(name, expect, text, cmd="simulate --arch {f} --workload resnet56"):
    f = write(f"cfg/{name}.cfg", text)
    case(f"cfg_{name}", expect, cmd.format(f=f, T="{T}"))


cfg_case("not_utf8", "UTF-8", cfg_text().encode() + b"# \xff\xfe\n")
cfg_case("percent_template", "Dataflow", cfg_text(Dataflow="%(x)s"))
cfg_case("percent_in_number", "ArrayHeight", cfg_text(ArrayHeight="8%"))
cfg_case("no_section", "architecture_presets", "[general]\nrun_name = x\n")
cfg_case("no_header", "malformed cfg", "ArrayHeight: 8\n")
cfg_case("missing_key", "ArrayWidth", cfg_text(ArrayWidth=None))
cfg_case("not_a_number", "ArrayHeight", cfg_text(ArrayHeight="eight"))
cfg_case("zero", "ArrayHeight", cfg_text(ArrayHeight="0"))
cfg_case("fraction", "ArrayWidth", cfg_text(ArrayWidth="1.5"))
cfg_case("huge", "rows", cfg_text(ArrayHeight="1e30"))
cfg_case("inf", "IfmapSramSzkB", cfg_text(IfmapSramSzkB="inf"))
cfg_case("nan", "Bandwidth", cfg_text(Bandwidth="nan"))
cfg_case("negative_bandwidth", "Bandwidth", cfg_text(Bandwidth="-1"))
cfg_case("dataflow_unknown", "Dataflow", cfg_text(Dataflow="xs"))
cfg_case("interface_unknown", "InterfaceBandwidth",
         cfg_text().replace("InterfaceBandwidth: CALC", "InterfaceBandwidth: FAST"))
cfg_case("run_name_dotdot", "name", cfg_text(run_name="../../x"),
         cmd="speedup --arch {f} --networks resnet56 --no-plots --out {T}/o")
cfg_case("run_name_slash", "name", cfg_text(run_name="vendor/npu"))
cfg_case("duplicate_section", "malformed cfg", cfg_text() + "[general]\nrun_name = y\n")
cfg_case("duplicate_option", "malformed cfg", cfg_text(extra_general="run_name = again\n"))
cfg_case("sram_no_word", "ofmap_sram_kb", cfg_text(OfmapSramSzkB="0.0001"))
cfg_case("offset_huge", "ifmap_offset", cfg_text(IfmapOffset="1e30"))

# ---- workload CSV ------------------------------------------------------------------------
HEAD = ("Layer name,IFMAP Height,IFMAP Width,Filter Height,Filter Width,Channels,Num Filter,"
        "Strides,Stride Width,op,OFMAP Height,OFMAP Width,Pad Height,Pad Width,Groups,"
        "Pool Channels,c,n,bias\n")
SS_HEAD = ("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, "
           "Num Filter, Strides,\n")
GOOD_ROW = "conv1,16,16,3,3,8,16,1,1,conv2d,16,16,1,1,1,1,0,0,0\n"
CSV_COMMANDS = ["simulate --arch edge-npu --workload {f}", "verify --workload {f}",
                "simulate --arch scalesim-32x32-os --workload {f} --out {T}/o"]


def csv_case(name, expect, text):
    f = write(f"csv/{name}.csv", text)
    cmd = CSV_COMMANDS[len([c for c in CASES if c[0].startswith("csv_")]) % len(CSV_COMMANDS)]
    case(f"csv_{name}", expect, cmd.format(f=f, T="{T}"))


csv_case("not_utf8", "UTF-8", HEAD.encode() + b"conv\xff,16,16,3,3,8,16,1,1,conv2d,16,16,1,1,1,1,0,0,0\n")
csv_case("utf16", "UTF-8", (HEAD + GOOD_ROW).encode("utf-16"))
csv_case("empty", "empty workload", "")
csv_case("comments_only", "empty workload", "# nothing here\n")
csv_case("header_only", "no layers", HEAD)
csv_case("bad_first_column", "Layer name", "Name,H,W\nx,1,1\n")
csv_case("missing_column", "Pad Width", HEAD.replace(",Pad Width", "") + GOOD_ROW.replace(",1,1,1,1,0,0,0", ",1,1,1,0,0,0"))
csv_case("short_row", "expected 19 columns", HEAD + "conv1,16,16,3,3\n")
csv_case("input_meta_text", "input", "# accelsim workload: network=n variant=regular input=abc\n" + HEAD + GOOD_ROW)
csv_case("input_meta_zero", "input", "# accelsim workload: network=n input=0x16x16\n" + HEAD + GOOD_ROW)
csv_case("cell_text", "Channels", HEAD + GOOD_ROW.replace(",8,16,1,1,conv2d", ",eight,16,1,1,conv2d"))
csv_case("cell_fraction", "Num Filter", HEAD + GOOD_ROW.replace(",8,16,1,1,conv2d", ",8,16.5,1,1,conv2d"))
csv_case("cell_inf", "IFMAP Height", HEAD + "conv1,inf,16,3,3,8,16,1,1,conv2d,16,16,1,1,1,1,0,0,0\n")
csv_case("cell_nan", "Strides", HEAD + "conv1,16,16,3,3,8,16,nan,1,conv2d,16,16,1,1,1,1,0,0,0\n")
csv_case("cell_1e30", "limit", HEAD + "conv1,1e30,16,3,3,8,16,1,1,conv2d,16,16,1,1,1,1,0,0,0\n")
csv_case("negative_size", "sizes must be >= 1", HEAD + "conv1,-16,16,3,3,8,16,1,1,conv2d,16,16,1,1,1,1,0,0,0\n")
csv_case("zero_stride", "stride", HEAD + "conv1,16,16,3,3,8,16,0,1,conv2d,16,16,1,1,1,1,0,0,0\n")
csv_case("negative_padding", "padding", HEAD + "conv1,16,16,3,3,8,16,1,1,conv2d,14,14,-1,-1,1,1,0,0,0\n")
csv_case("kernel_larger_than_input", "kernel", HEAD + "conv1,4,4,7,7,8,16,1,1,conv2d,1,1,0,0,1,1,0,0,0\n")
csv_case("unknown_op", "op", HEAD + GOOD_ROW.replace("conv2d", "deconv"))
csv_case("ofmap_500_from_16", "OFMAP", HEAD + "conv1,16,16,3,3,8,16,1,1,conv2d,500,500,1,1,1,1,0,0,0\n")
csv_case("ofmap_too_small", "OFMAP", HEAD + "conv1,16,16,3,3,8,16,1,1,conv2d,8,8,1,1,1,1,0,0,0\n")
csv_case("c_above_C", "c", HEAD + "conv1,16,16,3,3,8,16,1,1,conv2d,16,16,1,1,1,1,128,3,0\n")
csv_case("n_above_N", "n", HEAD + "conv1,16,16,3,3,8,16,1,1,conv2d,16,16,1,1,1,1,8,5,0\n")
csv_case("sumpool_c_above_C", "c must be", HEAD + "p,16,16,2,2,8,8,1,1,sumpool,17,17,1,1,1,1,9,2,0\n")
csv_case("sumpool_window_above_C", "pool_channels", HEAD + "p,16,16,2,2,8,8,1,1,sumpool,17,17,1,1,1,20,1,2,0\n")
csv_case("sumpool_ofmap", "OFMAP", HEAD + "p,16,16,2,2,8,1,1,1,sumpool,40,40,1,1,1,8,1,2,0\n")
csv_case("linear_7x7", "linear", HEAD + "fc,1,1,7,7,512,10,1,1,linear,1,1,3,3,1,1,0,0,1\n")
csv_case("linear_spatial", "linear", HEAD + "fc,7,7,1,1,512,10,1,1,linear,7,7,0,0,1,1,0,0,1\n")
csv_case("maxpool_padding_over_half", "padding", HEAD + "mp,16,16,3,3,8,8,2,2,maxpool,9,9,2,2,1,1,0,0,0\n")
csv_case("avgpool_channels_change", "channels", HEAD + "ap,16,16,2,2,8,4,2,2,avgpool,8,8,0,0,1,1,0,0,0\n")
csv_case("c_n_on_maxpool", "structured", HEAD + "mp,16,16,2,2,8,8,2,2,maxpool,8,8,0,0,1,1,3,2,0\n")
csv_case("add_shape_change", "add", HEAD + "a,16,16,1,1,8,8,1,1,add,8,8,0,0,1,1,0,0,0\n")
csv_case("gap_wrong_out", "global average", HEAD + "g,7,7,7,7,512,512,1,1,gap,7,7,0,0,1,1,0,0,0\n")
csv_case("groups_not_dividing", "groups", HEAD + "conv1,16,16,3,3,8,16,1,1,conv2d,16,16,1,1,3,1,0,0,0\n")
csv_case("nul_in_name", "Layer name", HEAD + "con\x00v1,16,16,3,3,8,16,1,1,conv2d,16,16,1,1,1,1,0,0,0\n")
csv_case("newline_in_name", "", HEAD + '"con\nv1",16,16,3,3,8,16,1,1,conv2d,16,16,1,1,1,1,0,0,0\n')
csv_case("duplicate_names", "unique", HEAD + GOOD_ROW + GOOD_ROW)
csv_case("huge_operand", "limit", HEAD + "big,100000,100000,1,1,1,1,1,1,conv2d,100000,100000,0,0,1,1,0,0,0\n")
csv_case("scalesim_short_row", "8 SCALE-Sim columns", SS_HEAD + "c1,16,16,3,\n")
csv_case("scalesim_filter_larger", "Filter Height", SS_HEAD + "c1,4,4,7,7,3,8,1,\n")
csv_case("scalesim_zero", "Channels", SS_HEAD + "c1,16,16,3,3,0,8,1,\n")
csv_case("scalesim_text", "IFMAP Width", SS_HEAD + "c1,16,x,3,3,3,8,1,\n")

# ---- recipes -----------------------------------------------------------------------------
RECIPE_COMMANDS = ["counts resnet18 --recipe {f}", "trace resnet18 --recipe {f} -o {T}/t.csv",
                   "codesign --arch edge-npu --network resnet18 --variants {f}"]


def recipe_case(name, expect, text):
    f = write(f"recipe/{name}.yaml", text)
    n = len([c for c in CASES if c[0].startswith("recipe_")])
    case(f"recipe_{name}", expect, RECIPE_COMMANDS[n % len(RECIPE_COMMANDS)].format(f=f, T="{T}"))


R0 = "network: resnet18\nvariant: X\n"
recipe_case("not_utf8", "UTF-8", R0.encode() + b"description: \xe9t\xe9\n")
recipe_case("duplicate_key", "given twice", R0 + "rules: []\nrules: []\n")
recipe_case("a_list", "mapping", "- match: layer*\n")
recipe_case("layers_as_list", "layers", R0 + "layers:\n  - fc\n  - conv1\n")
recipe_case("rules_not_list", "rules", R0 + "rules: {match: x}\n")
recipe_case("rule_without_match", "match", R0 + "rules:\n  - kind: conv3x3\n")
recipe_case("match_not_text", "match", R0 + "rules:\n  - match: 5\n")
recipe_case("rule_unknown_key", "colour", R0 + "rules:\n  - match: 'layer*'\n    colour: red\n")
recipe_case("kind_unknown", "kind", R0 + "rules:\n  - match: 'layer*'\n    kind: conv5x5\n")
recipe_case("c_above_C", "c > C", R0 + "rules:\n  - match: 'layer*'\n    c: 100000\n")
recipe_case("c_zero", "c must be >= 1", R0 + "rules:\n  - match: 'layer*'\n    c: 0\n")
recipe_case("c_over_zero", "c must be", R0 + "rules:\n  - match: 'layer*'\n    c: C/0\n")
recipe_case("n_zero", "n must be", R0 + "rules:\n  - match: 'layer*'\n    n: 0\n")
recipe_case("n_above_N", "n > N", R0 + "rules:\n  - match: 'layer*'\n    n: 9\n")
recipe_case("network_mismatch", "another network", "network: resnet50\nrules: []\n")
recipe_case("matches_nothing", "matches no layer", R0 + "rules:\n  - match: 'nothing*'\n")
recipe_case("override_unknown_layer", "no such", R0 + "layers:\n  nolayer: {c: 1}\n")
recipe_case("override_extra_key", "unknown key", R0 + "layers:\n  fc: {c: 1, q: 2}\n")
recipe_case("skip_not_bool", "skip", R0 + "rules:\n  - match: 'layer*'\n    skip: maybe\n")
recipe_case("alias_bomb", "expands to more than", "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
            + "".join(f"{chr(98 + i)}: &{chr(98 + i)} [" + ", ".join([f"*{chr(97 + i)}"] * 10)
                      + "]\n" for i in range(8)))

# ---- sweep specs -------------------------------------------------------------------------
S0 = "name: s\nbase: edge-npu\nnetworks: [resnet56]\n"


def sweep_case(name, expect, text, extra=""):
    f = write(f"sweep/{name}.yaml", text)
    case(f"sweep_{name}", expect, f"sweep {f} --out {{T}}/s.db --no-progress{extra}")


sweep_case("not_utf8", "UTF-8", S0.encode() + b"description: \xff\n")
sweep_case("duplicate_key", "given twice", S0 + "batch: 1\nbatch: 2\n")
sweep_case("alias_bomb", "expands to more than", "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
           + "".join(f"{chr(98 + i)}: &{chr(98 + i)} [" + ", ".join([f"*{chr(97 + i)}"] * 10)
                     + "]\n" for i in range(8)))
sweep_case("a_list", "mapping", "- base: edge-npu\n")
sweep_case("unknown_key", "unknown key", S0 + "colour: red\n")
sweep_case("missing_base", "base", "networks: [resnet56]\n")
sweep_case("base_unknown", "unknown preset", "base: no-such-npu\nnetworks: [resnet56]\n")
sweep_case("base_list", "base", "base: [edge-npu]\nnetworks: [resnet56]\n")
sweep_case("axes_list", "axes", S0 + "axes: [rows]\n")
sweep_case("axis_unknown", "axes.colour", S0 + "axes:\n  colour: [1, 2]\n")
sweep_case("axis_empty", "no values", S0 + "axes:\n  rows: []\n")
sweep_case("axis_invalid_arch", "rows", S0 + "axes:\n  rows: [8, 0]\n")
sweep_case("axis_energy_missing", "energy", S0 + "axes:\n  energy: [no_such_table.yaml]\n")
sweep_case("axis_fractional_user_bandwidth", "whole words", S0 + "axes:\n  bandwidth_mode: [user]\n"
           "  stall_model: [scalesim]\n  dram_bw_words_per_cycle: [1, 0.5]\n")
sweep_case("axis_word_bits_huge", "word_bits", S0 + "axes:\n  word_bits: [8, 1000000]\n")
sweep_case("axis_name_unknown", "axes.name", S0 + "axes:\n  name: [a, b]\n")
sweep_case("range_start_above_stop", "start <= stop", S0 + "axes:\n  rows: {start: 8, stop: 4, step: 1}\n")
sweep_case("range_huge_step", "limit", S0 + "axes:\n  rows: {start: 1, stop: 1.0e+30, step: 1}\n")
sweep_case("range_huge_num", "limit", S0 + "axes:\n  rows: {start: 1, stop: 64, num: 1000000000}\n")
sweep_case("range_huge_factor", "limit", S0 + "axes:\n  ifmap_sram_kb: {start: 1, stop: 1.0e+300, factor: 1.0000001}\n")
sweep_case("range_inf_stop", "finite", S0 + "axes:\n  rows: {start: 1, stop: .inf, step: 1}\n")
sweep_case("range_nan_start", "finite", S0 + "axes:\n  rows: {start: .nan, stop: 8, step: 1}\n")
sweep_case("range_step_zero", "step", S0 + "axes:\n  rows: {start: 1, stop: 8, step: 0}\n")
sweep_case("range_step_negative", "step", S0 + "axes:\n  rows: {start: 1, stop: 8, step: -1}\n")
sweep_case("range_factor_one", "factor", S0 + "axes:\n  rows: {start: 1, stop: 8, factor: 1}\n")
sweep_case("range_no_kind", "step, factor or num", S0 + "axes:\n  rows: {start: 1, stop: 8}\n")
sweep_case("random_huge_n", "limit", S0 + "axes:\n  clock_mhz: {random: {low: 100, high: 1000, n: 1000000000}}\n")
sweep_case("random_negative_seed", "seed", S0 + "axes:\n  clock_mhz: {random: {low: 100, high: 1000, n: 4, seed: -1}}\n")
sweep_case("random_low_above_high", "low <= high", S0 + "axes:\n  clock_mhz: {random: {low: 1000, high: 100, n: 4}}\n")
sweep_case("random_inf_high", "finite", S0 + "axes:\n  clock_mhz: {random: {low: 100, high: .inf, n: 4}}\n")
sweep_case("choice_empty", "choice", S0 + "axes:\n  dataflow: {choice: [], n: 3}\n")
sweep_case("grid_too_large", "limit", S0 + "axes:\n  rows: {start: 1, stop: 1000, step: 1}\n"
           "  cols: {start: 1, stop: 1001, step: 1}\n  vector_lanes: [1, 2]\n")
sweep_case("networks_missing", "networks", "base: edge-npu\n")
sweep_case("network_unknown", "networks", "base: edge-npu\nnetworks: [resnet99]\n")
sweep_case("network_not_text", "networks", "base: edge-npu\nnetworks: [[resnet56]]\n")
sweep_case("variant_unknown", "variants", S0 + "variants: [Z]\n")
sweep_case("variant_number", "variants", S0 + "variants: [1]\n")
sweep_case("recipe_missing", "no such recipe", S0 + "variants: [missing_recipe.yaml]\n")
sweep_case("batch_zero", "batch", S0 + "batch: 0\n")
sweep_case("batch_huge", "batch", S0 + f"batch: {10**30}\n")
sweep_case("batch_inf", "batch", S0 + "batch: .inf\n")
sweep_case("batch_text", "batch", S0 + "batch: [one]\n")
sweep_case("batch_large_for_network", "limit", S0 + "batch: 1000000\n")
sweep_case("objective_unknown", "objectives", S0 + "objectives: [speed]\n")
sweep_case("constraint_syntax", "constraints", S0 + "constraints: ['latency_ms is small']\n")
sweep_case("constraint_inf", "finite", S0 + "constraints: ['latency_ms <= 1e999']\n")
sweep_case("constraint_metric", "unknown metric", S0 + "constraints: ['speed <= 1']\n")
sweep_case("sample_zero", "sample", S0 + "sample: {n: 0}\n")
sweep_case("sample_negative_seed", "sample", S0 + "sample: {n: 2, seed: -5}\n")
sweep_case("evaluator_unknown", "evaluator", S0 + "evaluator: guess\n")
sweep_case("name_list", "name", S0.replace("name: s", "name: [a]"))
write("sweep/ok_toy.yaml", "name: ok\nbase: edge-npu\nnetworks: [resnet56]\nevaluator: toy\n"
      "axes:\n  rows: [8, 16]\n")
case("sweep_workers_zero", "--workers", "sweep {D}/sweep/ok_toy.yaml --out {T}/s.db --workers 0")
case("sweep_workers_huge", "--workers", "sweep {D}/sweep/ok_toy.yaml --out {T}/s.db --workers 100000")
case("sweep_chunk_zero", "--chunk", "sweep {D}/sweep/ok_toy.yaml --out {T}/s.db --chunk 0")
case("sweep_resume_missing", "no such results store", "sweep {D}/sweep/ok_toy.yaml --out {T}/s.db --resume --no-progress")
case("sweep_resume_not_a_store", "not a readable", "sweep {D}/sweep/ok_toy.yaml --out {S}/text.db --resume --no-progress")
case("sweep_store_exists", "already exists", "sweep {D}/sweep/ok_toy.yaml --out {S}/text.db --no-progress")
case("sweep_resume_other_spec", "different sweep spec", "sweep {D}/sweep/ok_toy.yaml --out {S}/good.db --resume --no-progress")
case("sweep_out_under_file", "text.db", "sweep {D}/sweep/ok_toy.yaml --out {S}/text.db/s.db --no-progress")
case("sweep_dask_bad_address", "--dask", "sweep {D}/sweep/ok_toy.yaml --out {T}/s.db --dask '' --no-progress")
case("sweep_spec_missing", "no such sweep spec", "sweep {D}/sweep/none.yaml --out {T}/s.db")

# ---- stores (pareto) ---------------------------------------------------------------------
case("pareto_missing", "no such results store", "pareto {T}/none.db")
case("pareto_text_file", "not a readable", "pareto {S}/text.db")
case("pareto_empty_sqlite", "not a readable", "pareto {S}/empty.db")
case("pareto_missing_keys", "damaged results store", "pareto {S}/missing_keys.db")
case("pareto_bad_spec_json", "damaged results store", "pareto {S}/bad_spec.db")
case("pareto_bad_constraint", "damaged results store", "pareto {S}/bad_constraint.db")
case("pareto_no_rows", "no rows", "pareto {S}/no_rows.db")
case("pareto_unknown_metric", "--x", "pareto {S}/good.db --x speed")
case("pareto_text_metric", "--y", "pareto {S}/good.db --y network")
case("pareto_out_file", "--out", "pareto {S}/good.db --out {S}/text.db")
case("pareto_out_dot", "--out", "pareto {S}/good.db --out .")

# ---- ONNX --------------------------------------------------------------------------------
for name, expect in (("garbage", "not a readable ONNX"), ("text", "not a readable ONNX"),
                     ("huge_input", "limit"), ("dynamic_input", "fixed-size"),
                     ("unsupported_op", "unsupported ONNX operator"),
                     ("dilation", "dilation"), ("asymmetric_pads", "asymmetric"),
                     ("pool_padding_over_half", "padding"), ("maxpool_no_kernel", ""),
                     ("conv1d", "tensor"), ("no_input", "no data input"),
                     ("matmul_dynamic_weight", "matrix product")):
    cmd = ("simulate --arch edge-npu --workload {O}/%s.onnx" if len(CASES) % 2
           else "verify --workload {O}/%s.onnx") % name
    case(f"onnx_{name}", expect, cmd)

# ---- command lines -----------------------------------------------------------------------
for flag in ("0", "-1", str(10**30), "inf", "nan", "abc", "1.5"):
    case(f"cli_simulate_batch_{flag}", "--batch",
         f"simulate --arch edge-npu --workload resnet56 --batch {flag}")
case("cli_verify_batch_huge", "--batch", f"verify --workload resnet56:A --batch {10**9}")
case("cli_codesign_batch_huge", "--batch", "codesign --arch edge-npu --network resnet56 --batch 100000000")
case("cli_speedup_batch_zero", "--batch", "speedup --networks resnet56 --batch 0 --out {T}/o")
case("cli_measure_batch_zero", "--batch", "measure --networks resnet56 --batch 0")
case("cli_simulate_batch_limit", "limit", "simulate --arch edge-npu --workload resnet18 --batch 100000")
case("cli_unknown_preset", "unknown preset", "simulate --arch nope --workload resnet56")
case("cli_arch_missing_file", "no such file", "simulate --arch {T}/none.yaml --workload resnet56")
case("cli_unknown_network", "resnet99", "simulate --arch edge-npu --workload resnet99")
case("cli_unknown_variant", "variant", "simulate --arch edge-npu --workload resnet56:Z")
case("cli_workload_missing_csv", "no such file", "simulate --arch edge-npu --workload {T}/none.csv")
case("cli_workload_missing_onnx", "no such file", "simulate --arch edge-npu --workload {T}/none.onnx")
case("cli_unknown_layer", "no such layer", "simulate --arch edge-npu --workload resnet56 --layers nolayer")
case("cli_trace_without_out", "--trace", "simulate --arch edge-npu --workload resnet56 --trace conv1")
case("cli_trace_not_gemm", "--trace", "simulate --arch edge-npu --workload resnet56 --trace relu --out {T}/o")
case("cli_simulate_out_file", "--out", "simulate --arch edge-npu --workload resnet56 --out {S}/text.db")
case("cli_simulate_out_dot", "--out", "simulate --arch edge-npu --workload resnet56 --out .")
case("cli_simulate_out_foreign", "--out", "simulate --arch edge-npu --workload resnet56 --out {S}/foreign")
case("cli_simulate_out_under_file", "text.db", "simulate --arch edge-npu --workload resnet56 --out {S}/text.db/o")
case("cli_codesign_out_foreign", "--out", "codesign --arch edge-npu --network resnet56 --out {S}/foreign")
case("cli_speedup_out_foreign", "--out", "speedup --networks resnet56 --out {S}/foreign")
case("cli_speedup_out_file", "--out", "speedup --networks resnet56 --out {S}/text.db")
case("cli_trace_output_dir", "--output", "trace resnet56 -o {S}/foreign")
case("cli_measure_out_dir", "--out", "measure --networks resnet56 --out {S}/foreign")
case("cli_measure_repeats_zero", "--repeats", "measure --networks resnet56 --repeats 0")
case("cli_verify_seed_negative", "--seed", "verify --workload resnet56:A --seed -1")
case("cli_verify_limit_zero", "--limit", "verify --workload resnet56:A --limit 0")
case("cli_codesign_target_zero", "--target", "codesign --arch edge-npu --network resnet56 --target 0")
case("cli_codesign_target_nan", "--target", "codesign --arch edge-npu --network resnet56 --target nan")
case("cli_codesign_lanes_text", "--lanes", "codesign --arch edge-npu --network resnet56 --lanes a,b")
case("cli_codesign_lanes_zero", "lanes", "codesign --arch edge-npu --network resnet56 --lanes 0")
case("cli_codesign_lanes_huge", "lanes", f"codesign --arch edge-npu --network resnet56 --lanes {10**30}")
case("cli_codesign_tree_unknown", "tree", "codesign --arch edge-npu --network resnet56 --trees oak")
case("cli_speedup_same_arch", "same arch", "speedup --arch edge-npu edge-npu --networks resnet56 --out {T}/o")
case("cli_speedup_detail", "--detail-network", "speedup --networks resnet56 --detail-network resnet18 --out {T}/o")
case("cli_counts_unknown", "resnet99", "counts resnet99")
case("cli_counts_variant", "variant", "counts resnet18 --variant Z")
case("cli_counts_recipe_missing", "", "counts resnet18 --recipe {T}/none.yaml")
case("cli_unknown_option", "unrecognized", "simulate --arch edge-npu --workload resnet56 --colour red")
case("cli_missing_required", "required", "simulate --workload resnet56")
case("cli_unknown_command", "invalid choice", "simulatte --arch edge-npu")

(HERE / "cases.txt").write_text(
    "# name\texpected text in the error line\tcommand line (see make_corpus.py)\n"
    + "".join(f"{n}\t{e}\t{c}\n" for n, e, c in CASES), encoding="utf-8")
print(f"{len(CASES)} cases")
