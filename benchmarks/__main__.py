"""`make bench`: run every benchmarks/bench_*.py in turn (or those named).

    python -m benchmarks [engine jobs jobs_scale load web painter scenes] [--flag ...]

Arguments that are not a benchmark's name (`--sqlite-only`, `--rounds 2`, ...)
are passed on to every script that runs. Each script prints its own table and
updates its section of docs/performance.md. `load` and `jobs_scale` need
PostgreSQL and Redis on 127.0.0.1 (they say "skipped" without them); `load`
takes about 14 minutes (`python -m benchmarks load --quick`: 2).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    scripts = sorted(HERE.glob("bench_*.py"))
    names = {s.stem.removeprefix("bench_") for s in scripts}
    chosen = [arg for arg in argv if arg in names]
    flags = [arg for arg in argv if arg not in names]
    if chosen:
        scripts = [s for s in scripts if s.stem.removeprefix("bench_") in chosen]
    failed = 0
    for script in scripts:
        print(f"\n=== {script.stem} ===", flush=True)
        result = subprocess.run([sys.executable, str(script), *flags], cwd=HERE.parent)
        failed += result.returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
