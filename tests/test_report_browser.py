"""The report page: its sections' content, its structure, and the page in a real browser.

The report (kernels, article and figures sections) is built once for the module.  The browser
tests open it in headless Chromium through Selenium and chromedriver (Debian's ``chromium`` and
``chromium-driver``; ``make browser`` installs them) and check that every image decoded, that
the console stayed clean and that no request left the page; they are skipped, saying why, only
where Chromium, chromedriver or Selenium is missing.

Run as a script to check any report and save a full-page screenshot (how
``docs/report-screenshot.png`` is made)::

    python tests/test_report_browser.py report/index.html docs/report-screenshot.png
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

from sepconv import report
from sepconv.report import Section
from sepconv.report._html import png_bytes_figure, render_page

SECTIONS = ["kernels", "article", "figures", "filtering"]
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    # Any request that tries to leave the machine goes to a closed port and fails loudly.
    "--proxy-server=127.0.0.1:9",
    "--proxy-bypass-list=<-loopback>",
)
# The smallest valid PNG: one transparent pixel.
PIXEL = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    result = report.build_report(out, SECTIONS)
    html = (out / "index.html").read_text(encoding="utf-8")
    data = json.loads((out / "report.json").read_text(encoding="utf-8"))
    return result, html, data


# --------------------------------------------------------------------------- content


def test_sections_built_and_numbers_in_report_json(built):
    result, _, data = built
    assert [key for key in result.sections] == SECTIONS
    assert all(info["status"] == "ok" for info in result.sections.values()), result.sections
    article = data["sections"]["article"]["data"]
    assert article["separable_kernel"]["column"] == [3, 4, 5]
    assert article["separable_kernel"]["row"] == [1, 2, 3]
    spatial = article["spatial_convolution"]["cost"]
    assert (spatial["normal"], spatial["separable"]) == (81, 72)
    assert spatial["passes"] == [[0, 45], [1, 27]]
    upscale = article["pointwise_upscale"]["cost"]
    assert upscale["normal"]["multiplications"] == 1_228_800
    assert upscale["separable_multiplications"] == 53_952
    assert article["sobel"]["max_abs_difference_vs_scipy_sobel"] == 0
    assert article["sobel"]["factors_x"] == [[1, 2, 1], [-1, 0, 1]]
    figures = data["sections"]["figures"]["data"]
    assert figures["spectra"]["sobel"]["rank"] == 1
    assert figures["spectra"]["disk:radius=7"]["rank"] == 6


def _text(fragment: str) -> str:
    return re.sub(r"<[^>]+>", "", fragment)


def test_every_figure_has_title_explanation_command_and_toc_entry(built):
    _, html, data = built
    found = re.findall(
        r'<figure id="([^"]+)" data-title="([^"]*)"><h3>[^<]*</h3><img alt="[^"]*" '
        r'src="data:image/png;base64,[A-Za-z0-9+/=]+"><figcaption><p>(.{80,}?)</p>'
        r'<p class="cmd">Reproduce: (<code class="command">.*?</code>)</p></figcaption></figure>',
        html,
    )
    figures = [
        (anchor, title, caption, _text(command)) for anchor, title, caption, command in found
    ]
    ids = [f[0] for f in figures]
    assert ids == [
        "fig-separable-kernel",
        "fig-spatial-convolution",
        "fig-sobel",
        "fig-depthwise",
        "fig-pointwise",
        "fig-pointwise-upscale",
        "fig-spectra",
        "fig-lowrank",
        "fig-filter-speed",
        "fig-ndimage-speed",
        "fig-layer-speedup",
        "fig-filter-heatmap",
    ]
    nav = html.split("<nav", 1)[1].split("</nav>", 1)[0]
    for anchor, title, _, command in figures:
        assert f'<a href="#{anchor}">{title}</a>' in nav
        assert command == f"sepconv figure {anchor[4:]} --out {anchor[4:]}.png"
    commands = {
        **data["sections"]["article"]["data"]["commands"],
        **data["sections"]["figures"]["data"]["commands"],
        "filter-heatmap": data["sections"]["filtering"]["data"]["benchmark"]["figure"],
    }
    assert sorted(commands.values()) == sorted(f[3] for f in figures)
    # and one untitled picture: the filtering section's sample image before and after
    assert html.count("<img") == len(figures) + 1
    spatial_caption = figures[1][2]
    assert "81 multiplications" in spatial_caption and "72 in all" in spatial_caption
    # a command inside a caption is code that breaks only between its words
    assert (
        '<code class="command"><span>sepconv</span> <span>cost</span> <span>spatial</span> '
        "<span>--image</span> <span>5x5</span> <span>--kernel</span> <span>3x3</span></code>"
    ) in spatial_caption


def test_page_is_self_contained_with_machine_footer(built):
    _, html, data = built
    body = html.split("<body>", 1)[1]
    assert "http" not in body and "//" not in re.sub(r"data:image/png;base64,[^\"]+", "", body)
    assert "default-src 'none'" in html.split("<body>", 1)[0]
    footer = body.split("<footer>", 1)[1]
    meta = data["meta"]
    for value in (meta["date"], meta["processor"], meta["versions"]["numpy"]):
        assert str(value) in footer


def test_glance_says_what_sepconv_does_with_one_kernel_set(built):
    _, html, data = built
    glance = html.split('<section id="at-a-glance">', 1)[1].split("</section>", 1)[0]
    cards = re.findall(r"<div><dt>([^<]+)</dt><dd>([^<]+)</dd>", glance)
    labels = [label for label, _ in cards]
    # Results for the reader, not the project's own checklist of benchmark targets.
    assert "targets" not in html.lower().split("<main>", 1)[1].split("</dl>", 1)[0]
    assert not any("target" in label for label in labels)
    # One kernel set: the table's count is the spectra figure's.
    kernels = data["sections"]["kernels"]["data"]["kernels"]
    spectra = data["sections"]["figures"]["data"]["spectra"]
    assert list(kernels) == list(spectra)
    separable = sum(info["rank"] == 1 for info in spectra.values())
    assert ("kernels that separate", f"{separable} of {len(spectra)}") in cards
    assert sum("kernel" in label for label in labels) == 1
    speed_card = next(value for label, value in cards if "measured now" in label)
    assert re.fullmatch(r"[\d.]+× (faster|slower) than scipy|as fast as scipy", speed_card)


def test_skipped_section_says_why_and_how_to_retry():
    ok = Section(
        "Good",
        png_bytes_figure(PIXEL, "a caption", "cmd", title="One", figure_id="a"),
        summary=[("things", "3")],
    )
    page = render_page(
        [("good", ok, None, 0.1), ("bad", None, "ImportError: no torch", 0.0)],
        {"date": "today", "versions": {"numpy": "9"}, "seconds": 1},
    )
    assert '<li class="skipped"><a href="#bad">bad</a> (skipped)</li>' in page
    assert "Skipped: ImportError: no torch" in page
    assert "sepconv report --sections bad" in page
    assert '<a href="#a">One</a>' in page and "<dt>things</dt><dd>3</dd>" in page
    assert "1 of 2 sections" in page


# --------------------------------------------------------------------------- browser


def _executable(*names: str) -> str | None:
    return next((path for name in names if (path := shutil.which(name))), None)


def _driver(user_dir: Path, width: int = 1280, height: int = 900) -> Any:
    """Headless Chromium with console and network logging, or a skip saying what is missing."""
    chromium = _executable("chromium", "chromium-browser", "google-chrome")
    chromedriver = _executable("chromedriver")
    if chromium is None or chromedriver is None:
        pytest.skip(
            "Chromium and chromedriver are not installed: apt-get install chromium "
            "chromium-driver (make browser) to run the browser test"
        )
    webdriver = pytest.importorskip(
        "selenium.webdriver", reason="selenium is not installed: pip install -e '.[dev]'"
    )
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={user_dir}", f"--window-size={width},{height}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    return webdriver.Chrome(service=Service(executable_path=chromedriver), options=options)


def inspect_page(driver: Any, page: Path) -> dict[str, Any]:
    """Open ``page``; report its images, console errors and requests that left the file."""
    for kind in ("browser", "performance"):  # drop what the new-tab page logged
        driver.get_log(kind)
    driver.get(page.resolve().as_uri())
    driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "Promise.all(Array.from(document.images, i => i.decode().catch(() => null)))"
        ".then(() => done());"
    )
    images = driver.execute_script(
        "return Array.from(document.images, i => [i.alt, i.complete, i.naturalWidth]);"
    )
    console = [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
    requests = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            url = message["params"]["request"]["url"]
            # chrome:// pages are the browser's own (never the network)
            if not url.startswith(("data:", "chrome:", page.resolve().as_uri())):
                requests.append(url)
    links = driver.execute_script(
        "return Array.from(document.querySelectorAll('nav a'), a => a.getAttribute('href'))"
        ".filter(h => !document.getElementById(h.slice(1)));"
    )
    overflow = driver.execute_script(
        "return document.documentElement.scrollWidth - window.innerWidth;"
    )
    return {
        "images": images,
        "console": console,
        "requests": requests,
        "broken_links": links,
        "overflow": overflow,
    }


def full_page_png(driver: Any) -> bytes:
    """A screenshot of the whole page, not just the window."""
    metrics = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})
    size = metrics.get("cssContentSize") or metrics["contentSize"]
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot",
        {
            "format": "png",
            "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1},
        },
    )
    return base64.b64decode(shot["data"])


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    driver = _driver(tmp_path_factory.mktemp("chromium-profile"))
    yield driver
    driver.quit()


def test_report_in_chromium_images_console_network(built, browser, tmp_path):
    result, html, _ = built
    found = inspect_page(browser, result.index)
    assert len(found["images"]) == html.count("<img") >= 8
    assert all(complete and width > 0 for _, complete, width in found["images"]), found["images"]
    assert found["console"] == [], found["console"]
    assert found["requests"] == [], found["requests"]
    assert found["broken_links"] == []
    assert found["overflow"] <= 0, "the page scrolls sideways on a laptop"
    shot = tmp_path / "report.png"
    shot.write_bytes(browser.get_screenshot_as_png())
    assert shot.stat().st_size > 10_000


def test_report_fits_a_phone_screen(built, browser):
    result, _, _ = built
    browser.set_window_size(390, 844)
    try:
        found = inspect_page(browser, result.index)
        width = browser.execute_script("return window.innerWidth;")
        img_widths = browser.execute_script(
            "return Array.from(document.images, i => i.getBoundingClientRect().width);"
        )
    finally:
        browser.set_window_size(1280, 900)
    assert found["overflow"] <= 0, "the page scrolls sideways on a phone"
    assert all(0 < w <= width for w in img_widths)


def test_report_shows_the_benchmark_as_a_picture_and_no_wide_table(built, browser):
    from sepconv.report._filtering import find_results

    if find_results() is None:
        pytest.skip("benchmarks/results/filters.json is not in this checkout")
    result, _, _ = built
    inspect_page(browser, result.index)
    text = browser.execute_script("return document.body.innerText;")
    assert "targets met" not in text.lower()
    picture = browser.execute_script(
        "const i = document.querySelector('#fig-filter-heatmap img');"
        "return i && [i.complete, i.naturalWidth, i.getBoundingClientRect().width];"
    )
    assert picture and picture[0] and picture[1] > 500 and picture[2] > 300, picture
    # The full table is folded away behind the picture: on the page, but not shown.
    folded = browser.execute_script(
        "return Array.from(document.querySelectorAll('details table'), t => t.checkVisibility());"
    )
    assert folded == [False]
    widths = (
        "const main = document.querySelector('main').clientWidth;"
        "return Array.from(document.querySelectorAll('table'))"
        ".filter(t => t.checkVisibility())"
        ".map(t => [t.getBoundingClientRect().width, main]);"
    )
    assert all(width <= main + 1 for width, main in browser.execute_script(widths))
    browser.execute_script("document.querySelectorAll('details').forEach(d => d.open = true);")
    opened = browser.execute_script(widths)
    assert len(opened) == len(browser.execute_script("return document.querySelectorAll('table');"))
    assert all(width <= main + 1 for width, main in opened), opened


def test_commands_never_break_inside_a_word(built, browser):
    result, _, _ = built
    words = (
        "return Array.from(document.querySelectorAll('code.command span'),"
        " s => [s.textContent, s.getClientRects().length]);"
    )
    for width in (1280, 390):
        browser.set_window_size(width, 900)
        try:
            inspect_page(browser, result.index)
            found = browser.execute_script(words)
        finally:
            browser.set_window_size(1280, 900)
        assert any(word == "--image" for word, _ in found)
        assert all(lines == 1 for _, lines in found), [w for w, n in found if n != 1]


def test_checker_catches_a_broken_page(browser, tmp_path):
    """The browser checks can fail: a page with a remote image and a corrupt one."""
    page = tmp_path / "broken.html"
    page.write_text(
        '<!DOCTYPE html><html><body><img alt="remote" src="http://192.0.2.1/x.png">'
        '<img alt="corrupt" src="data:image/png;base64,AAAA">'
        f'<img alt="fine" src="data:image/png;base64,{base64.b64encode(PIXEL).decode()}">'
        '<nav><a href="#nowhere">x</a></nav></body></html>'
    )
    found = inspect_page(browser, page)
    widths = {alt: width for alt, _, width in found["images"]}
    assert widths["fine"] == 1 and widths["corrupt"] == 0 and widths["remote"] == 0
    assert any("192.0.2.1" in url for url in found["requests"])
    assert found["console"]
    assert found["broken_links"] == ["#nowhere"]


# --------------------------------------------------------------------------- script


#: Width of the committed screenshot: the 1280-pixel page scaled down, 256 colours, ~1 MB.
SCREENSHOT_WIDTH = 900


def _shrink(png: bytes, width: int) -> bytes:
    import io

    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        rgb = image.convert("RGB")
    if rgb.width > width:
        rgb = rgb.resize((width, round(rgb.height * width / rgb.width)), Image.LANCZOS)
    buffer = io.BytesIO()
    rgb.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
        buffer, format="png", optimize=True
    )
    return buffer.getvalue()


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.split("::")[1].strip(), file=sys.stderr)
        return 2
    page, screenshot = Path(argv[0]), Path(argv[1])
    with tempfile.TemporaryDirectory() as profile:
        driver = _driver(Path(profile))
        try:
            found = inspect_page(driver, page)
            png = full_page_png(driver)
        finally:
            driver.quit()
    screenshot.write_bytes(_shrink(png, SCREENSHOT_WIDTH))
    bad = [alt for alt, complete, width in found["images"] if not (complete and width)]
    print(
        f"{len(found['images'])} images, {len(bad)} not decoded {bad}; "
        f"{len(found['console'])} console errors; {len(found['requests'])} requests; "
        f"wrote {screenshot}"
    )
    return 1 if bad or found["console"] or found["requests"] else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
