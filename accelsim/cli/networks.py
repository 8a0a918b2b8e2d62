HELP = "list the shipped networks, their variants, input shapes, params and MACs"


def add_arguments(p):
    p.add_argument("--json", action="store_true", help="print the table as JSON")


def run(args) -> int:
    from accelsim.workload.networks import load_variant, variant_params
    from accelsim.workload.recipe import VARIANTS
    from accelsim.workload.zoo import NETWORKS, input_shape

    if getattr(args, "json", False):
        from accelsim.common.fsio import dumps_json

        print(dumps_json({n: {"input_shape": list(input_shape(n)), **{
            v: {"params": variant_params(n, v), "macs": load_variant(n, v).macs}
            for v in VARIANTS}} for n in NETWORKS}), end="")
        return 0
    head = "".join(f"{'params ' + v:>16}{'GMACs ' + v:>14}" for v in VARIANTS)
    print(f"{'network':<18}{'input':>12}{head}")
    for n in NETWORKS:
        shape = "x".join(map(str, input_shape(n)))
        cells = "".join(f"{variant_params(n, v):>16,}{load_variant(n, v).macs / 1e9:>14.3f}"
                        for v in VARIANTS)
        print(f"{n:<18}{shape:>12}{cells}")
    return 0
