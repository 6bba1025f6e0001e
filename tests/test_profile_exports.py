"""The profile exports, each read back: folded stacks, speedscope JSON, the SVG flamegraph and
the text report, plus ``write()`` choosing a format by name or file extension."""

from __future__ import annotations

import json
import os
import re
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from kernel_core.errors import UsageError
from kernel_core.profiler.export import (
    ExportFormatError,
    parse_folded,
    parse_text_table,
    to_folded,
    to_speedscope,
    to_svg,
    to_text,
    write,
)
from kernel_core.profiler.export.describe import EXACT_CAVEAT, one_line
from kernel_core.profiler.export.folded import frame_text
from kernel_core.profiler.export.palette import (
    C_COLOR,
    NATIVE_COLOR,
    WAIT_COLOR,
    file_color,
)
from kernel_core.profiler.model import Frame, Profile
from tests.required_tools import JSDOM_PATH, jsdom_available

DATA = Path(__file__).resolve().parent / "data"
SVG = "{http://www.w3.org/2000/svg}"

MAIN = Frame("main chunk", "jobs.lua", 0, "main")
FIB = Frame("fib", "jobs.lua", 3)
PARSE = Frame("parse", "lib/parse.lua", 12)
WAIT = Frame("wait: Agent.complete", kind="wait")
GC = Frame("GC step", kind="native")
REP = Frame("string.rep", kind="C")
# Everything a name can hold that a format must escape or replace.
ODD = Frame("a<b> & \"c\" 'd' ]]> x;y\nz", '[string "k = 1; v = 2"]', 7)


def sampling_profile() -> Profile:
    """A sampling run: recursion, a host-call wait, native time, a C call, an odd name, heap."""
    profile = Profile(
        interval=0.002,
        duration=1.3,
        meta={"script": "jobs.lua", "rate": 500},
    )
    profile.add([MAIN, FIB, FIB, FIB], 180)
    profile.add([MAIN, FIB, FIB], 60)
    profile.add([MAIN, FIB], 20)
    profile.add([MAIN, PARSE], 90)
    profile.add([MAIN, PARSE, REP], 30)
    profile.add([MAIN, WAIT], 250)
    profile.add([MAIN, ODD], 15)
    profile.add([GC], 5)
    profile.heap = [(i * 0.05, 200.0 + 15 * i - 40 * (i % 5 == 4)) for i in range(27)]
    profile.heap_growth = {(0, 2): 300.0, (0, 1, 1): 45.5, (0, 5): -12.0}
    return profile


def exact_profile() -> Profile:
    """An exact-mode run: self time in microseconds, call counts, inclusive times."""
    profile = Profile(mode="exact", unit="microseconds", duration=0.05, meta={"script": "jobs.lua"})
    profile.add([MAIN, FIB], 12_345.4)
    profile.add([MAIN, FIB, FIB], 8_000.0)
    profile.add([MAIN, PARSE], 2_500.6)
    profile.add([MAIN], 300.0)
    profile.calls = {0: 1, 1: 177, 2: 3}
    profile.inclusive = {0: 23_146.0, 1: 20_345.4, 2: 2_500.6}
    return profile


def empty_profile() -> Profile:
    return Profile(interval=0.002, meta={"script": "quick.lua"})


PROFILES: dict[str, Callable[[], Profile]] = {
    "sampling": sampling_profile,
    "exact": exact_profile,
    "empty": empty_profile,
}


def prefix_weight(profile: Profile, path: tuple[int, ...]) -> float:
    """The weight of every stack starting with ``path`` (what a flamegraph frame spans)."""
    return sum(w for s, w in profile.stacks.items() if s[: len(path)] == path)


# ---------------------------------------------------------------------------- folded


def test_folded_stacks_parse_back_to_the_profiles_stacks_and_weights() -> None:
    profile = sampling_profile()
    text = to_folded(profile)

    expected = {
        tuple(frame_text(profile.frames[i]) for i in stack): round(weight)
        for stack, weight in profile.stacks.items()
    }
    assert parse_folded(text) == expected
    assert "main chunk (jobs.lua);fib (jobs.lua:3);fib (jobs.lua:3);fib (jobs.lua:3) 180" in (
        text.splitlines()
    )
    assert all(re.fullmatch(r"[^;\n]+(;[^;\n]+)* \d+", line) for line in text.splitlines())


