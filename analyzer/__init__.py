"""mmu-role-lint: find KVM x86 MMU role fields that differ between the
creation/store path and the comparison path, before and after a patch."""

__version__ = "0.2.0"
