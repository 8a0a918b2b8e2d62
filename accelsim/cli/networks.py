HELP = "list the shipped networks, their variants, input shapes, params and MACs"


def add_arguments(p):
    pass


def run(args) -> int:
    from ..networks import load_variant, variant_params
    from ..recipe import VARIANTS
    from ..zoo import NETWORKS, input_shape

    head = "".join(f"{'params ' + v:>16}{'GMACs ' + v:>14}" for v in VARIANTS)
    print(f"{'network':<18}{'input':>12}{head}")
    for n in NETWORKS:
        shape = "x".join(map(str, input_shape(n)))
        cells = "".join(f"{variant_params(n, v):>16,}{load_variant(n, v).macs / 1e9:>14.3f}"
                        for v in VARIANTS)
        print(f"{n:<18}{shape:>12}{cells}")
    return 0
