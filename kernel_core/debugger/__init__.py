"""The debugger: breakpoints, stepping, frames, variables, evaluation; speaks DAP."""
