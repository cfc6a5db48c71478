"""``python -m bench [--quick] [--out FILE] [--only NAME]``: run, print a table, write JSON."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from bench import rebuild
from bench.common import machine, quiet_logs

SUITES = {
    "rebuild": lambda quick: rebuild.run(20_000 if quick else 100_000),
}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    parser.add_argument("--out", type=Path, default=Path("bench/results/latest.json"))
    parser.add_argument("--only", choices=sorted(SUITES), action="append")
    args = parser.parse_args()
    quiet_logs()
    results: dict[str, Any] = {"machine": machine(), "quick": args.quick}
    for name in args.only or SUITES:
        print(f"== {name}")
        results[name] = SUITES[name](args.quick)
        for key, value in results[name].items():
            print(f"  {key:<32} {value}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
