"""One module per ``llmspell`` subcommand; each imports what it needs only when run."""
