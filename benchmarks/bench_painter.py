"""Mask painter benchmark: stroke time per pointer event, frame intervals, export, undo, invert.

Drives the real `static/studio/js/mask-painter.js` in Debian's Chromium
(headless, software rendering, as in the browser tests) on a harness page with
the painter's markup, at 720p, 1080p and 4K mask sizes; then times the server's
validation of a mask of each size.

    python -m benchmarks painter                  # or: python benchmarks/bench_painter.py
    python benchmarks/bench_painter.py --no-docs  # leave docs/performance.md alone

It prints its tables, writes them to test-results/bench-painter.json and
replaces the figures of docs/performance.md's "Mask painter" section.

A pointer event's time is measured from outside the module by the test-only
probe tests/support/painter_probe.js, loaded before it: performance.now() around
the painter's whole pointerdown/pointermove handler (coalesced events included)
and, for the stroke end, its pointerup handler. The frame interval is measured with
requestAnimationFrame while strokes are drawn: it includes compositing the
scaled-down canvas, which the per-event figure does not.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CHROMIUM = os.environ.get("STUDIO_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SIZES = [(1280, 720), (1920, 1080), (3840, 2160)]
STROKES = 12
STEPS = 40  # pointer moves per stroke segment
PROBE = ROOT / "tests" / "support" / "painter_probe.js"

HARNESS = """<!doctype html><html><head><meta charset="utf-8"></head><body>
<main style="max-width:1280px;margin:0 auto;padding:1rem">
<form class="painter-layout">
<section class="painter card" data-mask-painter data-width="{w}" data-height="{h}"
  data-duration="2.000" data-fps="24.000">
  <div class="painter-toolbar">
    <button type="button" data-tool="brush" aria-pressed="true">Brush</button>
    <button type="button" data-tool="eraser" aria-pressed="false">Eraser</button>
    <button type="button" data-tool="pan" aria-pressed="false">Pan</button>
    <input type="range" data-size min="2" max="400" value="48"><output data-size-out></output>
    <input type="range" data-opacity min="10" max="100" value="60">
    <output data-opacity-out></output>
    <button type="button" data-action="undo">Undo</button>
    <button type="button" data-action="redo">Redo</button>
    <button type="button" data-action="clear">Clear</button>
    <button type="button" data-action="invert">Invert</button>
    <button type="button" data-action="zoom-out">-</button><output data-zoom-out></output>
    <button type="button" data-action="zoom-in">+</button>
    <button type="button" data-action="zoom-fit">Fit</button>
    <button type="button" data-action="preview" aria-pressed="false">Preview</button>
  </div>
  <div class="painter-viewport" data-viewport tabindex="0">
    <div class="painter-stage" data-stage>
      <video data-video muted playsinline width="{w}" height="{h}"></video>
      <canvas class="painter-preview" data-preview width="{w}" height="{h}"></canvas>
      <canvas class="painter-paint" data-paint width="{w}" height="{h}"></canvas>
    </div>
    <div class="painter-cursor" data-cursor></div>
  </div>
  <div class="painter-frame">
    <button type="button" data-action="frame-first">First</button>
    <button type="button" data-action="frame-prev">&lt;</button>
    <input type="range" data-frame min="0" max="2" step="0.04167" value="0">
    <button type="button" data-action="frame-next">&gt;</button>
    <output data-frame-out></output>
  </div>
  <p data-status></p>
