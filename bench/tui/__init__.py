"""TUI benchmarks: first paint and step latency."""
