#!/usr/bin/env bash
# Instruction counts (Ir) of one workload under bare lupa and with the debugger attached,
# confirming bench/debugger/overhead.py's timing ratios without timer noise.
#
#   bench/debugger/callgrind.sh [WORKLOAD [VARIANT...]]
#       WORKLOAD: fib (default), tables or strings; VARIANTs: attached bp10 (default)
#
# As bench/callgrind.sh: each variant runs twice under callgrind, with the workload and with
# workloads/empty.lua (both with the helper in front), and the difference is the workload's
# own instructions. Prints JSON lines.
set -euo pipefail
cd "$(dirname "$0")/../.."
workload="${1:-fib}"
shift || true
variants=("${@:-attached bp10}")
read -r -a variants <<<"${variants[*]}"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
# the real interpreter: valgrind does not follow a wrapper script (pyenv shim) into exec
python="${PYTHON:-$(python3 -c 'import sys; print(sys.executable)')}"

ir() {  # ir VARIANT WORKLOAD -> total Ir of one process
  local file="$out/$1-$2.out"
  valgrind --tool=callgrind --callgrind-out-file="$file" \
    "$python" bench/debugger/overhead.py --once "$1" "$2" >/dev/null 2>"$out/$1-$2.log"
  grep -m1 '^summary:' "$file" | awk '{print $2}'
}

declare -A net
for variant in bare "${variants[@]}"; do
  with=$(ir "$variant" "$workload")
  without=$(ir "$variant" empty)
  net[$variant]=$((with - without))
  printf '{"kind": "ir", "workload": "%s", "variant": "%s", "ir_total": %s, "ir_empty": %s, "ir_net": %s}\n' \
    "$workload" "$variant" "$with" "$without" "${net[$variant]}"
done
for variant in "${variants[@]}"; do
  ratio=$("$python" -c "print(round(${net[$variant]} / ${net[bare]}, 4))")
  printf '{"kind": "ir_ratio", "workload": "%s", "figure": "%s/bare", "ratio": %s}\n' \
    "$workload" "$variant" "$ratio"
done
