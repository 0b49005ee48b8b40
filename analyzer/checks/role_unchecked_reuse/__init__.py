"""role-unchecked-reuse: a page kept without comparing it with the key.

Documentation for users: rules/role-unchecked-reuse.md (shown by ``explain``).

A *request* is a call whose result a function returns, to a function that
gets or makes a page for a key: it returns a pointer through which it
compares a page's role with a role it was given or computed (a lookup), or
stores that role into the page (a make), and tests page members such as
``sp->gfn`` against its parameters; or it returns such a request's result.
The *key* of a request is what it hands on to those comparisons: its role
argument (or the role the callee computes from its arguments) and the
arguments tested against page members.

A *reuse exit* of a function is a ``return`` before a request of it, taken
when a test of the slot of a pointer parameter holds
(``is_shadow_present_pte(*sptep)``): an existing page is there, and the
function hands it back, or tells its caller to keep it (``ERR_PTR(-EEXIST)``),
instead of getting one for the key. Every part of the key that varies
between the function's callers must be compared on the way to that exit:

- role: the role fields that depend on what the callers pass (not on the
  slot alone, not constants, not state loaded from a page or the MMU) and
  that not every caller passes as the same constant; a role word comparison
  against the key (``->role.word == role.word``), a mask, or a comparison of
  one field covers what it compares;
- a member (``gfn``): an equality of the existing page's member with the
  key's argument.

A part that cannot differ (derived from the slot's parent alone, as the TDP
MMU's child roles are) needs no comparison. Nothing here depends on names.

``keys`` finds the requests and their keys, ``inputs`` what the parts of
a key depend on, ``exits`` judges each reuse exit.
"""

from __future__ import annotations

from analyzer.checks import Check
from analyzer.checks.role_unchecked_reuse.exits import check_exit, reuse_sites

__all__ = ["CHECK", "check_exit", "reuse_sites"]

CHECK = Check(sites=reuse_sites, find=check_exit)