def test_a_frame_name_with_semicolons_and_newlines_stays_one_frame_on_one_line() -> None:
    profile = sampling_profile()

    lines = to_folded(profile).splitlines()

    assert len(lines) == len(profile.stacks)
    odd_line = next(line for line in lines if line.startswith("main chunk (jobs.lua);a<b>"))
    stack = next(iter(parse_folded(odd_line)))
    assert stack == (
        "main chunk (jobs.lua)",
        'a<b> & "c" \'d\' ]]> x,y z ([string "k = 1, v = 2"]:7)',
    )


def test_exact_mode_folds_to_whole_microseconds_of_self_time() -> None:
    stacks = parse_folded(to_folded(exact_profile()))

    assert stacks[("main chunk (jobs.lua)", "fib (jobs.lua:3)")] == 12_345
    assert stacks[("main chunk (jobs.lua)", "parse (lib/parse.lua:12)")] == 2_501
    assert stacks[("main chunk (jobs.lua)",)] == 300


def test_an_empty_profile_folds_to_an_empty_file() -> None:
    assert to_folded(empty_profile()) == ""
    assert parse_folded("") == {}


def test_parse_folded_adds_up_repeated_stacks_and_names_a_malformed_line() -> None:
    assert parse_folded("a;b 2\n\na;b 3\nc 1\n") == {("a", "b"): 5, ("c",): 1}

    with pytest.raises(ValueError, match="line 2") as caught:
        parse_folded("a;b 2\na;b two\n")
    assert "integer weight" in str(caught.value)


# ---------------------------------------------------------------------------- speedscope


@pytest.fixture(scope="module")
def speedscope_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads((DATA / "speedscope-file-format-schema.json").read_text())
    return schema


@pytest.mark.parametrize("kind", list(PROFILES))
def test_speedscope_export_is_valid_against_speedscopes_published_schema(
    kind: str, speedscope_schema: dict[str, Any]
) -> None:
    document = json.loads(to_speedscope(PROFILES[kind]()))

    jsonschema.validate(document, speedscope_schema)
    assert document["$schema"] == "https://www.speedscope.app/file-format-schema.json"
    assert document["exporter"].startswith("llmspell@")
    for profile in document["profiles"]:
        assert len(profile["samples"]) == len(profile["weights"])
        assert profile["endValue"] - profile["startValue"] == pytest.approx(sum(profile["weights"]))


def test_the_schema_rejects_what_speedscope_would_not_open(
    speedscope_schema: dict[str, Any],
) -> None:
    document = json.loads(to_speedscope(sampling_profile()))
    document["profiles"][0]["unit"] = "samples"  # not a speedscope unit

    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(document, speedscope_schema)


def speedscope_totals(document: dict[str, Any], which: int = 0) -> dict[Frame, tuple[float, float]]:
    """Per function (self, total) weights, read from a speedscope document as speedscope would."""
    frames = [
        Frame(f["name"], f.get("file", ""), f.get("line", 0)) for f in document["shared"]["frames"]
    ]
    profile = document["profiles"][which]
    selfs: dict[Frame, float] = {}
    totals: dict[Frame, float] = {}
    for stack, weight in zip(profile["samples"], profile["weights"], strict=True):
        selfs[frames[stack[-1]]] = selfs.get(frames[stack[-1]], 0.0) + weight
        for index in set(stack):
            totals[frames[index]] = totals.get(frames[index], 0.0) + weight
    return {frame: (selfs.get(frame, 0.0), total) for frame, total in totals.items()}


def test_speedscope_samples_add_up_to_each_functions_self_and_total_milliseconds() -> None:
    profile = sampling_profile()
    document = json.loads(to_speedscope(profile))

    assert document["profiles"][0]["unit"] == "milliseconds"
    found = speedscope_totals(document)
    expected = {
        Frame(r.frame.name, r.frame.file, r.frame.line): (r.self_weight * 2.0, r.total_weight * 2.0)
        for r in profile.top_functions()
    }
    assert found.keys() == expected.keys()
    for frame, (self_ms, total_ms) in expected.items():
        assert found[frame] == pytest.approx((self_ms, total_ms))


