"""Where pages live: the containers a role load reads and a role store fills.

A role stored into a page (``sp->role = role``) is only ever compared with
the loads that read pages out of the containers that page is put in: the
shadow-page hash (``mmu_page_hash``), the TDP MMU roots list
(``tdp_mmu_roots``), root slots (``root.hpa``, ``prev_roots[]``,
``pae_root[]``), the child of a parent spte. The same holds for the roles of
the MMU contexts (``root_mmu``, ``guest_mmu``, ``nested_mmu``).

This module follows pointers, flow-insensitively, through the parsed
functions: assignments, call arguments into parameters, returns into call
results, list insertions and iterations (the iterator macros defined in the
files are expanded down to the list primitives named in
rules/containers.toml), stores through pointers and ``swap``. Values are
sets of labels: the struct members a pointer was read from (``field``
labels, named by their last member: ``&kvm->arch.mmu_page_hash[i]`` is
``mmu_page_hash``) and the globals. A member read through a page pointer
(``sp->spt``) is the page itself: its address is how the page is found
again (``__pa(sp->spt)`` is a root's hpa). A call to a function the files do
not define passes its arguments' labels on to its result (``to_shadow_page``,
``__pa``, ``list_first_or_null_rcu``).

A load reads the labels of the pointer it goes through; a store fills the
labels of its page pointer and those of every container the page reaches.
A load sees a store when the two meet. Where either set is empty (nothing
known) every store is seen, as before. Within what a store's pages meet,
``PageFlow.made_reaches`` follows the page one request made: forward from
the store, out of each callee only into the call site of the request's
chain of callers, through struct members to their readers, and into the
containers it is put in (whose iterations read it); a page the store's
function was passed is followed from the locals of the callers that pass
it (the chain's own while it goes on). A root lookup so meets
the roots ``kvm_mmu_get_page`` makes for ``mmu_alloc_shadow_roots``, not the
children it makes for ``__direct_map``. Nothing here depends on function
names; the primitives of rules/containers.toml are kernel macros defined
outside the MMU files.

The records are in ``records``; ``flows`` collects each file's flow,
walking each function (``function``, with its ``scope`` and the
``values`` of its expressions; ``text`` reads macros and macro arguments
as text) and ``solving`` solves them together.
"""

from __future__ import annotations

from analyzer.containers.flows import file_flow, file_flows, flow_context, page_flow
from analyzer.containers.records import FileFlow, FlowContext
from analyzer.containers.solving import PageFlow, solve
from analyzer.containers.text import context_alike, macros_of, page_types_of, primitives

__all__ = [
    "FileFlow",
    "FlowContext",
    "PageFlow",
    "context_alike",
    "file_flow",
    "file_flows",
    "flow_context",
    "macros_of",
    "page_flow",
    "page_types_of",
    "primitives",
    "solve",
]
