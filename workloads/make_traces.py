"""Regenerate the shipped layer traces workloads/traces/<network>_regular.csv.

    python -m accelsim.workloads.make_traces
"""

from __future__ import annotations

from pathlib import Path

TRACES = Path(__file__).resolve().parent / "traces"


def fresh_trace(network: str):
    from accelsim import zoo
    from accelsim.trace import trace

    return trace(zoo.build_model(network), zoo.input_shape(network), network, "regular")


def main() -> None:
    from accelsim import zoo
    from accelsim.workload import write_workload_csv

    for net in zoo.NETWORKS:
        path = TRACES / f"{net}_regular.csv"
        write_workload_csv(fresh_trace(net), path)
        print(path)


if __name__ == "__main__":
    main()