def test_speedscope_of_an_exact_profile_weighs_stacks_in_microseconds() -> None:
    profile = exact_profile()
    document = json.loads(to_speedscope(profile))

    assert document["profiles"][0]["unit"] == "microseconds"
    fib = speedscope_totals(document)[Frame("fib", "jobs.lua", 3)]
    assert fib == pytest.approx((20_345.4, 20_345.4))


def test_speedscope_keeps_frame_files_and_lines_and_names_unchanged() -> None:
    frames = json.loads(to_speedscope(sampling_profile()))["shared"]["frames"]

    assert {"name": "fib", "file": "jobs.lua", "line": 3} in frames
    assert {"name": "wait: Agent.complete"} in frames  # no file or line to invent
    assert {"name": ODD.name, "file": ODD.file, "line": 7} in frames


def test_speedscope_shows_heap_growth_as_a_second_profile_in_bytes() -> None:
    document = json.loads(to_speedscope(sampling_profile()))

    heap = document["profiles"][1]
    assert heap["unit"] == "bytes"
    assert "heap growth" in heap["name"]
    # Only growth: the shrinking stack (-12 KiB) has nothing speedscope could draw.
    assert sorted(heap["weights"]) == [round(45.5 * 1024), 300 * 1024]
    parse_total = speedscope_totals(document, 1)[Frame("parse", "lib/parse.lua", 12)]
    assert parse_total == (300 * 1024, 300 * 1024)


def test_speedscope_counts_samples_when_the_interval_is_unknown() -> None:
    profile = sampling_profile()
    profile.interval = 0.0

    document = json.loads(to_speedscope(profile))

    assert document["profiles"][0]["unit"] == "none"
    assert document["profiles"][0]["endValue"] == 650


def test_speedscope_of_an_empty_profile_holds_an_empty_profile_that_says_so() -> None:
    document = json.loads(to_speedscope(empty_profile()))

    [only] = document["profiles"]
    assert (only["samples"], only["weights"], only["endValue"]) == ([], [], 0)
    assert "no samples" in only["name"]


# ---------------------------------------------------------------------------- svg


def parse_svg(text: str) -> ET.Element:
    return ET.fromstring(text.encode("utf-8"))


def svg_frames(root: ET.Element) -> list[ET.Element]:
    return [g for g in root.iter(f"{SVG}g") if g.get("class") == "f"]


def frame_paths(root: ET.Element) -> dict[str, tuple[int, ...]]:
    """Each frame element's id -> its call path (frame indexes, root first)."""
    by_id = {g.get("id", ""): g for g in svg_frames(root)}
    paths: dict[str, tuple[int, ...]] = {}
    for ident, g in by_id.items():
        path: list[int] = []
        node: ET.Element | None = g
        while node is not None and node.get("data-i") != "-1":
            path.append(int(node.get("data-i", "")))
            node = by_id.get(node.get("data-p", ""))
        paths[ident] = tuple(reversed(path))
    return paths


def rect_of(g: ET.Element) -> ET.Element:
    rect = g.find(f"{SVG}rect")
    assert rect is not None
    return rect


def title_of(g: ET.Element) -> str:
    return g.findtext(f"{SVG}title") or ""


def all_text(root: ET.Element) -> str:
    return "\n".join("".join(t.itertext()) for t in root.iter(f"{SVG}text"))


def test_svg_frame_widths_are_their_share_of_the_profile() -> None:
    profile = sampling_profile()
    root = parse_svg(to_svg(profile))

    frames = svg_frames(root)
    paths = frame_paths(root)
    full = float(rect_of(frames[0]).get("width", ""))
    assert frames[0].get("data-n") == "all"
    call_paths = {s[:n] for s in profile.stacks for n in range(1, len(s) + 1)}
    assert len(frames) == 1 + len(call_paths) == 10  # "all" and every distinct call path
    for g in frames[1:]:
        share = prefix_weight(profile, paths[g.get("id", "")]) / profile.total
        assert float(rect_of(g).get("width", "")) / full == pytest.approx(share, abs=1e-5)


