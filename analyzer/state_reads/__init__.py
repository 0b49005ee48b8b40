"""What a skipped MMU reconfiguration reads of the vCPU, and where it goes.

The ``init_kvm_*`` functions return early when the role they compute
equals the role cached in the MMU context. ``skipped`` interprets such a
function, from the callers that supply its roles and registers, and follows
the code that runs only when the comparison fails (after the early
``return``, or inside ``if (!=)``) into the callees that receive the
context. It answers with the compared role's fields, as symbolic values
over vCPU state (``analyzer.statesym``), and every store into the context
there, each with the reads of vCPU state its value depends on (data and
control dependence) and the path condition of each read.

Small helpers are inlined to know what an accessor reads (``is_long_mode``,
``cpuid_maxphyaddr``, ``kvm_read_cr4_bits``, the ``____is_*(regs)``
helpers made by ``BUILD_MMU_ROLE_*`` macros), from the MMU files, their
headers and the optional context files (``x86.h``, ``cpuid.h``,
``kvm_cache_regs.h``); a function of ``cpuid.c`` or ``x86.c`` is read as
text, for the ``vcpu->arch`` members it reads. A call to anything else is
not followed, and an indirect call (``kvm_x86_ops->...``,
``static_call(...)``) is a value that is not vCPU state.

The interpreter (``interp.Interp``) keeps its branch state in a ``Frame``
per function (``frame``) and gives nodes their meaning in parts, each one
room: ``statements`` and ``expressions`` (one handler per node type, found
by name), ``site`` (the comparing ``if``), ``assignments`` (locals, members,
stores into the context), ``places`` (members and subscripts) and ``calls``.
"""

from __future__ import annotations

from analyzer.roles import RoleModel
from analyzer.state_reads.interp import Interp
from analyzer.state_sources import Sources
from analyzer.state_values import Skipped
from analyzer.terms import Step

__all__ = ["MAX_CHAIN", "Interp", "skipped"]

MAX_CHAIN = 4  # callers followed up from a comparing function


def skipped(sources: Sources, model: RoleModel, chain: tuple, compare: Step, ctx_var: str,
            fnptrs: frozenset) -> Skipped | None:
    """The code a role comparison skips, interpreted along ``chain``."""
    interp = Interp(sources, model, chain, compare, ctx_var, fnptrs)
    return interp.run()
