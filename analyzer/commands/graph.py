"""``graph``: the role-flow graph as DOT: whole, around one function, or
along the path of one finding. Nodes are labelled ``function:line text`` and
clustered by function; edges are labelled by how the value flows (value,
argument, param, return, result, store, load)."""

from __future__ import annotations

import argparse
import difflib
import itertools
import shutil
import subprocess
import sys
from pathlib import Path

from analyzer.commands.common import emit, tree_arg
from analyzer.errors import UserError

NAME = "graph"
HELP = "write the role-flow graph as DOT: whole, around a function, or along a finding"

Edge = tuple[tuple, tuple, str]  # from, to, flow


def add_arguments(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("--tree", metavar="DIR",
                    help="top of the kernel tree (default: the git work tree, else .)")
    sp.add_argument("-o", "--output", metavar="FILE", help="write the DOT to FILE (default: stdout)")
    what = sp.add_mutually_exclusive_group()
    what.add_argument("--function", metavar="NAME",
                      help="only the nodes of function NAME and those one edge away")
    what.add_argument("--finding", metavar="FINGERPRINT",
                      help="only the path of the finding with this fingerprint (or a unique "
                           "prefix of it), as scan --format json prints it")
    sp.add_argument("--svg", metavar="FILE",
                    help="also render the graph to FILE with graphviz's dot, when installed")
    sp.add_argument("files", nargs="*", metavar="FILE", help="files to analyze (default: find them)")


def image_of(args: argparse.Namespace):
    """The image ``scan`` would analyze for the same --tree and FILE arguments."""
    from analyzer.sources import files_image, tree_image

    if not args.files:
        return tree_image(tree_arg(args.tree))
    if args.tree is not None and not Path(args.tree).is_dir():
        raise UserError(f"{args.tree}: not a directory; pass --tree with the top of a kernel tree")
    return files_image(args.files, Path(args.tree) if args.tree else None)


def function_of(node: tuple, data: dict) -> str | None:
    step = data.get("step")
    if step is not None:
        return step.function
    return node[1] if node[0] in ("ret", "param") else None


def whole(g) -> tuple[list, list[Edge]]:
    return list(g.nodes), [(u, v, d.get("flow", "")) for u, v, d in g.edges(data=True)]


def around_function(g, name: str) -> tuple[list, list[Edge]]:
    """The function's nodes, every edge into or out of them with the nodes
    at their other ends, and onwards the ways its values go to the
    comparisons they meet (through stores and loads, returns and calls)."""
    import networkx as nx

    core = [n for n, d in g.nodes(data=True) if function_of(n, d) == name]
    if not core:
        known = sorted({f for n, d in g.nodes(data=True) if (f := function_of(n, d))})
        near = difflib.get_close_matches(name, known, n=5, cutoff=0.5) or known[:5]
        raise UserError(f"no function '{name}' in the role-flow graph; nearest: "
                        f"{', '.join(near) or '(none)'} ({len(known)} functions in it)")
    inside = set(core)
    down: set = set()
    for n in core:
        down |= nx.descendants(g, n)
    compares = {n for n in down | inside if g.nodes[n].get("kind") == "compare"}
    onward: set = set()
    for c in compares:
        onward |= (nx.ancestors(g, c) & down) | {c}
    keep = inside | onward
    edges = [(u, v, d.get("flow", "")) for u, v, d in g.edges(data=True)
             if u in inside or v in inside or (u in keep and v in keep)]
    return list(dict.fromkeys(core + [n for u, v, _ in edges for n in (u, v)])), edges


def finding_path(g, f) -> tuple[list, list[Edge]]:
    """One path per side, each ending at a comparison (a finding that names
    several lookups has a pair of sides for each); consecutive nodes are
    graph edges (an edge missing from the graph is labelled ``trace``)."""
    sides: list[list] = [[]]
    for n in f.graph_path:
        sides[-1].append(n)
        if n[0] == "step" and n[4] == "compare":
            sides.append([])
    edges: list[Edge] = []
    for side in sides:
        for u, v in itertools.pairwise(side):
            flow = g.edges[u, v].get("flow", "") if g.has_edge(u, v) else "trace"
            if (u, v, flow) not in edges:
                edges.append((u, v, flow))
    return list(dict.fromkeys(f.graph_path)), edges


def select_finding(findings: list, wanted: str):
    hits = [f for f in findings if f.fingerprint.startswith(wanted.lower())] if wanted else []
    if len(hits) == 1 and hits[0].graph_path:
        return hits[0]
    known = "; ".join(f"{f.fingerprint} ({f.key} in {f.function})" for f in findings
                      if f.graph_path) or "none: the tree has no finding"
    if len(hits) > 1:
        raise UserError(f"{wanted}: more than one finding has a fingerprint starting so; "
                        f"give more of it: {known}")
    raise UserError(f"{wanted}: no finding with a role-flow path has this fingerprint; "
                    f"known fingerprints: {known}")


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


# where one path forces a field: drawn filled, so the cause stands out
_FORCED = {"override": "lightyellow", "mask": "lightyellow"}


def _shape(node: tuple, data: dict) -> str:
    if node[0] != "step":
        return "shape=ellipse"
    kind = data.get("kind")
    if kind == "compare":
        return "shape=box, penwidth=2"
    if kind in _FORCED:
        return f'shape=box, style=filled, fillcolor="{_FORCED[kind]}"'
    return "shape=box"


def _edge_label(g, u, v, flow: str) -> str:
    """An edge into a comparison says which side it feeds: the stored side
    reads a slot (a load), the lookup side computes the role afresh."""
    if g.nodes.get(v, {}).get("kind") != "compare" or flow == "trace":
        return flow
    side = "stored" if g.nodes.get(u, {}).get("kind") == "load" else "lookup"
    return f"{side} side: {flow}"


def to_dot(g, nodes: list, edges: list[Edge], title: str = "") -> str:
    ids = {n: f"n{i}" for i, n in enumerate(nodes)}
    clusters: dict[str | None, list] = {}
    for n in nodes:
        clusters.setdefault(function_of(n, g.nodes.get(n, {})), []).append(n)
    out = ["digraph role_flow {"]
    if title:
        out.append(f"  label={_quote(title)};")
    out.append('  node [fontname="monospace", fontsize=10];')
    out.append("  edge [fontsize=9];")

    def node_line(n, indent: str) -> str:
        data = g.nodes.get(n, {})
        return f"{indent}{ids[n]} [label={_quote(data.get('label', str(n)))}, {_shape(n, data)}];"

    for i, (function, members) in enumerate(clusters.items()):
        if function is None:
            out.extend(node_line(n, "  ") for n in members)
            continue
        out.append(f"  subgraph cluster_{i} {{")
        out.append(f"    label={_quote(function)};")
        out.extend(node_line(n, "    ") for n in members)
        out.append("  }")
    out.extend(f"  {ids[u]} -> {ids[v]} [label={_quote(_edge_label(g, u, v, flow))}];"
               for u, v, flow in edges)
    out.append("}")
    return "\n".join(out) + "\n"


# more nodes than this take graphviz minutes to lay out: say so while it works
BIG = 400


def render_svg(dot: str, path: str, nodes: int, part: bool) -> None:
    exe = shutil.which("dot")
    if exe is None:
        print(f"mmu-role-lint: graphviz is not installed (no 'dot' program), so {path} was not "
              "written; install graphviz or render the DOT output elsewhere", file=sys.stderr)
        return
    if nodes > BIG:
        hint = "" if part else "; --function NAME or --finding FP draws a part in seconds"
        print(f"mmu-role-lint: laying out {nodes} nodes with graphviz's dot into {path}, "
              f"which can take minutes{hint}", file=sys.stderr, flush=True)
    done = subprocess.run([exe, "-Tsvg", "-o", path], input=dot, text=True,
                          capture_output=True, check=False)
    if done.returncode != 0:
        why = (done.stderr.strip().splitlines() or ["no message"])[0]
        written = Path(path).is_file() and Path(path).stat().st_size > 0
        if written:  # a layout warning, not bad input: the picture is there
            print(f"mmu-role-lint: {path} written, but dot warned: {why}", file=sys.stderr)
            return
        raise UserError(f"{path}: graphviz's dot -Tsvg failed ({why})")


def run(args: argparse.Namespace) -> int:
    from analyzer.analysis import analyze

    analysis = analyze(image_of(args))
    g = analysis.graph
    title = ""
    if args.function:
        nodes, edges = around_function(g, args.function)
        title = f"role flow around {args.function}()"
    elif args.finding is not None:
        f = select_finding(analysis.findings, args.finding)
        nodes, edges = finding_path(g, f)
        title = f"{f.key} in {f.function}() [{f.fingerprint}]"
    else:
        nodes, edges = whole(g)
    dot = to_dot(g, nodes, edges, title)
    emit(dot, args.output)
    if args.svg:
        render_svg(dot, args.svg, len(nodes), part=bool(args.function or args.finding))
    return 0
