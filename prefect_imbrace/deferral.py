"""Deferred waits: where their public names have always been importable from.

The machinery lives in `prefect_imbrace.exactly_once.deferral`.
"""

from prefect_imbrace.exactly_once.deferral import (
    DEFERRED_TAG,
    DeferralGroup,
    DeferralNote,
    DeferredMember,
    DeferredWait,
    carried_slot,
    check_defer_after,
    note_name,
    wait_deferrable,
)

__all__ = [
    "DEFERRED_TAG",
    "DeferralGroup",
    "DeferralNote",
    "DeferredMember",
    "DeferredWait",
    "carried_slot",
    "check_defer_after",
    "note_name",
    "wait_deferrable",
]