def test_svg_children_sit_under_their_caller_in_an_icicle() -> None:
    root = parse_svg(to_svg(sampling_profile()))
    by_id = {g.get("id"): g for g in svg_frames(root)}

    for g in list(by_id.values())[1:]:
        parent, child = rect_of(by_id[g.get("data-p")]), rect_of(g)
        assert float(child.get("y", "")) > float(parent.get("y", ""))
        assert float(child.get("x", "")) >= float(parent.get("x", "")) - 1e-3
        child_end = float(child.get("x", "")) + float(child.get("width", ""))
        assert child_end <= float(parent.get("x", "")) + float(parent.get("width", "")) + 1e-3


def test_svg_frame_titles_carry_name_file_line_samples_and_share() -> None:
    profile = sampling_profile()
    root = parse_svg(to_svg(profile))
    paths = frame_paths(root)

    for g in svg_frames(root)[1:]:
        path = paths[g.get("id", "")]
        frame = profile.frames[path[-1]]
        share = prefix_weight(profile, path) / profile.total * 100
        title = title_of(g)
        assert title.startswith(one_line(frame.name).strip())
        assert one_line(frame.location) in title
        assert f"{share:.2f}%" in title
        assert f"{round(prefix_weight(profile, path))} samples" in title
    wait = next(g for g in svg_frames(root) if g.get("data-n") == WAIT.name)
    assert title_of(wait) == "wait: Agent.complete — [wait] — 250 samples (500 ms) — 38.46%"


def test_svg_escapes_names_with_markup_quotes_and_cdata_ends() -> None:
    text = to_svg(sampling_profile())

    root = parse_svg(text)  # would raise on a stray "<", "&" or quote
    odd = next(g for g in svg_frames(root) if (g.get("data-n") or "").startswith("a<b>"))
    assert odd.get("data-n") == "a<b> & \"c\" 'd' ]]> x;y z"
    assert title_of(odd).startswith('a<b> & "c" \'d\' ]]> x;y z — [string "k = 1; v = 2"]:7')
    assert text.count("]]>") == 1  # only the end of the script's CDATA section


def test_svg_is_self_contained_with_its_zoom_and_search_script() -> None:
    text = to_svg(sampling_profile())
    root = parse_svg(text)

    scripts = list(root.iter(f"{SVG}script"))
    assert len(scripts) == 1
    script = scripts[0].text or ""
    for part in ("function zoom(", "function search(", "keydown", "prompt("):
        assert part in script
    ids = {e.get("id") for e in root.iter()}
    assert {"reset-zoom", "search", "details", "matched", "flame"} <= ids
    # Nothing is fetched from elsewhere: no links, images, imports or URLs but the namespace.
    assert re.findall(r"https?:[^\s\"'<>)]*", text) == ["http://www.w3.org/2000/svg"]
    assert all("href" not in attr for e in root.iter() for attr in e.attrib)
    assert "@import" not in text
    assert "url(" not in text


def test_svg_colours_frames_by_file_with_grey_waits_and_blue_native_time() -> None:
    root = parse_svg(to_svg(sampling_profile()))
    fill = {g.get("data-n"): rect_of(g).get("fill") for g in svg_frames(root)}

    assert fill["fib"] == fill["main chunk"] == file_color("jobs.lua")
    assert fill["parse"] == file_color("lib/parse.lua") != fill["fib"]
    assert (fill[WAIT.name], fill[GC.name], fill[REP.name]) == (WAIT_COLOR, NATIVE_COLOR, C_COLOR)
    assert re.fullmatch(r"#[0-9a-f]{6}", file_color("jobs.lua"))
    assert int(file_color("x.lua")[1:3], 16) >= 205  # warm: red dominates
    legend = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "legend"]
    assert legend[:2] == ["jobs.lua", "lib/parse.lua"]  # heaviest file first
    assert {"wait (host call)", "native / GC", "C function"} <= set(legend)


def test_svg_header_names_the_script_mode_samples_duration_and_rate() -> None:
    words = all_text(parse_svg(to_svg(sampling_profile())))

    assert "llmspell profile: jobs.lua" in words
    assert "mode: sampling at 500 Hz, 650 samples over 1.3 s (wall clock)" in words


