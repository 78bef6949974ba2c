"""Prints each code cell's outputs of an executed notebook, compactly (for people and CI logs)."""
import json
import sys

nb = json.load(open(sys.argv[1]))
for i, c in enumerate(nb["cells"]):
    if c["cell_type"] != "code":
        continue
    w = c["metadata"].get("workbook", {})
    outs = []
    for o in c.get("outputs", []):
        if o["output_type"] == "stream":
            outs.append("".join(o["text"]).strip()[:800])
        elif o["output_type"] == "error":
            outs.append("ERROR " + o.get("ename", "") + ": " + o.get("evalue", "")[:1500])
        else:
            outs.append("[" + ", ".join(o.get("data", {}).keys()) + "]")
    print(f"[{i}] {w.get('kind')}/{w.get('id')}: " + (" | ".join(outs) if outs else "-"))
