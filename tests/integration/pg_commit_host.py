"""A second process that commits on cue: ``python -m tests.integration.pg_commit_host URL``.

It opens an engine on ``URL``, prints ``ready``, then for each line read on stdin records
one event (a new toy request) and prints the log position of that commit; it exits at
end of input. The wake-up tests use it so that a commit comes from another process.
"""

from __future__ import annotations

import sys

from engine import Engine
from tests.helpers import submit
from tests.toy import toy_definition


def main(url: str) -> None:
    with Engine.open(url, workflows=[toy_definition()], projections=[]) as engine:
        print("ready", flush=True)
        for _ in sys.stdin:
            submit(engine)
            print(engine.last_position, flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
