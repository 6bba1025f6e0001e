"""``python -m llmspell_tui``: the same as the ``llmspell`` command."""

from __future__ import annotations

import sys

from llmspell_tui.cli import main

sys.exit(main())
