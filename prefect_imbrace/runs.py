"""Trigger-and-wait: where its public names have always been importable from.

The machinery lives in `prefect_imbrace.exactly_once` (see its package docstring); this module
re-exports `prefect_imbrace.exactly_once.handle`'s public names, whatever they are.
"""

from prefect_imbrace.exactly_once import handle as _handle
from prefect_imbrace.exactly_once.handle import *  # noqa: F403

__all__ = list(_handle.__all__)
