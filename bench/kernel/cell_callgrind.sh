#!/usr/bin/env bash
# Instruction counts (Ir) of a workload as a kernel cell against `llmspell run` of the same
# code (bench/kernel/bench_cell_speed.py --once), without timer noise.
#
#   bench/kernel/cell_callgrind.sh [WORKLOAD] [VARIANT...]   WORKLOAD: fib (default) or tables
#                                                            VARIANTs: cell (default), split
#
# Each variant runs twice under callgrind, with the workload and with workloads/empty.lua;
# the difference is the workload's own cost. Prints JSON lines; the goal for cell/script
# is 1.05.
set -euo pipefail
cd "$(dirname "$0")/../.."
workload="${1:-fib}"
shift || true
variants=("${@:-cell}")
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
python="${PYTHON:-$(python3 -c 'import sys; print(sys.executable)')}"

ir() {  # ir VARIANT WORKLOAD -> total Ir of one process
  local file="$out/$1-$2.out"
  LLMSPELL_STATE__PATH=":memory:" valgrind --tool=callgrind --callgrind-out-file="$file" \
    "$python" bench/kernel/bench_cell_speed.py --once "$1" "$2" >/dev/null 2>"$out/$1-$2.log"
  grep -m1 '^summary:' "$file" | awk '{print $2}'
}

declare -A net
for variant in script "${variants[@]}"; do
  with=$(ir "$variant" "$workload")
  without=$(ir "$variant" empty)
  net[$variant]=$((with - without))
  printf '{"kind": "ir", "workload": "%s", "variant": "%s", "ir_total": %s, "ir_empty": %s, "ir_net": %s}\n' \
    "$workload" "$variant" "$with" "$without" "${net[$variant]}"
done
for variant in "${variants[@]}"; do
  ratio=$("$python" -c "print(round(${net[$variant]} / ${net[script]}, 4))")
  printf '{"kind": "ir_ratio", "workload": "%s", "figure": "%s/script", "ratio": %s}\n' \
    "$workload" "$variant" "$ratio"
done
