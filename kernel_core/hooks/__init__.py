"""The debug-hook multiplexer shared by the debugger, profiler, recorder and interrupt."""
