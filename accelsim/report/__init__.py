"""Stage 5b, reports: tables (``tables``: CSV, Markdown, LaTeX from result rows), plots
(``plots``), the single-file HTML report (``html``) and exports other tools load (``export``:
ONNX, Parquet, SCALE-Sim topologies).

``from accelsim.report import to_csv`` keeps working: the names of ``tables`` are re-exported
here."""

from .tables import *  # noqa: F401,F403
