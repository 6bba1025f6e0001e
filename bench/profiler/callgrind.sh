#!/usr/bin/env bash
# Instruction counts (Ir) of the workloads with and without the sampling profiler, confirming
# bench/profiler/overhead.py's timing ratios without timer noise, per thread.
#
#   bench/profiler/callgrind.sh [WORKLOAD...]     (default: fib tables strings)
#
# As bench/debugger/callgrind.sh: each variant (runtime, sampling) runs under callgrind with
# the workload and with workloads/empty.lua, and the difference is the workload's own
# instructions. --separate-threads=yes splits them into the Lua (main) thread's and the other
# threads' (in `sampling`, the profiler's timer thread). --fair-sched=yes: valgrind runs one
# thread at a time, and with its default lock the Lua thread keeps running and the timer
# thread never gets to arm a sample.
#
# Under valgrind the program runs ~40-70x slower (`slowdown`) while the timer still ticks at
# wall-clock rate, so the profiler takes that many times more samples per instruction than it
# would natively: the raw Ir ratio overstates the cost. Normalized: Ir per sample = (Ir_sampling - Ir_runtime) / samples
# (samples: the ticks the timer armed, workload minus empty), and the overhead at the real
# rate = Ir per sample * rate * runtime_seconds / Ir_runtime, where runtime_seconds is the
# workload's native run time (measured here, outside valgrind). Prints JSON lines.
set -euo pipefail
cd "$(dirname "$0")/../.."
workloads=("$@")
[ ${#workloads[@]} -eq 0 ] && workloads=(fib tables strings)
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
# the real interpreter: valgrind does not follow a wrapper script (pyenv shim) into exec
python="${PYTHON:-$(python3 -c 'import sys; print(sys.executable)')}"
rate=1000 # overhead.py's `sampling` variant: the default rate

run() { # run VARIANT WORKLOAD -> one JSON line: Ir of the Lua thread, of the others, samples
  local base="$out/$1-$2"
  valgrind --tool=callgrind --fair-sched=yes --separate-threads=yes --callgrind-out-file="$base.out" \
    "$python" bench/profiler/overhead.py --once "$1" "$2" >"$base.json" 2>"$base.log"
  "$python" - "$base" <<'PY'
import glob, json, sys
base = sys.argv[1]
ir = {}
for path in glob.glob(base + ".out-*"):
    thread = int(path.rsplit("-", 1)[1])
    with open(path) as f:
        ir[thread] = next(int(l.split()[1]) for l in f if l.startswith("summary:"))
once = json.loads(open(base + ".json").read())
main = ir.pop(1)
print(json.dumps({"lua": main, "other": sum(ir.values()), "threads": len(ir) + 1,
                  "armed": once.get("armed", 0), "ticks": once.get("ticks", 0)}))
PY
}

declare -A empty
for variant in runtime sampling; do
  empty[$variant]=$(run "$variant" empty)
done
for workload in "${workloads[@]}"; do
  runtime=$(run runtime "$workload")
  sampling=$(run sampling "$workload")
  native=$("$python" bench/profiler/overhead.py --once runtime "$workload" --repeat 7)
  "$python" - "$workload" "$rate" "${empty[runtime]}" "${empty[sampling]}" \
    "$runtime" "$sampling" "$native" <<'PY'
import json, sys
workload, rate = sys.argv[1], float(sys.argv[2])
empty_r, empty_s, with_r, with_s, native = (json.loads(a) for a in sys.argv[3:])
def net(with_, without, key):
    return with_[key] - without[key]
r_lua, r_other = net(with_r, empty_r, "lua"), net(with_r, empty_r, "other")
s_lua, s_other = net(with_s, empty_s, "lua"), net(with_s, empty_s, "other")
samples = with_s["armed"] - empty_s["armed"]
ticks = with_s["ticks"] - empty_s["ticks"]  # wall-clock ticks of the workload under valgrind
if samples <= 0:
    sys.exit(f"{workload}: the profiler armed no sample under valgrind ({with_s}): "
             "is valgrind's --fair-sched=yes honoured?")
r_total, s_total = r_lua + r_other, s_lua + s_other
seconds = native["seconds"]
per_sample_lua = (s_lua - r_lua) / samples
per_sample_other = (s_other - r_other) / samples
emit = lambda **f: print(json.dumps(f), flush=True)
emit(kind="ir", workload=workload, variant="runtime", ir_lua=r_lua, ir_other=r_other)
emit(kind="ir", workload=workload, variant="sampling", ir_lua=s_lua, ir_other=s_other,
     samples_under_valgrind=samples, ticks_under_valgrind=ticks,
     slowdown=round(ticks / rate / seconds, 1))
emit(kind="ir_ratio", workload=workload, figure="sampling/runtime (valgrind's sample rate)",
     lua=round(s_lua / r_lua, 4), all_threads=round(s_total / r_total, 4))
# what `rate` samples per second would cost at native speed, relative to the run's own Ir
native_samples = rate * seconds
emit(kind="per_sample", workload=workload, ir_lua=round(per_sample_lua),
     ir_timer=round(per_sample_other), runtime_seconds=seconds,
     samples_at_rate=round(native_samples, 1),
     overhead_lua=round(1 + per_sample_lua * native_samples / r_lua, 4),
     overhead_all_threads=round(
         1 + (per_sample_lua + per_sample_other) * native_samples / r_lua, 4))
PY
done
