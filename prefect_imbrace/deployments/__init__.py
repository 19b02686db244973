"""Steps for `prefect.yaml` (`prefect deploy`): see `prefect_imbrace.deployments.steps`."""
