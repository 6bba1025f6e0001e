"""The kernel driven by jupyter_client, the independent client, as JupyterLab would."""

from __future__ import annotations

import time
from datetime import timedelta

import zmq
from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.manager import KernelManager

from tests.kernel_fixtures import client_thread, collect, kernel, outputs, run_cell, start_kernel

__all__ = ["kernel"]

Kernel = tuple[KernelManager, BlockingKernelClient]


def test_kernel_info_describes_lua(kernel: Kernel) -> None:
    _, client = kernel
    reply = client.kernel_info(reply=True, timeout=10)
    content = reply["content"]
    assert content["status"] == "ok"
    assert content["protocol_version"] == "5.3"
    assert content["language_info"]["name"] == "lua"
    assert content["language_info"]["version"] == "5.4"
    assert content["implementation"] == "llmspell"


def test_expression_cell_shows_its_value_in_protocol_order(kernel: Kernel) -> None:
    _, client = kernel
    reply, messages = run_cell(client, "1 + 1")
    assert reply["content"]["status"] == "ok"
    kinds = [m["msg_type"] for m in messages]
    assert kinds == ["status", "execute_input", "execute_result", "status"]
    assert messages[0]["content"]["execution_state"] == "busy"
    assert messages[2]["content"]["data"]["text/plain"] == "2"
    assert messages[2]["content"]["execution_count"] == reply["content"]["execution_count"]


def test_top_level_local_is_visible_in_later_cells(kernel: Kernel) -> None:
    _, client = kernel
    run_cell(client, "local greeting = 'hello'\nlocal function shout(s) return s:upper() end")
    _, messages = run_cell(client, "shout(greeting)")
    assert outputs(messages) == [("execute_result", {"text/plain": '"HELLO"'})]


def test_print_and_io_write_stream_to_stdout_and_stderr(kernel: Kernel) -> None:
    _, client = kernel
    _, messages = run_cell(client, "print('a', 1) io.write('b\\n') io.stderr:write('oops\\n')")
    streams: dict[str, str] = {}
    for _kind, (name, text) in [o for o in outputs(messages) if o[0] == "stream"]:
        streams[name] = streams.get(name, "") + text
    assert streams == {"stdout": "a\t1\nb\n", "stderr": "oops\n"}


def test_error_reply_carries_a_traceback_mapped_to_the_cell(kernel: Kernel) -> None:
    _, client = kernel
    reply, messages = run_cell(client, "local t = nil\nprint(t.name)")
    content = reply["content"]
    assert content["status"] == "error"
    assert content["ename"] == "LuaError"
    assert content["evalue"] == "attempt to index a nil value (local 't')"
    count = content["execution_count"]
    text = "\n".join(content["traceback"])
    assert f"Cell In[{count}]:2" in text
    assert "print(t.name)" in text
    assert ("error", content["evalue"]) in outputs(messages)


def test_stop_on_error_aborts_cells_queued_behind_a_failure(kernel: Kernel) -> None:
    _, client = kernel
    first = client.execute("error('first fails')")
    second = client.execute("print('never')")
    replies: dict[str, str] = {}
    while len(replies) < 2:
        msg = client.get_shell_msg(timeout=20)
        replies[msg["parent_header"]["msg_id"]] = msg["content"]["status"]
    assert replies == {first: "error", second: "aborted"}


def test_completion_covers_globals_fields_and_methods(kernel: Kernel) -> None:
    _, client = kernel
    run_cell(client, "local s = 'text'")
    reply = client.complete("JSON.str", reply=True, timeout=10)["content"]
    assert reply["matches"] == ["stringify"]
    assert reply["cursor_start"] == len("JSON.")
    methods = client.complete("s:up", reply=True, timeout=10)["content"]["matches"]
    assert methods == ["upper"]
    names = client.complete("pri", reply=True, timeout=10)["content"]["matches"]
    assert "print" in names
    keywords = client.complete("retu", reply=True, timeout=10)["content"]["matches"]
    assert keywords == ["return"]


def _is_complete(client: BlockingKernelClient, code: str) -> str:
    msg_id = client.is_complete(code)
    reply = client.get_shell_msg(timeout=10)
    assert reply["parent_header"]["msg_id"] == msg_id
    return str(reply["content"]["status"])


def test_is_complete_drives_multiline_input(kernel: Kernel) -> None:
    _, client = kernel
    assert _is_complete(client, "for i = 1, 3 do") == "incomplete"
    assert _is_complete(client, "x = 1") == "complete"
    assert _is_complete(client, "x = = 1") == "invalid"
    assert _is_complete(client, "s = [[open") == "incomplete"


def test_inspect_shows_type_and_value(kernel: Kernel) -> None:
    _, client = kernel
    run_cell(client, "local config = {retries = 3}")
    content = client.inspect("config", reply=True, timeout=10)["content"]
    assert content["found"] is True
    text = content["data"]["text/plain"]
    assert "config: table" in text
    assert "retries = 3" in text
    missing = client.inspect("no_such_name", reply=True, timeout=10)["content"]
    assert missing["found"] is False


