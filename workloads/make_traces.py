"""Regenerate the shipped layer traces workloads/traces/<network>_regular.csv.

    python -m accelsim.workloads.make_traces
"""

from __future__ import annotations

from pathlib import Path

TRACES = Path(__file__).resolve().parent / "traces"


def fresh_trace(network: str, model=None):
    """The trace shipped for ``network``; ``model`` (default: a freshly built one) lets the tests
    reuse a model they already built."""
    from accelsim.workload import zoo
    from accelsim.workload.trace import trace

    if model is None:
        model = zoo.build_model(network)
    return trace(model, zoo.input_shape(network), network, "regular")


def main() -> None:
    from accelsim.workload import zoo
    from accelsim.workload.layer import write_workload_csv

    for net in zoo.NETWORKS:
        path = TRACES / f"{net}_regular.csv"
        write_workload_csv(fresh_trace(net), path)
        print(path)


if __name__ == "__main__":
    main()
