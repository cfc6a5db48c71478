"""``python -m engine.audit.offline FILE``: verify an export or a proof bundle offline."""

from .command import main

raise SystemExit(main())
