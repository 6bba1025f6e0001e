"""The Debug Adapter Protocol on a byte stream: ``llmspell dap`` for editors."""
