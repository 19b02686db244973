"""The Imbrace Local execution engine: runs flow versions and edits their step trees.

Pure Python, no server or storage types; the server calls these functions.
See docs/local-engine.md for the supported pieces and every known deviation from Activepieces.
"""

from .executor import execute_run
from .model import ExecutionOutcome, RunContext
from .pieces import get_piece, list_pieces
from .tree import apply_tree_operation
from .triggers import (
    schedule_of,
    schedule_output,
    validate_schedule,
    webhook_auth_passes,
    webhook_output,
)
from .validity import pin_piece_versions, version_is_valid

__all__ = [
    "ExecutionOutcome",
    "RunContext",
    "apply_tree_operation",
    "execute_run",
    "get_piece",
    "list_pieces",
    "pin_piece_versions",
    "schedule_of",
    "schedule_output",
    "validate_schedule",
    "version_is_valid",
    "webhook_auth_passes",
    "webhook_output",
]
