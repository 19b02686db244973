"""The resumer: where its public names have always been importable from.

The machinery lives in `prefect_imbrace.exactly_once.resumer`; deployments made before it
moved name `prefect_imbrace.resumer.imbrace_resumer` as their entrypoint, which still loads.
"""

from prefect_imbrace.exactly_once.resumer import deploy_resumer, imbrace_resumer, resume_ended_waits

__all__ = ["deploy_resumer", "imbrace_resumer", "resume_ended_waits"]
