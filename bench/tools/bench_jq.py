"""json-processor's jq: per-query cost of libjq in its worker process (jq_query.py), and of
the hand-written subset it replaced when run from a checkout that still has it.

    python3 bench/tools/bench_jq.py [--rounds 7] [--queries 200] [--old PATH_TO_OLD_CHECKOUT]

Figures: the first query (worker start), then the median per-query time over ``--queries``
queries per round, on a document of ``--users`` users, for each query of QUERIES. JSON lines.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
QUERIES = [
    ".users[0].name",
    "[.users[] | select(.age > 30) | .name] | length",
    "reduce .users[] as $u (0; . + $u.age)",
]


def document(users: int) -> dict[str, Any]:
    """``users`` users with a name, an age and tags."""
    return {
        "users": [{"name": f"u{i}", "age": i % 90, "tags": ["a"] * (i % 3)} for i in range(users)]
    }


OLD = """
import json, statistics, sys, time
sys.path.insert(0, sys.argv[1])
from kernel_core.runtime.tools import jq
data, queries, n, rounds = json.loads(sys.stdin.read())
for q in queries:
    per = []
    for _ in range(rounds):
        t = time.perf_counter()
        for _ in range(n):
            list(jq.run(jq.compile_query(q), data))
        per.append((time.perf_counter() - t) / n)
    print(json.dumps({"query": q, "ms": round(statistics.median(per) * 1000, 4)}))
"""


def emit(**fields: Any) -> None:
    print(json.dumps(fields), flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--old", help="a checkout with kernel_core/runtime/tools/jq/")
    parser.add_argument("--users", type=int, default=1000, help="size of the document")
    args = parser.parse_args()
    data = document(args.users)
    sys.path.insert(0, str(ROOT))
    from kernel_core.runtime.tools import jq_query

    started = time.perf_counter()
    jq_query.query(".", None)
    emit(
        kind="first_query",
        engine="libjq-worker",
        ms=round((time.perf_counter() - started) * 1000, 2),
    )
    for query in QUERIES:
        per = []
        for _ in range(args.rounds):
            started = time.perf_counter()
            for _ in range(args.queries):
                jq_query.query(query, data)
            per.append((time.perf_counter() - started) / args.queries)
        emit(
            kind="query",
            engine="libjq-worker",
            users=args.users,
            query=query,
            ms=round(statistics.median(per) * 1000, 4),
        )
    if args.old:
        proc = subprocess.run(
            [sys.executable, "-c", OLD, args.old],
            input=json.dumps([data, QUERIES, args.queries, args.rounds]),
            capture_output=True,
            text=True,
            check=True,
        )
        for line in proc.stdout.splitlines():
            emit(kind="query", engine="subset", users=args.users, **json.loads(line))
    return 0


if __name__ == "__main__":
    sys.exit(main())