def test_svg_shows_the_heap_as_a_sparkline_with_the_frames_that_grew_it() -> None:
    profile = sampling_profile()
    root = parse_svg(to_svg(profile))

    line = next(e for e in root.iter(f"{SVG}polyline") if e.get("id") == "heap-sparkline")
    points = [tuple(map(float, p.split(","))) for p in (line.get("points") or "").split()]
    assert len(points) == len(profile.heap)
    assert [x for x, _ in points] == sorted(x for x, _ in points)
    highest = max(range(len(profile.heap)), key=lambda i: profile.heap[i][1])
    assert points[highest][1] == min(y for _, y in points)  # SVG y grows downwards
    growth = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "heap-growth"]
    assert growth == ["+300.0 parse (lib/parse.lua:12)", "+45.5 fib (jobs.lua:3)"]


def test_svg_without_heap_data_has_no_sparkline() -> None:
    profile = sampling_profile()
    profile.heap, profile.heap_growth = [], {}

    root = parse_svg(to_svg(profile))

    assert not list(root.iter(f"{SVG}polyline"))
    assert "Lua heap" not in all_text(root)


def test_svg_of_an_exact_profile_shows_times_calls_and_the_overhead_caveat() -> None:
    root = parse_svg(to_svg(exact_profile()))

    assert EXACT_CAVEAT in all_text(root)
    fib = next(g for g in svg_frames(root) if g.get("data-n") == "fib")
    assert title_of(fib) == "fib — jobs.lua:3 — 20.3 ms — 177 calls in all — 87.90%"


def test_svg_of_an_empty_profile_says_there_were_no_samples() -> None:
    root = parse_svg(to_svg(empty_profile()))

    assert svg_frames(root) == []
    assert "No samples" in all_text(root)
    assert list(root.iter(f"{SVG}script"))


def test_svg_of_a_deep_recursion_has_a_row_per_level() -> None:
    profile = Profile(interval=0.001)
    profile.add([MAIN] + [FIB] * 400, 3)

    root = parse_svg(to_svg(profile))

    frames = svg_frames(root)
    assert len(frames) == 402
    assert len({rect_of(g).get("y") for g in frames}) == 402
    assert float(root.get("height", "")) > 402 * 17


def test_large_profiles_render_every_format_and_leave_out_only_invisible_frames() -> None:
    profile = Profile(interval=0.001, meta={"script": "big.lua"})
    leaves = [Frame(f"f{i}", "big.lua", i) for i in range(100)]
    for i in range(10_000):
        profile.add([MAIN, leaves[i % 7], leaves[i % 100], leaves[(i * 31) % 97]], 1 + i % 5)
    profile.add([MAIN, Frame("heavy", "big.lua", 999)], 1_000_000)

    assert len(parse_folded(to_folded(profile))) == len(profile.stacks)
    assert len(parse_text_table(to_text(profile))) == 25
    assert len(json.loads(to_speedscope(profile))["profiles"][0]["samples"]) == 10_001
    root = parse_svg(to_svg(profile))
    full = float(rect_of(svg_frames(root)[0]).get("width", ""))
    widths = [float(rect_of(g).get("width", "")) for g in svg_frames(root)]
    assert min(widths) >= 0.1  # narrower frames cannot be seen; they are left out
    assert sum(1 for g in svg_frames(root) if g.get("data-n") == "heavy") == 1
    assert full == pytest.approx(1180)


# The zoom and search script, run in a DOM: jsdom (Debian: apt-get install node-jsdom).
JS_DRIVER = r"""
const { JSDOM } = require("jsdom");
const fs = require("fs");
const dom = new JSDOM(fs.readFileSync(process.argv[1], "utf8"),
                      { contentType: "image/svg+xml", runScripts: "outside-only" });
const win = dom.window, doc = win.document;
// jsdom does not run <script> elements of SVG documents itself.
win.eval(doc.querySelector("script").textContent);
const frames = () => [...doc.querySelectorAll("g.f")].map((g) => ({
  name: g.getAttribute("data-n"), shown: g.style.display !== "none",
  x: Number(g.querySelector("rect").getAttribute("x")),
  width: Number(g.querySelector("rect").getAttribute("width")),
  label: (g.querySelector("text") || {}).textContent || "", cls: g.getAttribute("class") }));
const fire = (el, type) => el.dispatchEvent(new win.MouseEvent(type, { bubbles: true }));
const out = {};
const parse = [...doc.querySelectorAll("g.f")].find((g) => g.getAttribute("data-n") === "parse");
fire(parse.querySelector("rect"), "mouseover");
out.details = doc.getElementById("details").textContent;
fire(parse.querySelector("rect"), "click");
out.zoomed = frames();
out.resetOff = doc.getElementById("reset-zoom").getAttribute("class");
fire(doc.getElementById("reset-zoom"), "click");
out.reset = frames();
win.prompt = () => "FIB";
doc.dispatchEvent(new win.KeyboardEvent("keydown", { key: "f", ctrlKey: true }));
out.matched = doc.getElementById("matched").textContent;
out.searched = frames();
const gc = [...doc.querySelectorAll("g.f")].find((g) => g.getAttribute("data-n") === "GC step");
out.gcHadLabel = gc.querySelector("text") !== null;
fire(gc.querySelector("rect"), "click");
out.gcZoomed = frames().find((f) => f.name === "GC step");
process.stdout.write(JSON.stringify(out));
"""


