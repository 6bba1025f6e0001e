#!/usr/bin/env bash
# Instruction counts (Ir) of one workload under bare lupa and under ScriptRuntime, confirming
# bench/run_overhead.py's timing ratio without timer noise.
#
#   bench/callgrind.sh [WORKLOAD]        WORKLOAD: fib (default), tables or strings
#
# Each variant runs twice under callgrind: once with the workload and once with
# workloads/empty.lua. Subtracting the second removes interpreter start-up and imports, which
# differ between the variants but are not what the ratio is about. Prints JSON lines.
set -euo pipefail
cd "$(dirname "$0")/.."
workload="${1:-fib}"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
# the real interpreter: valgrind does not follow a wrapper script (pyenv shim) into exec
python="${PYTHON:-$(python3 -c 'import sys; print(sys.executable)')}"

ir() {  # ir VARIANT WORKLOAD -> total Ir of one process
  local file="$out/$1-$2.out"
  LLMSPELL_STATE__PATH=":memory:" valgrind --tool=callgrind --callgrind-out-file="$file" \
    "$python" bench/run_overhead.py --once "$1" "$2" >/dev/null 2>"$out/$1-$2.log"
  grep -m1 '^summary:' "$file" | awk '{print $2}'
}

declare -A net
for variant in bare runtime; do
  with=$(ir "$variant" "$workload")
  without=$(ir "$variant" empty)
  net[$variant]=$((with - without))
  printf '{"kind": "ir", "workload": "%s", "variant": "%s", "ir_total": %s, "ir_empty": %s, "ir_net": %s}\n' \
    "$workload" "$variant" "$with" "$without" "${net[$variant]}"
done
ratio=$("$python" -c "print(round(${net[runtime]} / ${net[bare]}, 4))")
printf '{"kind": "ir_ratio", "workload": "%s", "figure": "runtime/bare", "ratio": %s, "goal": 1.02}\n' \
  "$workload" "$ratio"
