"""Parse C with tree-sitter-c, which only ``parser`` imports.

Sources are neutralized first (see ``analyzer.neutralize``): kernel idioms the
C grammar cannot see are replaced by text of the same byte length, so node
byte spans, rows and columns are those of the original file. Text is always
read back from the ORIGINAL source (``ParsedFile.text_of``).

Other modules walk the returned ``Node`` objects themselves; for patterns
clearer as data, ``captures(query_source, node)`` runs a tree-sitter query.

The analysis walks a function recursively; ``beyond_limits`` says when a
function (or any node) is more than it may cost: text left out of the parse
(``analyzer.neutralize.oversized``) or syntax nested deeper than
``MAX_NESTING_DEPTH``.

``parser`` parses and runs queries, ``functions`` lists function
definitions and parse errors, ``limits`` says what is beyond the limits,
``walk`` finds nodes.
"""

from __future__ import annotations

from analyzer.cparse.functions import (
    FunctionDef,
    code_digest,
    code_of,
    error_counts,
    functions,
    same_code,
)
from analyzer.cparse.limits import MAX_NESTING_DEPTH, BeyondLimits, beyond_limits, left_out
from analyzer.cparse.parser import Node, ParsedFile, captures, parse_c, parse_lines
from analyzer.cparse.walk import children_of_type, descendants_of_type, loop_macro_head

__all__ = [
    "MAX_NESTING_DEPTH",
    "BeyondLimits",
    "FunctionDef",
    "Node",
    "ParsedFile",
    "beyond_limits",
    "captures",
    "children_of_type",
    "code_digest",
    "code_of",
    "descendants_of_type",
    "error_counts",
    "functions",
    "left_out",
    "loop_macro_head",
    "parse_c",
    "parse_lines",
    "same_code",
]