</section>
<aside><input type="hidden" name="mask_data"><input type="hidden" name="frame_seconds">
<input type="hidden" name="idempotency_key"><button type="submit" data-submit>Send</button>
<p data-submit-help></p></aside>
</form></main></body></html>"""

FRAME_PROBE = """() => { window.__frames = []; let last = performance.now();
  const tick = (t) => { window.__frames.push(t - last); last = t;
    if (window.__framesOn) requestAnimationFrame(tick); };
  window.__framesOn = true; requestAnimationFrame(tick); }"""


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def _timed(page: Any, expression: str) -> float:
    return float(
        page.evaluate(
            "() => { const p = document.querySelector('[data-mask-painter]').__maskPainter;"
            f" const t = performance.now(); {expression}; return performance.now() - t; }}"
        )
    )


def bench_browser(
    width: int, height: int, brush_fraction: float = 0.04, flush: bool = False
) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        page.set_content(HARNESS.format(w=width, h=height))
        page.add_style_tag(path=str(ROOT / "static/studio/css/app.css"))
        page.add_style_tag(path=str(ROOT / "static/studio/css/painter.css"))
        page.add_script_tag(path=str(PROBE))
        page.add_script_tag(path=str(ROOT / "static/studio/js/mask-painter.js"))
        page.wait_for_function("!!document.querySelector('[data-mask-painter]').__maskPainter")
        size = max(2, round(width * brush_fraction))
        page.evaluate(
            f"document.querySelector('[data-mask-painter]').__maskPainter.setSize({size})"
        )
        box = page.locator("[data-paint]").bounding_box()
        assert box is not None

        def at(x: float, y: float) -> tuple[float, float]:
            return box["x"] + x * box["width"], box["y"] + y * box["height"]

        page.evaluate("window.__painterProbe.reset()")
        page.evaluate(f"window.__painterProbe.flush = {str(flush).lower()}")
        page.evaluate(FRAME_PROBE)
        started = time.perf_counter()
        for i in range(STROKES):
            y = 0.08 + 0.84 * i / STROKES
            page.mouse.move(*at(0.05, y))
            page.mouse.down()
            page.mouse.move(*at(0.95, y + 0.05), steps=STEPS)
            page.mouse.move(*at(0.5, y + 0.08), steps=STEPS)
            page.mouse.up()
        wall = time.perf_counter() - started
        page.evaluate("window.__framesOn = false")
        stats = page.evaluate("window.__painterProbe.stats()")
        frames = [f for f in page.evaluate("window.__frames") if f > 0][1:]
        result = {
            "mask": f"{width}x{height}",
            "flushed": flush,
            "brush_px": size,
            "pointer_events": stats["count"],
            "event_ms_p50": round(stats["p50"], 2),
            "event_ms_p95": round(stats["p95"], 2),
            "event_ms_max": round(stats["max"], 2),
            "stroke_end_ms_p50": round(stats["strokeEnd"]["p50"], 1),
            "stroke_end_ms_max": round(stats["strokeEnd"]["max"], 1),
            "frame_ms_median": round(statistics.median(frames), 1) if frames else None,
            "frame_ms_p95": round(_pct(frames, 0.95), 1) if frames else None,
            "strokes_wall_s": round(wall, 2),
            "export_jpeg_ms": round(_timed(page, "p.exportDataURL()"), 1),
            "export_bytes": page.evaluate(
                "document.querySelector('[data-mask-painter]').__maskPainter"
                ".exportDataURL().length * 3 / 4"
            ),
            "undo_ms": round(_timed(page, "p.undo()"), 1),
            "redo_ms": round(_timed(page, "p.redo()"), 1),
            "preview_ms": round(_timed(page, "p.togglePreview()"), 1),
            "invert_ms": round(_timed(page, "p.invert()"), 1),
            # After an invert every tile holds paint: the worst case for export.
            "export_inverted_ms": round(_timed(page, "p.exportDataURL()"), 1),
        }
        browser.close()
    return result


def bench_server(width: int, height: int) -> dict[str, Any]:
    import numpy as np
    from PIL import Image, ImageDraw

    from studio.services.masks import Geometry, encode_jpeg, normalize

    image = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(image)
    for i in range(12):
        y = int(height * (0.1 + 0.06 * i))
        draw.line([(width // 20, y), (width * 19 // 20, y + height // 20)], fill=255, width=48)
    data = encode_jpeg(np.asarray(image), quality=95)
    geometry = Geometry(width, height, 2.0, 24.0)
    runs = []
    for _ in range(5):
        started = time.perf_counter()
        mask = normalize(data, geometry)
        encode_jpeg(mask.pixels)
        runs.append((time.perf_counter() - started) * 1000)
    return {
        "mask": f"{width}x{height}",
        "upload_bytes": len(data),
        "validate_and_store_ms_median": round(statistics.median(runs), 1),
    }


DOCS = ROOT / "docs" / "performance.md"
SECTION = "## Mask painter"
BEGIN, END = "<!-- bench_painter:begin -->", "<!-- bench_painter:end -->"


def _row(*cells: Any) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def write_docs(
    browser: list[dict[str, Any]], strict: list[dict[str, Any]], server: list[dict[str, Any]]
) -> None:
    """Replace the figures between the markers of docs/performance.md's painter section."""
    load = os.getloadavg()[0]
    lines = [
        BEGIN,
        f"Last run {time.strftime('%Y-%m-%d %H:%M')}, load average {load:.1f} on "
        f"{os.cpu_count()} cores, milliseconds:",
        "",
        _row(
            "mask",
            "events",
            "p50",
            "p95",
            "max",
            "strict p50",
            "strict p95",
            "frame p50",
            "frame p95",
        ),
        _row(*["---"] * 9),
    ]
    for r, s in zip(browser, strict, strict=True):
        lines.append(
            _row(
                r["mask"],
                r["pointer_events"],
                r["event_ms_p50"],
                r["event_ms_p95"],
                r["event_ms_max"],
                s["event_ms_p50"],
                s["event_ms_p95"],
                r["frame_ms_median"],
                r["frame_ms_p95"],
            )
        )
    lines += [
        "",
        _row(
            "mask",
            "stroke end p50 / max",
            "undo",
            "redo",
            "preview",
            "export",
            "invert",
            "export after invert",
        ),
        _row(*["---"] * 8),
    ]
    for r in browser:
        lines.append(
            _row(
                r["mask"],
                f"{r['stroke_end_ms_p50']:.0f} / {r['stroke_end_ms_max']:.0f}",
                f"{r['undo_ms']:.0f}",
                f"{r['redo_ms']:.0f}",
                f"{r['preview_ms']:.0f}",
                f"{r['export_jpeg_ms']:.0f}",
                f"{r['invert_ms']:.0f}",
                f"{r['export_inverted_ms']:.0f}",
            )
        )
    lines += [
        "",
        "Server, validate + normalize + store: "
        + ", ".join(f"{r['validate_and_store_ms_median']:.0f} ms ({r['mask']})" for r in server)
        + ".",
        END,
    ]
    figures = "\n".join(lines)
    text = DOCS.read_text() if DOCS.exists() else "# Performance\n"
    if BEGIN in text and END in text:
        head, _, rest = text.partition(BEGIN)
        text = head + figures + rest.partition(END)[2]
    elif SECTION in text:
        head, _, rest = text.partition(SECTION + "\n")
        text = head + SECTION + "\n\n" + figures + "\n" + rest
    else:
        text = text.rstrip("\n") + f"\n\n{SECTION}\n\n{figures}\n"
    DOCS.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, default=ROOT / "test-results" / "bench-painter.json")
    parser.add_argument(
        "--no-docs", dest="write_docs", action="store_false", help="leave docs/performance.md"
    )
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("STUDIO_TESTING", "1")
    import django

    django.setup()

    browser = [bench_browser(w, h) for w, h in SIZES]
    # Strict: each event also waits for its pixels to be rasterized.
    strict = [bench_browser(w, h, flush=True) for w, h in SIZES]
    server = [bench_server(w, h) for w, h in SIZES]
    print(
        f"Mask painter, Chromium headless (software), {platform.machine()}, {os.cpu_count()} cpus"
    )
    head = ("mask", "events", "p50 ms", "p95 ms", "max ms", "frame p50", "frame p95")
    print("{:>10} {:>7} {:>7} {:>7} {:>7} {:>9} {:>9}".format(*head))
    for r in browser:
        print(
            "{mask:>10} {pointer_events:>7} {event_ms_p50:>7} {event_ms_p95:>7} {event_ms_max:>7}"
            " {frame_ms_median:>9} {frame_ms_p95:>9}".format(**r)
        )
    print("strict (each event rasterized before the next):")
    for r in strict:
        print(
            "{mask:>10} {pointer_events:>7} {event_ms_p50:>7} {event_ms_p95:>7} {event_ms_max:>7}"
            " {frame_ms_median:>9} {frame_ms_p95:>9}".format(**r)
        )
    head2 = ("mask", "end p50", "end max", "undo", "redo", "preview", "export", "invert", "export*")
    print("{:>10} {:>7} {:>7} {:>6} {:>6} {:>7} {:>7} {:>7} {:>7}".format(*head2))
    for r in browser:
        print(
            "{mask:>10} {stroke_end_ms_p50:>7} {stroke_end_ms_max:>7} {undo_ms:>6} {redo_ms:>6}"
            " {preview_ms:>7} {export_jpeg_ms:>7} {invert_ms:>7} {export_inverted_ms:>7}".format(
                **r
            )
        )
    print("(ms; export* = after invert, every tile painted; end = stroke end, the undo record)")
    for r in server:
        print(
            f"server {r['mask']:>10}: validate + normalize + store-encode "
            f"{r['validate_and_store_ms_median']} ms ({r['upload_bytes']} bytes uploaded)"
        )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps({"browser": browser, "strict": strict, "server": server}, indent=2)
    )
    print(f"written to {args.json}")
    if args.write_docs:
        write_docs(browser, strict, server)
        print(f"figures updated in {DOCS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
