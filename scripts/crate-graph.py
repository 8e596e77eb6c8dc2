#!/usr/bin/env python3
"""The workspace's crate graph, drawn from `cargo metadata`.

    scripts/crate-graph.py          print the Mermaid graph
    scripts/crate-graph.py --check  fail when ARCHITECTURE.md's copy (between
                                    the crate-graph markers) differs

Edges are the workspace crates' normal dependencies on each other; an edge
only a feature turns on is drawn dashed and labelled with the feature.
"""
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BEGIN, END = "<!-- crate-graph:begin -->", "<!-- crate-graph:end -->"


def graph() -> str:
    meta = json.loads(
        subprocess.run(
            ["cargo", "metadata", "--format-version", "1", "--no-deps"],
            cwd=ROOT, check=True, capture_output=True, text=True,
        ).stdout
    )
    members = {p["name"]: p for p in meta["packages"]}
    lines = ["```mermaid", "graph TD"]
    for name in sorted(members):
        pkg = members[name]
        features = pkg.get("features", {})
        for dep in sorted(pkg["dependencies"], key=lambda d: d["name"]):
            if dep["name"] not in members or dep["kind"] is not None:
                continue
            node = lambda n: n.replace("-", "_") + "[" + n + "]"
            if dep.get("optional"):
                on = sorted(f for f, v in features.items() if f"dep:{dep['name']}" in v)
                label = "|" + ", ".join(on) + "|" if on else ""
                lines.append(f"    {node(name)} -.->{label} {node(dep['name'])}")
            else:
                lines.append(f"    {node(name)} --> {node(dep['name'])}")
    lines.append("```")
    return "\n".join(lines)


def main() -> int:
    drawn = graph()
    if sys.argv[1:] != ["--check"]:
        print(drawn)
        return 0
    doc = (ROOT / "ARCHITECTURE.md").read_text()
    if BEGIN not in doc or END not in doc:
        print("crate-graph: ARCHITECTURE.md has no crate-graph markers", file=sys.stderr)
        return 1
    shown = doc.split(BEGIN, 1)[1].split(END, 1)[0].strip()
    if shown != drawn:
        print("crate-graph: ARCHITECTURE.md's crate graph is not the workspace's;"
              " paste the output of scripts/crate-graph.py between the markers", file=sys.stderr)
        return 1
    print("crate-graph: ARCHITECTURE.md matches cargo metadata")
    return 0


if __name__ == "__main__":
    sys.exit(main())
