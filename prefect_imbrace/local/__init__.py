"""Imbrace Local: an offline stand-in of the Imbrace workflow engine (never imports the client).

`ImbraceLocal` runs it in a background thread; `LocalControl` drives its control plane.
"""

from .control import LocalControl
from .server import ImbraceLocal

__all__ = ["ImbraceLocal", "LocalControl"]
