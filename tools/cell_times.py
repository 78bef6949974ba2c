"""Median and total cell time of an executed notebook, from the timestamps nbclient records.

    .venv/bin/python tools/cell_times.py notebooks/executed/solved.executed.ipynb
"""
import json
import statistics
import sys
from datetime import datetime

nb = json.load(open(sys.argv[1]))
times = []
for c in nb["cells"]:
    ex = c.get("metadata", {}).get("execution", {})
    if "iopub.execute_input" in ex and "shell.execute_reply" in ex:
        t0 = datetime.fromisoformat(ex["iopub.execute_input"].replace("Z", "+00:00"))
        t1 = datetime.fromisoformat(ex["shell.execute_reply"].replace("Z", "+00:00"))
        kind = c["metadata"].get("workbook", {}).get("id", "?")
        times.append(((t1 - t0).total_seconds(), kind))
if not times:
    sys.exit("no execution timestamps in the notebook")
secs = [t for t, _ in times]
print(f"{len(secs)} code cells: median {statistics.median(secs):.2f} s, total {sum(secs):.0f} s")
for t, k in sorted(times, reverse=True)[:5]:
    print(f"  {t:7.1f} s  {k}")
