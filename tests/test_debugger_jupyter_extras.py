"""What JupyterLab's debugger panel asks for besides DAP: variables of the kernel, rich
inspection, sources."""

from __future__ import annotations

from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.manager import KernelManager

from tests.debug_fixtures import Debugger
from tests.kernel_fixtures import kernel, run_cell

__all__ = ["kernel"]

Kernel = tuple[KernelManager, BlockingKernelClient]


def test_inspect_variables_lists_what_cells_defined(kernel: Kernel) -> None:
    _, client = kernel
    debug = Debugger(client)
    debug.start()
    run_cell(client, "settings = {retries = 3, name = 'demo'}\ncounter = 7")
    variables = {v["name"]: v for v in debug.ok("inspectVariables")["variables"]}
    assert variables["counter"]["value"] == "7"
    assert variables["counter"]["type"] == "number"
    assert variables["settings"]["type"] == "table"
    assert variables["settings"]["variablesReference"] > 0
    assert "print" not in variables  # the standard library is not the user's


def test_rich_inspect_renders_a_value_in_full(kernel: Kernel) -> None:
    _, client = kernel
    debug = Debugger(client)
    debug.start()
    run_cell(client, "settings = {retries = 3, name = 'demo'}")
    body = debug.ok("richInspectVariables", variableName="settings")
    text = body["data"]["text/plain"]
    assert "retries = 3" in text
    assert 'name = "demo"' in text
    assert "unexpected symbol" in debug.fails("richInspectVariables", variableName="(")


def test_source_and_loaded_sources_name_the_cells(kernel: Kernel) -> None:
    _, client = kernel
    debug = Debugger(client)
    debug.start()
    code = "local doubled = 21 * 2"
    path = debug.ok("dumpCell", code=code)["sourcePath"]
    run_cell(client, code)
    sources = [s["path"] for s in debug.ok("loadedSources")["sources"]]
    assert path in sources
    assert debug.ok("source", source={"path": path})["content"] == code
    message = debug.fails("source", source={"path": "/no/such/file.lua"})
    assert "no source" in message


def test_evaluate_without_a_stop_runs_in_the_repl_scope(kernel: Kernel) -> None:
    _, client = kernel
    debug = Debugger(client)
    debug.start()
    run_cell(client, "local base = 40")
    body = debug.ok("evaluate", expression="base + 2", context="repl")
    assert body["result"] == "42"