def test_history_is_shared_and_searchable(kernel: Kernel) -> None:
    km, client = kernel
    run_cell(client, "alpha_value = 1")
    other = km.blocking_client()
    other.start_channels()
    try:
        run_cell(other, "beta_value = 2")
        found = client.history(
            hist_access_type="search", pattern="*_value*", reply=True, timeout=10
        )["content"]["history"]
        assert [entry[2] for entry in found] == ["alpha_value = 1", "beta_value = 2"]
        tail = client.history(hist_access_type="tail", n=1, reply=True, timeout=10)
        assert [entry[2] for entry in tail["content"]["history"]] == ["beta_value = 2"]
    finally:
        other.stop_channels()


def test_interrupt_stops_a_tight_loop_and_the_kernel_stays_usable(kernel: Kernel) -> None:
    km, client = kernel
    msg_id = client.execute("while true do end")
    time.sleep(0.3)
    km.interrupt_kernel()
    reply = client.get_shell_msg(timeout=10)
    assert reply["parent_header"]["msg_id"] == msg_id
    assert reply["content"]["status"] == "error"
    assert reply["content"]["ename"] == "Interrupted"
    collect(client, msg_id)
    assert outputs(run_cell(client, "40 + 2")[1]) == [("execute_result", {"text/plain": "42"})]


def test_each_of_several_interrupts_ends_its_cell(kernel: Kernel) -> None:
    km, client = kernel
    for _ in range(3):
        msg_id = client.execute("while true do end")
        time.sleep(0.3)
        km.interrupt_kernel()
        reply = client.get_shell_msg(timeout=10)
        assert reply["parent_header"]["msg_id"] == msg_id
        assert reply["content"]["ename"] == "Interrupted"
        collect(client, msg_id)
    assert outputs(run_cell(client, "1 + 2")[1]) == [("execute_result", {"text/plain": "3"})]


def test_interrupting_an_idle_kernel_does_not_break_the_next_cell(kernel: Kernel) -> None:
    km, client = kernel
    km.interrupt_kernel()
    time.sleep(0.2)
    client.complete("pri", reply=True, timeout=10)
    assert outputs(run_cell(client, "6 * 7")[1]) == [("execute_result", {"text/plain": "42"})]


def test_io_read_asks_the_client_for_input(kernel: Kernel) -> None:
    _, client = kernel
    answers = []

    def handle_stdin() -> None:
        msg = client.get_stdin_msg(timeout=10)
        answers.append(msg["content"]["prompt"])
        client.input("Ada")

    helper = client_thread(handle_stdin)
    _, messages = run_cell(
        client, "local name = io.read() print('hello ' .. name)", allow_stdin=True
    )
    helper.join()
    assert ("stream", ("stdout", "hello Ada\n")) in outputs(messages)


def test_io_read_without_stdin_is_a_clear_error_not_a_hang(kernel: Kernel) -> None:
    _, client = kernel
    reply, messages = run_cell(client, "return io.read()", allow_stdin=False)
    # Lua's own io.read sees end of input, as with a closed stdin; stderr says why
    assert reply["content"]["status"] == "ok"
    assert ("execute_result", {"text/plain": "nil"}) in outputs(messages)
    stderr = "".join(v[1] for k, v in outputs(messages) if k == "stream" and v[0] == "stderr")
    assert "allow_stdin=false" in stderr


def _raw_socket(km: KernelManager) -> zmq.Socket[bytes]:
    ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context.instance()
    sock: zmq.Socket[bytes] = ctx.socket(zmq.DEALER)
    sock.linger = 2000  # deliver what we queued before close
    info = km.get_connection_info()
    transport, ip = info["transport"], info["ip"]
    endpoint = (
        f"ipc://{ip}-{info['shell_port']}"
        if transport == "ipc"
        else (f"tcp://{ip}:{info['shell_port']}")
    )
    sock.connect(endpoint)
    return sock


def test_bad_signatures_and_malformed_frames_are_dropped_and_counted(kernel: Kernel) -> None:
    km, client = kernel
    sock = _raw_socket(km)
    try:
        sock.send_multipart(
            [
                b"<IDS|MSG>",
                b"0" * 64,
                b'{"msg_type":"execute_request","msg_id":"x"}',
                b"{}",
                b"{}",
                b'{"code":"os.exit(1)"}',
            ]
        )
        sock.send_multipart([b"no delimiter at all"])
        sock.send_multipart([b"<IDS|MSG>", b"sig"])
    finally:
        sock.close()
    deadline = time.monotonic() + 10
    while True:  # the raw socket is another connection: its frames may arrive later
        details = client.kernel_info(reply=True, timeout=10)["content"]["llmspell"]
        if details["malformed_messages"] + details["bad_signatures"] >= 3 or (
            time.monotonic() > deadline
        ):
            break
        time.sleep(0.05)
    assert details["bad_signatures"] == 1
    assert details["malformed_messages"] == 2
    assert outputs(run_cell(client, "'alive'")[1]) == [
        ("execute_result", {"text/plain": '"alive"'})
    ]


