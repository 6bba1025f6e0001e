-- The baseline for instruction counts: everything but the workload itself.
return 0
