"""``python -m engine.audit.offline FILE``: verify an export with no database."""

from .verifier import main

raise SystemExit(main())
