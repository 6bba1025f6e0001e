"""The profiler: sampling (timer-armed hook) and exact (call/return hook) profiles of Lua runs."""
