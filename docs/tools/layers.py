#!/usr/bin/env python3
"""Draws docs/images/layers.svg and .png: the layers of MLStyle and which depends on which, read from the code.

A layer is a namespace (MLStyle.Onnx, MLStyle.Losses, ..., MLStyle.ML, MLStyle.Cli); an arrow A -> B means a file of A
uses B (a `using MLStyle.B;` or a fully qualified `MLStyle.B.` name); arrows implied by a longer path are not drawn. Run from the repository root: python3 docs/tools/layers.py
(needs graphviz's `dot`)."""
import pathlib, re, subprocess, collections

ROOT = pathlib.Path(__file__).resolve().parents[2]
# Bottom to top, as docs/architecture.md lists them; each layer may use only those below it.
LAYERS = [
    ("Files", "safe paths, atomic writes"),
    ("Onnx", "graph building, shapes, transforms"),
    ("Autodiff", "reverse mode, gradient rules"),
    ("Runtime", "ONNX Runtime sessions, devices"),
    ("Imaging", "images, colour transfer, plots"),
    ("Backbones", "ResNet18, VGG, any CNN"),
    ("Stylizers", "feed-forward styliser network"),
    ("Optimization", "L-BFGS, Adam (AdamRule)"),
    ("Losses", "style objective, DeepDream objective and schedule"),
    ("Engines", "style transfer, DeepDream, styliser training, pre-flight"),
    ("Batch", "directory runs, manifest, report"),
    ("ML", "ML.NET estimators (MLStyle.ML)"),
    ("Cli", "mlstyle command (MLStyle.Cli)"),
]
NAMES = [n for n, _ in LAYERS]


def layer_of(path: pathlib.Path) -> str | None:
    parts = path.relative_to(ROOT / "src").parts
    if parts[0] == "MLStyle.ML": return "ML"
    if parts[0] == "MLStyle.Cli": return "Cli"
    return parts[1] if len(parts) > 2 and parts[1] in NAMES else None


edges = collections.Counter()
for f in (ROOT / "src").rglob("*.cs"):
    if "/obj/" in str(f) or "/bin/" in str(f): continue
    src = layer_of(f)
    if src is None: continue
    text = f.read_text(encoding="utf-8")
    for m in set(re.findall(r"\bMLStyle\.(\w+)", text)):
        dst = "ML" if m == "ML" else "Cli" if m == "Cli" else m
        if dst in NAMES and dst != src:
            edges[(src, dst)] += 1

upward = [(a, b) for (a, b) in edges if NAMES.index(b) > NAMES.index(a)]
lines = ["digraph layers {", '  rankdir=BT; node [shape=box, style="rounded,filled", fillcolor="#f3f6fb", fontname="DejaVu Sans", fontsize=11];',
         '  edge [color="#8a98ad", arrowsize=0.6];']
for n, what in LAYERS:
    lines.append(f'  {n} [label=<<b>{n}</b><br/><font point-size="9">{what}</font>>];')
for (a, b), count in sorted(edges.items()):
    style = ' [color="#d62728", penwidth=2]' if (a, b) in upward else ""
    lines.append(f"  {a} -> {b}{style};")
lines.append("}")
dot = "\n".join(lines)
out = ROOT / "docs" / "images"
# Draw the transitive reduction (graphviz's tred): an arrow implied by a longer path is left out, so the picture reads as layers.
reduced = subprocess.run(["tred"], input=dot.encode(), check=True, capture_output=True).stdout
for fmt in ("svg", "png"):
    subprocess.run(["dot", f"-T{fmt}", "-Gdpi=110", "-o", str(out / f"layers.{fmt}")], input=reduced, check=True)
print(f"{len(edges)} dependencies, {len(upward)} upward" + (": " + ", ".join(f"{a}->{b}" for a, b in upward) if upward else ""))
