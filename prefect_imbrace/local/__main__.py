"""`python -m prefect_imbrace.local` starts the Imbrace Local server (same flags as `imbrace-local`)."""

import sys

from .server import main

sys.exit(main())
