"""Imbrace objects as code: YAML files checked by pydantic, exported, planned and applied.

`load_directory` checks files before any request; `compute_plan` reads a project and lists the
changes; `apply_declared` makes the project match; `export_project` writes a project as files.
Built on these: the `prefect-imbrace` command line (`cli`), the Prefect tasks (`tasks`:
`plan_imbrace_flows`, `apply_imbrace_flows`, their async twins, `find_imbrace_flow_id`) and the
`prefect deploy` step `prefect_imbrace.deployments.steps.apply_imbrace_flows`. This package
itself does not import Prefect, so the command line starts quickly.
"""

from .apply import ApplyResult, apply_declared, apply_plan
from .export import export_project
from .loader import AsCodeFilesError, Declared, Problem, load_directory
from .plan import Change, Plan, compute_plan
from .state import METADATA_KEY

__all__ = [
    "METADATA_KEY",
    "ApplyResult",
    "AsCodeFilesError",
    "Change",
    "Declared",
    "Plan",
    "Problem",
    "apply_declared",
    "apply_plan",
    "compute_plan",
    "export_project",
    "load_directory",
]
