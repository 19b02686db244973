"""`PrefectRateLimit`: where it has always been importable from.

It lives in `prefect_imbrace.exactly_once.rate_limit`.
"""

from prefect_imbrace.exactly_once.rate_limit import PrefectRateLimit

__all__ = ["PrefectRateLimit"]