@pytest.mark.skipif(
    not jsdom_available(),
    reason="node with jsdom is not installed (Debian: apt-get install nodejs node-jsdom)",
)
def test_clicking_a_frame_zooms_into_it_and_search_highlights_matches(tmp_path: Path) -> None:
    profile = sampling_profile()
    svg_file = tmp_path / "profile.svg"
    svg_file.write_text(to_svg(profile), encoding="utf-8")

    run = subprocess.run(
        ["node", "-e", JS_DRIVER, str(svg_file)],
        env={**os.environ, "NODE_PATH": JSDOM_PATH},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    out = json.loads(run.stdout)

    assert out["details"].startswith("parse — lib/parse.lua:12 — 120 samples")
    zoomed = {f["name"]: f for f in out["zoomed"] if f["shown"]}
    assert set(zoomed) == {"all", "main chunk", "parse", "string.rep"}
    assert zoomed["parse"]["width"] == pytest.approx(1180)
    assert zoomed["string.rep"]["width"] == pytest.approx(1180 * 30 / 120, abs=0.01)
    assert "caller" in zoomed["main chunk"]["cls"]
    assert zoomed["string.rep"]["label"] == "string.rep"  # room for the whole name now
    assert "off" not in out["resetOff"]
    assert all(f["shown"] for f in out["reset"])
    assert [f["width"] for f in out["reset"]] == pytest.approx(
        [float(rect_of(g).get("width", "")) for g in svg_frames(parse_svg(to_svg(profile)))]
    )
    fib_share = 260 / 650 * 100  # nested fib frames count once
    assert out["matched"] == f'Matched "FIB": {fib_share:.1f}% (3 frames)'
    assert sorted(f["name"] for f in out["searched"] if "match" in f["cls"]) == ["fib"] * 3
    # Too narrow for a label at first, the GC frame gets one once zoomed to the full width.
    assert out["gcHadLabel"] is False
    assert out["gcZoomed"]["label"] == "GC step"
    assert out["gcZoomed"]["x"] == pytest.approx(10)


# ---------------------------------------------------------------------------- text


def test_text_table_reads_back_as_the_profiles_top_functions() -> None:
    profile = sampling_profile()
    rows = parse_text_table(to_text(profile))

    expected = profile.top_functions(25)
    assert len(rows) == len(expected) == len(profile.frames) == 7
    for row, top in zip(rows, expected, strict=True):
        assert row.function == one_line(top.frame.name).strip()
        assert row.location == one_line(top.frame.location)
        assert row.self_weight == top.self_weight
        assert row.total_weight == top.total_weight
        assert row.self_share == pytest.approx(top.self_share, abs=5e-4)
        assert row.total_share == pytest.approx(top.total_share, abs=5e-4)
        assert row.calls is None


def test_text_report_header_says_mode_samples_duration_and_rate() -> None:
    text = to_text(sampling_profile())

    assert text.splitlines()[:2] == [
        "llmspell profile: jobs.lua",
        "mode: sampling at 500 Hz, 650 samples over 1.3 s (wall clock)",
    ]
    assert EXACT_CAVEAT not in text


def test_text_report_of_an_exact_profile_states_the_overhead_and_lists_calls() -> None:
    profile = exact_profile()
    text = to_text(profile)

    assert EXACT_CAVEAT in text
    assert "mode: exact, 23.1 ms of Lua time in 181 calls over 50 ms" in text
    rows = {row.function: row for row in parse_text_table(text)}
    assert rows["fib"].calls == 177
    assert rows["fib"].self_weight == pytest.approx(20_345.4, abs=0.5)
    assert rows["main chunk"].total_weight == pytest.approx(23_146.0, abs=0.5)
    assert rows["parse"].calls == 3


def test_text_report_limits_the_table_to_the_heaviest_functions() -> None:
    rows = parse_text_table(to_text(sampling_profile(), limit=3))

    assert [r.function for r in rows] == ["fib", "wait: Agent.complete", "parse"]


def test_text_report_lists_heap_growth_and_the_heaps_range() -> None:
    text = to_text(sampling_profile())

    heap = text[text.index("Heap growth") :].splitlines()
    assert re.fullmatch(r"\s*300\.0\s+parse\s+lib/parse\.lua:12", heap[2])
    assert re.fullmatch(r"\s*45\.5\s+fib\s+jobs\.lua:3", heap[3])
    assert "Heap: min 200.0 KiB, max 590.0 KiB, final 590.0 KiB (27 readings over 1.3 s)" in heap


def test_text_report_of_an_empty_profile_says_there_were_no_samples() -> None:
    text = to_text(empty_profile())

    assert "No samples" in text
    assert "Heap" not in text
    assert parse_text_table(text) == []


def test_parse_text_table_rejects_text_that_is_not_a_report() -> None:
    with pytest.raises(ValueError, match="no Top functions table"):
        parse_text_table("hello\nworld\n")


# ---------------------------------------------------------------------------- write()


@pytest.mark.parametrize(
    ("name", "check"),
    [
        ("out.folded", lambda t: parse_folded(t) != {}),
        ("out.txt", lambda t: t.startswith("llmspell profile: jobs.lua")),
        ("out.svg", lambda t: parse_svg(t).tag == f"{SVG}svg"),
        ("out.json", lambda t: json.loads(t)["exporter"].startswith("llmspell@")),
        ("out.speedscope.json", lambda t: "$schema" in json.loads(t)),
    ],
)
def test_write_picks_the_format_from_the_file_extension(
    tmp_path: Path, name: str, check: Callable[[str], bool]
) -> None:
    path = write(sampling_profile(), tmp_path / name)

    assert check(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("fmt", ["folded", "speedscope", "svg", "text"])
def test_every_format_writes_names_with_control_characters_and_undecodable_bytes(
    tmp_path: Path, fmt: str
) -> None:
    profile = Profile(interval=0.01, meta={"script": "bad\udcff.lua"})
    profile.add([Frame("tab\there\x01bell\udcffbyte", "f\x00.lua", 1)], 3)

    text = write(profile, tmp_path / "out", fmt).read_text(encoding="utf-8")

    if fmt == "svg":
        assert parse_svg(text).tag == f"{SVG}svg"  # no character XML forbids
    elif fmt == "speedscope":
        assert json.loads(text)["shared"]["frames"][0]["name"] == "tab\there\x01bell\udcffbyte"
    elif fmt == "folded":
        assert parse_folded(text) == {("tab here\ufffdbell\ufffdbyte (f\ufffd.lua:1)",): 3}
    else:
        assert parse_text_table(text)[0].function == "tab here\ufffdbell\ufffdbyte"


def test_write_uses_the_named_format_whatever_the_extension(tmp_path: Path) -> None:
    path = write(sampling_profile(), tmp_path / "profile.out", "folded")

    assert parse_folded(path.read_text(encoding="utf-8")) == parse_folded(
        to_folded(sampling_profile())
    )


def test_write_refuses_an_unknown_format_naming_the_ones_it_knows(tmp_path: Path) -> None:
    with pytest.raises(ExportFormatError) as caught:
        write(sampling_profile(), tmp_path / "x.svg", "pprof")
    assert "folded, speedscope, svg, text" in str(caught.value)

    with pytest.raises(UsageError) as unknown_suffix:
        write(sampling_profile(), tmp_path / "profile.dat")
    message = str(unknown_suffix.value)
    assert "profile.dat" in message
    for named in (".folded", ".txt", ".svg", ".json", ".speedscope.json", "speedscope"):
        assert named in message
    assert list(tmp_path.iterdir()) == []
