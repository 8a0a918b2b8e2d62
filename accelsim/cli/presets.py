HELP = "list the shipped architecture presets"


def add_arguments(p):
    p.add_argument("--json", action="store_true", help="print the presets as JSON")


def run(args) -> int:
    import json

    from accelsim.hardware.arch import arch_to_dict, list_presets, load_arch
    from accelsim.hardware.energy import arch_area_um2

    presets = {name: load_arch(name) for name in list_presets()}
    if args.json:
        print(json.dumps({n: arch_to_dict(a) for n, a in presets.items()}, indent=2))
        return 0
    print(f"{'preset':<20}{'array':>10}{'df':>4}{'SRAM KB i/f/o':>22}{'MHz':>7}{'bw':>20}"
          f"{'pool unit':>26}{'mm2':>8}")
    for n, a in presets.items():
        pool = (f"{a.pool.lanes} lanes {a.pool.tree}/{a.pool.mode}" if a.pool else "none")
        bw = ("calc" if a.bandwidth_mode == "calc"
              else f"{a.dram_bw_words_per_cycle:g} w/cyc {a.stall_model}")
        sram = f"{a.ifmap_sram_kb:g}/{a.filter_sram_kb:g}/{a.ofmap_sram_kb:g}"
        print(f"{n:<20}{f'{a.rows}x{a.cols}':>10}{a.dataflow:>4}{sram:>22}{a.clock_mhz:>7g}"
              f"{bw:>20}{pool:>26}{arch_area_um2(a)['area_mm2']:>8.2f}")
    return 0
