"""The kernel service: sockets, channels, execution thread, connection files."""
