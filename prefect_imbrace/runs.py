"""Trigger-and-wait: where its public names have always been importable from.

The machinery lives in `prefect_imbrace.exactly_once` (see its package docstring); this module
re-exports the public names of `prefect_imbrace.exactly_once.handle` and `.waits`, whatever
they are.
"""

from prefect_imbrace.exactly_once import handle as _handle
from prefect_imbrace.exactly_once import waits as _waits
from prefect_imbrace.exactly_once.handle import *  # noqa: F403
from prefect_imbrace.exactly_once.waits import *  # noqa: F403

__all__ = [*_handle.__all__, *_waits.__all__]
