"""Typed HTTP client of the Imbrace workflow engine (no Prefect import; never imports `local/`).

```python
from prefect_imbrace.client import ImbraceClient, operations as ops

with ImbraceClient(api_key="...", env="stable") as client:
    page = client.workflows.list_runs(flow_id=flow_id, status=["FAILED"], limit=100)
```
"""

from . import operations
from ._client import AsyncImbraceClient, ImbraceClient
from ._config import ENVIRONMENTS
from .models import (
    AppConnection,
    Field,
    Flow,
    FlowRun,
    FlowVersion,
    Folder,
    Invitation,
    McpServer,
    McpTool,
    Piece,
    Project,
    Record,
    RunCategory,
    StepResult,
    SyncOutcome,
    SyncReply,
    Table,
    TriggerReceipt,
    UpsertConnectionRequest,
)
from .operations import FlowOperation
from .pagination import SeekPage
from .webhook_flows import create_webhook_flow
from .workflows import AsyncWorkflows, Workflows

__all__ = [
    "AppConnection",
    "AsyncImbraceClient",
    "AsyncWorkflows",
    "ENVIRONMENTS",
    "Field",
    "Flow",
    "FlowOperation",
    "FlowRun",
    "FlowVersion",
    "Folder",
    "ImbraceClient",
    "Invitation",
    "McpServer",
    "McpTool",
    "Piece",
    "Project",
    "Record",
    "RunCategory",
    "SeekPage",
    "StepResult",
    "SyncOutcome",
    "SyncReply",
    "Table",
    "TriggerReceipt",
    "UpsertConnectionRequest",
    "Workflows",
    "create_webhook_flow",
    "operations",
]