def test_unknown_request_type_gets_an_error_reply(kernel: Kernel) -> None:
    _, client = kernel
    msg = client.session.msg("frobnicate_request", {})
    client.shell_channel.send(msg)
    reply = client.get_shell_msg(timeout=10)
    assert reply["msg_type"] == "frobnicate_reply"
    assert reply["content"]["status"] == "error"
    assert "unknown message type" in reply["content"]["evalue"]


def test_missing_field_gets_an_error_reply(kernel: Kernel) -> None:
    _, client = kernel
    msg = client.session.msg("execute_request", {"silent": False})
    client.shell_channel.send(msg)
    reply = client.get_shell_msg(timeout=10)
    assert reply["content"]["status"] == "error"
    assert "content.code must be a str" in reply["content"]["evalue"]


def test_memory_limit_in_a_cell_is_an_error_and_the_kernel_keeps_serving(tmp_path: object) -> None:
    km, client = start_kernel({"LLMSPELL_RUNTIME__MEMORY_LIMIT": "32MiB"})
    try:
        reply, _ = run_cell(client, "local t = {} for i = 1, 1e8 do t[i] = ('x'):rep(64) .. i end")
        assert reply["content"]["status"] == "error"
        assert reply["content"]["ename"] == "LimitExceeded"
        assert "memory limit of 32 MiB exceeded" in reply["content"]["evalue"]
        assert outputs(run_cell(client, "1")[1]) == [("execute_result", {"text/plain": "1"})]
    finally:
        client.stop_channels()
        km.shutdown_kernel(now=True)


def test_oversized_message_is_refused_with_an_error(tmp_path: object) -> None:
    km, client = start_kernel({"LLMSPELL_KERNEL__MAX_MESSAGE_SIZE": "4096"})
    try:
        reply, _ = run_cell(client, "return '" + "x" * 10000 + "'")
        assert reply["content"]["status"] == "error"
        assert reply["content"]["ename"] == "MessageTooLarge"
        assert outputs(run_cell(client, "2")[1]) == [("execute_result", {"text/plain": "2"})]
    finally:
        client.stop_channels()
        km.shutdown_kernel(now=True)


def test_ten_clients_are_served_and_see_each_others_output(kernel: Kernel) -> None:
    km, first = kernel
    clients = [km.blocking_client() for _ in range(9)]
    for c in clients:
        c.start_channels()
        c.wait_for_ready(timeout=10)
    everyone = [first, *clients]
    try:
        ids = [c.execute(f"print('from client {i}')") for i, c in enumerate(everyone)]
        for i, c in enumerate(everyone):
            reply = c.get_shell_msg(timeout=20)
            assert reply["parent_header"]["msg_id"] == ids[i]
            assert reply["content"]["status"] == "ok"
        # every client's iopub carries every client's output, with the right parent
        for c in (first, clients[-1]):
            seen: dict[str, str] = {}
            deadline = time.monotonic() + 20
            while len(seen) < len(ids) and time.monotonic() < deadline:
                msg = c.get_iopub_msg(timeout=20)
                if msg["msg_type"] == "stream":
                    seen[msg["parent_header"]["msg_id"]] = msg["content"]["text"]
            assert seen == {mid: f"from client {i}\n" for i, mid in enumerate(ids)}
    finally:
        for c in clients:
            c.stop_channels()


def test_restart_gives_a_fresh_lua_world(kernel: Kernel) -> None:
    km, client = kernel
    run_cell(client, "counter = 1")
    km.restart_kernel(now=False)
    client.wait_for_ready(timeout=30)
    _, messages = run_cell(client, "counter == nil")
    assert outputs(messages) == [("execute_result", {"text/plain": "true"})]


def test_stop_on_error_aborts_a_cell_sent_before_the_failure_that_arrives_after_it(
    kernel: Kernel,
) -> None:
    # Run All on a loaded machine: the next cell was sent right after the failing one, but
    # reaches the kernel once that one has failed (here: held back until its reply came)
    _, client = kernel
    failing = client.session.msg("execute_request", {"code": "error('fails')", "silent": False})
    client.shell_channel.send(failing)
    assert client.get_shell_msg(timeout=20)["content"]["status"] == "error"
    late = client.session.msg("execute_request", {"code": "print('never')", "silent": False})
    late["header"]["date"] = failing["header"]["date"] + timedelta(microseconds=200)
    client.shell_channel.send(late)
    reply = client.get_shell_msg(timeout=20)
    assert reply["parent_header"]["msg_id"] == late["header"]["msg_id"]
    assert reply["content"]["status"] == "aborted"
    # a cell sent once the client has read the error runs, as nbclient's next cell does
    assert run_cell(client, "return 1 + 1")[0]["content"]["status"] == "ok"
