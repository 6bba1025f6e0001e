"""Which packages the wheel holds (everything else is in pyproject.toml).

Two folders live at the repository's top level, where people read and edit them, but
install inside our own packages, so the wheel puts nothing generic into site-packages and
an installed llmspell finds them: ``themes/`` (the TUI's stylesheets) installs as
``llmspell_tui.stylesheets``, ``docs/lua-api/`` (the Lua API reference, which inspect and
hover read) as ``kernel_core.devex.lua_api``. pyproject.toml cannot map a package to another
folder while also finding the rest, hence this file.
"""

from setuptools import find_namespace_packages, setup

DATA_PACKAGES = {
    "llmspell_tui.stylesheets": "themes",
    "kernel_core.devex.lua_api": "docs/lua-api",
}

# namespace packages too: folders of Lua files (kernel_core/runtime/lua) have no __init__.py
OUR_PACKAGES = find_namespace_packages(
    include=["kernel_core*", "llmspell_tui*"], exclude=["*__pycache__*"]
)

setup(packages=OUR_PACKAGES + list(DATA_PACKAGES), package_dir=DATA_PACKAGES)
