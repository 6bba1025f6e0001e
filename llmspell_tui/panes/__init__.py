"""The TUI's panes, one widget each."""
