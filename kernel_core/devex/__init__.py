"""Developer experience: error patterns, API docs lookup, validation, hot reload."""
