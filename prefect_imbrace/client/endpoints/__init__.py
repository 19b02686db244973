"""The engine's endpoints, one definition each, grouped by area.

Each class holds `@endpoint` methods (route, parameters in the official SDK's order with
options keyword-only, answer model) and the `paged` iterators built on them; `Workflows` and
`AsyncWorkflows` inherit all of them, so the sync and async clients share every definition.
See `prefect_imbrace.client._resource`.
"""

from .flows import FlowEndpoints
from .resources import ResourceEndpoints
from .runs import RunEndpoints
from .tables import TableEndpoints

__all__ = ["FlowEndpoints", "ResourceEndpoints", "RunEndpoints", "TableEndpoints"]
