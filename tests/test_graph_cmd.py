"""``mmu-role-lint graph``: DOT of the role-flow graph, whole, around one
function, or along the path of one finding; ``--svg`` through graphviz."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from helpers import FIXTURES

from analyzer.cli import main

LEGACY = FIXTURES / "legacy" / "tree"
Q = r'"((?:[^"\\]|\\.)*)"'
NODE = re.compile(rf"^ +(n\d+) \[label={Q}, shape=(box|ellipse)"
                  r'(, penwidth=2|, style=filled, fillcolor="lightyellow")?\];$')
EDGE = re.compile(rf"^  (n\d+) -> (n\d+) \[label={Q}\];$")
CLUSTER = re.compile(r"^  subgraph (cluster_\d+) \{$")
LABEL = re.compile(rf"^ +label={Q};$")
DEFAULTS = re.compile(r"^  (node|edge) \[[^]]*\];$")


@dataclass
class Dot:
    title: str = ""
    labels: dict[str, str] = field(default_factory=dict)  # id -> label
    shapes: dict[str, str] = field(default_factory=dict)
    filled: set[str] = field(default_factory=set)  # override and mask nodes
    cluster: dict[str, str] = field(default_factory=dict)  # id -> function, when clustered
    edges: list[tuple[str, str, str]] = field(default_factory=list)

    def step(self, node: str) -> str:
        """``function:line`` of a step node."""
        return self.labels[node].split(" ", 1)[0]


def parse_dot(text: str) -> Dot:
    """Our DOT, line by line: every line must be one of the forms we write."""
    lines = text.splitlines()
    assert lines[0] == "digraph role_flow {" and lines[-1] == "}"
    dot, current = Dot(), None
    for line in lines[1:-1]:
        if m := NODE.match(line):
            dot.labels[m[1]], dot.shapes[m[1]] = m[2], m[3]
            if m[4] and "filled" in m[4]:
                dot.filled.add(m[1])
            if current is not None:
                assert line.startswith("    ")
                dot.cluster[m[1]] = current
        elif m := EDGE.match(line):
            dot.edges.append((m[1], m[2], m[3]))
        elif m := CLUSTER.match(line):
            assert current is None
            current = ""
        elif m := LABEL.match(line):
            if current == "":
                current = m[1]
            else:
                dot.title = m[1]
        elif line == "  }":
            assert current
            current = None
        else:
            assert DEFAULTS.match(line), line
    assert current is None
    assert all(u in dot.labels and v in dot.labels for u, v, _ in dot.edges)
    if shutil.which("dot"):
        assert subprocess.run(["dot", "-Tcanon"], input=text, text=True, capture_output=True).returncode == 0
    return dot


def graph(capsys, *argv: str) -> tuple[int, Dot | None, str]:
    status = main(["graph", "--tree", str(LEGACY), *argv])
    out, err = capsys.readouterr()
    return status, parse_dot(out) if status == 0 and out else None, err


def only_finding(capsys) -> dict:
    main(["scan", "--tree", str(LEGACY), "--format", "json"])
    (f,) = json.loads(capsys.readouterr().out)["findings"]
    return f


def test_whole_graph_clusters_nodes_by_function(capsys):
    from analyzer.analysis import analyze
    from analyzer.sources import tree_image

    g = analyze(tree_image(LEGACY)).graph
    status, dot, _ = graph(capsys)
    assert status == 0
    assert len(dot.labels) == g.number_of_nodes() and len(dot.edges) == g.number_of_edges()
    for node, function in dot.cluster.items():
        if dot.shapes[node] == "box":
            assert re.match(rf"{re.escape(function)}:\d+ ", dot.labels[node]), dot.labels[node]
    flows = {label for _, _, label in dot.edges}
    assert {"value", "argument", "param", "return", "result", "store", "load",
            "lookup side: value", "stored side: value"} <= flows
    assert "slot role" in dot.labels.values() and not any(
        dot.labels[n] == "slot role" for n in dot.cluster)


def test_finding_path_is_two_chains_in_trace_order(capsys, tmp_path):
    f = only_finding(capsys)
    out = tmp_path / "finding.dot"
    assert main(["graph", "--tree", str(LEGACY), "--finding", f["fingerprint"], "-o", str(out)]) == 0
    dot = parse_dot(out.read_text())
    assert f["fingerprint"] in dot.title
    chains: list[list[str]] = [[dot.edges[0][0]]]
    for u, v, _ in dot.edges:
        if u != chains[-1][-1]:
            chains.append([u])
        chains[-1].append(v)
    compare = next(t["line"] for t in f["trace"] if t["kind"] == "compare")
    assert len(chains) == 2 and chains[0][-1] == chains[1][-1]
    assert dot.shapes[chains[0][-1]] == "box" and dot.labels[chains[0][-1]].startswith(
        f"cached_root_available:{compare} ")
    assert set(dot.labels) == {n for chain in chains for n in chain}
    # the side of the cause first: the stored side's filter
    assert dot.step(chains[0][0]) == f"{f['location']['function']}:{f['location']['line']}"
    for side, chain in zip(("stored", "lookup"), chains, strict=True):
        steps = [dot.step(n) for n in chain if dot.shapes[n] == "box"]
        trace = [f"{t['function']}:{t['line']}" for t in f["trace"]
                 if t["side"] == side and t["kind"] != "guard"]
        assert steps == trace
    stored_flows = [label for u, _, label in dot.edges if u in chains[0]]
    assert stored_flows == ["value", "store", "load", "stored side: value"]
    # the override that forces the field is drawn apart
    assert {dot.labels[n] for n in dot.filled} == {"kvm_mmu_get_page:91 role.cr4_pae = 0"}


def test_finding_by_prefix_and_unknown_fingerprint(capsys):
    f = only_finding(capsys)
    status, dot, _ = graph(capsys, "--finding", f["fingerprint"][:6])
    assert status == 0 and f["fingerprint"] in dot.title
    status, _, err = graph(capsys, "--finding", "ffffffffffffffff")
    assert status == 2 and err.count("\n") == 1
    assert "ffffffffffffffff" in err and f["fingerprint"] in err and "cr4_pae" in err


def test_function_is_its_nodes_one_hop_around_and_the_comparisons_it_reaches(capsys):
    _, whole, _ = graph(capsys)
    status, part, _ = graph(capsys, "--function", "kvm_mmu_get_page")
    assert status == 0 and "kvm_mmu_get_page" in part.title

    def inside(d: Dot) -> set[str]:
        return {d.labels[n] for n, fn in d.cluster.items() if fn == "kvm_mmu_get_page"}

    core = inside(whole)
    assert inside(part) == core and core
    one_hop = {whole.labels[b] for u, v, _ in whole.edges for a, b in ((u, v), (v, u))
               if whole.labels[a] in core} - core
    assert one_hop <= set(part.labels.values())
    # the store reaches cached_root_available's comparison through the slot
    assert "slot role" in part.labels.values()
    compares = [part.labels[n] for n in part.labels if part.shapes[n] == "box"
                and part.labels[n].startswith("cached_root_available:222 ")]
    assert compares, "the comparison its store meets is drawn"
    # only role flow: no parameter that no role field reads (gfn, gaddr)
    assert not any(label in ("kvm_mmu_get_page(gfn)", "kvm_mmu_get_page(gaddr)")
                   for label in whole.labels.values())
    assert "kvm_mmu_get_page(direct)" in whole.labels.values()


def test_unknown_function_names_the_nearest_ones(capsys):
    status, _, err = graph(capsys, "--function", "kvm_mmu_get_pgae")
    assert status == 2 and err.count("\n") == 1
    assert "kvm_mmu_get_pgae" in err and "nearest: kvm_mmu_get_page" in err
    assert "cached_root_available," not in err  # not every name in the graph


def test_files_limit_the_graph(capsys):
    _, whole, _ = graph(capsys)
    status, part, _ = graph(capsys, "arch/x86/kvm/mmu.c")
    assert status == 0 and 0 < len(part.labels) < len(whole.labels)
    assert set(part.cluster.values()) < set(whole.cluster.values())


def test_svg_without_graphviz_is_a_note(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    svg = tmp_path / "g.svg"
    status, dot, err = graph(capsys, "--function", "kvm_mmu_get_page", "--svg", str(svg))
    assert status == 0 and dot is not None and not svg.exists()
    assert err.count("\n") == 1 and "graphviz is not installed" in err


def fake_dot(tmp_path: Path, monkeypatch, script: str) -> None:
    """A ``dot`` on PATH that runs ``script`` (sh) instead of graphviz."""
    fake = tmp_path / "bin" / "dot"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\n" + script)
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}:/usr/bin:/bin")


def test_svg_runs_dot(capsys, tmp_path, monkeypatch):
    fake_dot(tmp_path, monkeypatch, '[ "$1" = -Tsvg ] && [ "$2" = -o ] && cat > "$3"\n')
    svg = tmp_path / "g.svg"
    status = main(["graph", "--tree", str(LEGACY), "--function", "kvm_mmu_get_page",
                   "--svg", str(svg), "-o", str(tmp_path / "g.dot")])
    assert status == 0 and capsys.readouterr().err == ""
    assert svg.read_text() == Path(tmp_path / "g.dot").read_text()


def test_svg_written_despite_a_layout_warning_is_not_bad_input(capsys, tmp_path, monkeypatch):
    fake_dot(tmp_path, monkeypatch, 'cat > "$3"\necho "Warning: too many nodes to lay out" >&2\nexit 1\n')
    svg = tmp_path / "g.svg"
    status = main(["graph", "--tree", str(LEGACY), "--svg", str(svg), "-o", str(tmp_path / "g.dot")])
    err = capsys.readouterr().err
    assert status == 0 and svg.stat().st_size > 0
    assert err.count("\n") == 1 and "written, but dot warned: Warning: too many nodes" in err


def test_svg_of_a_big_graph_says_it_is_working(capsys, tmp_path, monkeypatch):
    from analyzer.commands import graph as graph_cmd

    fake_dot(tmp_path, monkeypatch, 'cat > "$3"\n')
    monkeypatch.setattr(graph_cmd, "BIG", 3)
    status = main(["graph", "--tree", str(LEGACY), "--svg", str(tmp_path / "g.svg"),
                   "-o", str(tmp_path / "g.dot")])
    err = capsys.readouterr().err
    assert status == 0 and "laying out" in err and "--function NAME or --finding FP" in err
