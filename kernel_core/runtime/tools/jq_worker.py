"""The process that runs jq queries for ``json-processor`` (libjq through the ``jq`` package).

libjq aborts its whole process when memory runs out (a runaway ``def f: [f]; f``, say), and a
query such as ``until(false; .)`` never returns: run in the kernel, either would take the
user's Lua world with it. So queries run here, one JSON line in and one out on the pipes of
jq_query.py, which restarts this process when it dies and stops it when a query runs too long.

Request: ``{"query": str, "input": value, "max": int}``. Reply: ``{"ok": [outputs]}`` or
``{"error": "compile" | "runtime" | "limit", "message": str}``.
"""

from __future__ import annotations

import json
import resource
import sys
from typing import Any

import jq
import orjson

CACHE_SIZE = 64


def _dumps(reply: dict[str, Any]) -> bytes:
    try:
        return orjson.dumps(reply)
    except TypeError:  # an integer beyond 64 bits: the stdlib writes it
        return json.dumps(reply).encode()


def answer(request: dict[str, Any], programs: dict[str, Any]) -> dict[str, Any]:
    """The reply to one request."""
    query = request["query"]
    program = programs.get(query)
    if program is None:
        try:
            program = jq.compile(query)
        except ValueError as err:
            return {"error": "compile", "message": str(err)}
        if len(programs) >= CACHE_SIZE:
            programs.pop(next(iter(programs)))
        programs[query] = program
    most = int(request["max"])
    outputs: list[Any] = []
    try:
        for value in program.input_value(request["input"]):
            outputs.append(value)
            if len(outputs) > most:
                return {"error": "limit", "message": f"the query produced more than {most} results"}
    except ValueError as err:
        return {"error": "runtime", "message": str(err)}
    return {"ok": outputs}


def main() -> int:
    """Serve requests until stdin closes."""
    memory = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    if memory > 0:  # fail this process early rather than make the machine swap
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    programs: dict[str, Any] = {}
    out = sys.stdout.buffer
    for line in sys.stdin.buffer:
        out.write(_dumps(answer(orjson.loads(line), programs)) + b"\n")
        out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
