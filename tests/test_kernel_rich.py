"""Rich output and documentation through the kernel: display_data and inspect."""

from __future__ import annotations

import base64
from pathlib import Path

from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.manager import KernelManager

from tests.kernel_fixtures import kernel, outputs, run_cell

__all__ = ["kernel"]

Kernel = tuple[KernelManager, BlockingKernelClient]
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


def test_scripts_emit_markdown_and_images_as_display_data(kernel: Kernel, tmp_path: Path) -> None:
    _, client = kernel
    image = tmp_path / "dot.png"
    image.write_bytes(PNG)
    _, messages = run_cell(
        client,
        f"print('before')\nDisplay.markdown('# Report\\n*done*')\nDisplay.image('{image}', 'png')",
    )
    shown = outputs(messages)
    assert shown[0] == ("stream", ("stdout", "before\n"))
    assert shown[1] == (
        "display_data",
        {"text/markdown": "# Report\n*done*", "text/plain": "# Report\n*done*"},
    )
    kind, bundle = shown[2]
    assert kind == "display_data"
    assert base64.b64decode(bundle["image/png"]) == PNG


def test_inspect_shows_the_documented_signature_of_an_llmspell_function(kernel: Kernel) -> None:
    _, client = kernel
    content = client.inspect("Tool.execute", reply=True, timeout=10)["content"]
    assert content["found"] is True
    text = content["data"]["text/plain"]
    assert text.startswith("Tool.execute: function")
    assert "Tool.execute(name, params" in text


def test_completion_lists_llmspell_globals_before_they_are_used(kernel: Kernel) -> None:
    _, client = kernel
    names = client.complete("Wor", reply=True, timeout=10)["content"]["matches"]
    assert "Workflow" in names
    methods = client.complete("Agent.bui", reply=True, timeout=10)["content"]["matches"]
    assert methods == ["builder"]
    run_cell(client, "local agent = Agent.builder():name('c'):build()")
    assert client.complete("agent:exe", reply=True, timeout=10)["content"]["matches"][:1] == [
        "execute"
    ]


def test_display_data_never_overtakes_what_print_wrote_before_it(kernel: Kernel) -> None:
    # print goes through fd 1 and a reader thread; display_data is published directly:
    # each display must wait for the text printed before it
    _, client = kernel
    _, messages = run_cell(
        client, "for i = 1, 40 do print('line ' .. i); Display.markdown('shown ' .. i) end"
    )
    seen = []
    for kind, content in outputs(messages):
        if kind == "stream":
            seen += [line for line in content[1].splitlines() if line]
        else:
            seen.append(content["text/markdown"])
    expected = [f"{word} {i}" for i in range(1, 41) for word in ("line", "shown")]
    assert seen == expected
