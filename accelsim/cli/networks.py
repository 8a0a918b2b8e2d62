HELP = "list the shipped networks, their variants, input shapes and parameter counts"


def add_arguments(p):
    pass


def run(args) -> int:
    from ..networks import load_workload
    from ..zoo import NETWORKS, input_shape, published_params

    print(f"{'network':<18}{'input':>12}{'params':>14}{'GMACs':>9}  variants")
    for n in NETWORKS:
        shape = "x".join(map(str, input_shape(n)))
        gmacs = load_workload(n).macs / 1e9
        print(f"{n:<18}{shape:>12}{published_params(n):>14,}{gmacs:>9.3f}  regular, A, B")
    return 0
