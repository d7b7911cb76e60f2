"""The gateway's web console in a real headless Chromium, against real services on loopback (tiny models).

Each modality page uploads a real file and the rendered result is checked against the API's own answer;
bad files show the API's message; the services page lists readiness; keyboard navigation reaches the
controls; auth on means the key field is required. Screenshots (1280×800 and 400 px wide) are saved in the
test's temporary folder (``console-*.png``) and checked for non-blank content.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image

from tests.support.browser import chromium_or_skip, is_blank_png, start_chromium
from tests.support.loop import LoopThread

pytestmark = pytest.mark.timeout(240)

KEY = "console-test-key"
TINY_COMET = {"train_steps": 10, "memory_size": 64, "coreset_pool": 512, "codebook_size": 8, "window": 32,
              "patch_sizes": [8], "d_model": 8, "n_heads": 1, "max_train_windows": 64}
TINY_GRAPH = {"epochs": 2, "steps_per_epoch": 3, "batch_size": 16, "hidden": 16, "diffusion_train_steps": 5,
              "diffusion_steps": 4, "diffusion_hidden": 16, "diffusion_layers": 1, "diffusion_batch": 8,
              "synthetic_per_epoch": 8, "warmup_epochs": 1, "ego_max_nodes": 8, "explain_candidates": 4}
ERROR_LINE = ("081109 203615 148 WARN dfs.DataNode$DataXceiver: writeBlock {b} received exception "
              "java.io.IOException: boom")


# -- without a browser: what the gateway serves ----------------------------------------------------
@pytest.fixture(scope="module")
def bare_gateway(loop_thread: LoopThread) -> Iterator[str]:
    """A gateway routing one modality to a closed port: the console's files and error paths only."""
    from tests.support.services import start_gateway

    gateway = start_gateway(loop_thread, {"timeseries": "127.0.0.1:9"})
    yield f"http://127.0.0.1:{gateway.http_port}"
    loop_thread.run(gateway.stop())


def test_console_files_are_served_and_nothing_else(bare_gateway: str) -> None:
    page = httpx.get(f"{bare_gateway}/", timeout=10)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    script = httpx.get(f"{bare_gateway}/web/main.js", timeout=10)
    assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
    for hidden in ("__init__.py", "..%2Fweb_routes.py", "missing.js"):
        answer = httpx.get(f"{bare_gateway}/web/{hidden}", timeout=10)
        assert answer.status_code == 404 and "error" in answer.json()
    assert "/" not in [route for route in httpx.get(f"{bare_gateway}/openapi.json", timeout=10).json()["paths"]]


def test_every_module_import_and_asset_resolves_and_urls_are_relative() -> None:
    from gateway.web_routes import WEB_DIR

    names = {p.name for p in WEB_DIR.iterdir()}
    for path in WEB_DIR.glob("*.js"):
        source = path.read_text(encoding="utf-8")
        for target in re.findall(r'from "\./([\w.]+)"', source):
            assert target in names, f"{path.name} imports missing {target}"
        assert not re.search(r"[\"'`]/(v1|v2|web|metrics|docs|readyz)", source), f"{path.name}: absolute URL"
    html = (WEB_DIR / "index.html").read_text(encoding="utf-8")
    for target in re.findall(r'(?:src|href)="web/([\w.]+)"', html):
        assert target in names
    assert 'src="/' not in html and 'href="/' not in html


def test_model_info_endpoint_reports_upstream_errors(bare_gateway: str) -> None:
    down = httpx.get(f"{bare_gateway}/v1/services/timeseries/model", timeout=30)
    assert down.status_code == 503 and "unavailable" in down.json()["error"]["message"]
    unrouted = httpx.get(f"{bare_gateway}/v1/services/vision/model", timeout=10)
    assert unrouted.status_code == 400 and "not routed" in unrouted.json()["error"]["message"]


# -- data and models -------------------------------------------------------------------------------
def _series(n: int, seed: int) -> np.ndarray:
    t = np.arange(n, dtype=np.float32)
    base = np.stack([np.sin(2 * np.pi * t / 50), np.cos(2 * np.pi * t / 50)], axis=1)
    return (base + 0.05 * np.random.default_rng(seed).standard_normal(base.shape)).astype(np.float32)


def _png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def _train(root: Path) -> SimpleNamespace:
    """Fit the four tiny models into one store; return the test files' data."""
    import torch

    from services.core.store import ModelStore
    from services.core.training import chronological_split, fit_and_store
    from services.graph.batch import union
    from services.graph.data import sbm
    from services.graph.detectors.ego_diffusion import EgoDiffusionDetector
    from services.graph.experiments import calibration_split
    from services.logs.data import generated_hdfs
    from services.logs.detectors.contralog import ContraLogDetector
    from services.timeseries.detectors.comet import CometDetector
    from services.vision.data import inspection_set
    from services.vision.detectors.multi_ad import MultiADDetector
    from tests.contract.cases import SMALL_CONFIGS as VISION
    from tests.contract.logs_case import SMALL_CONFIGS as LOGS

    torch.set_num_threads(1)
    store = ModelStore(root)
    fit_and_store(store, "timeseries", CometDetector(TINY_COMET), *chronological_split(_series(1200, 0), 0.25))
    crops = inspection_set("brick", n_train=20, n_test=8, size=64, seed=3)
    fit_and_store(store, "vision", MultiADDetector(VISION["vision.multi_ad"]),
                  *chronological_split(crops.train_images, 0.25))
    logs = generated_hdfs(160, anomaly_rate=0.0, seed=5)
    fit_and_store(store, "logs", ContraLogDetector({**LOGS["logs.contralog"], "session_pattern": r"(blk_-?\d+)"}),
                  *chronological_split(logs.sessions, 0.25))
    graphs = sbm(n_nodes=120, n_snapshots=3, n_train=2, per_type=4, seed=0)
    fit_and_store(store, "graph", EgoDiffusionDetector(TINY_GRAPH), *calibration_split(union(graphs.snapshots[:2]),
                                                                                       0.2, 0))
    defect = int(np.flatnonzero(crops.test_labels)[0])
    test_logs = generated_hdfs(8, anomaly_rate=0.0, seed=6)
    sessions = [s.split("\n") for s in test_logs.sessions]
    broken = [*sessions[0][:3], ERROR_LINE.format(b=test_logs.ids[0]), *sessions[0][3:]]
    return SimpleNamespace(defect=crops.test_images[defect], mask=crops.test_masks[defect] > 0,
                           log_lines=broken + [line for s in sessions[1:] for line in s], block=test_logs.ids[0],
                           graph=graphs.snapshots[2])


def _files(folder: Path, data: SimpleNamespace) -> SimpleNamespace:
    series = _series(400, 7)
    series[200:215] += 3.0
    csv = "timestamp,a,b\n" + "\n".join(f"{t},{a:.4f},{b:.4f}" for t, (a, b) in enumerate(series))
    graph = data.graph
    paths = {
        "csv": ("series.csv", csv.encode()),
        "bad_csv": ("bad.csv", b"a,b\n1.0,2.0\n3.0,oops\n"),
        "png": ("defect.png", _png(data.defect)),
        "bad_png": ("broken.png", b"GIF89a-not-a-png"),
        "log": ("hdfs.log", "\n".join(data.log_lines).encode()),
        "edges": ("edges.txt", ("source target\n" + "\n".join(f"{s} {d}" for s, d in graph.edge_index.T)).encode()),
        "features": ("features.csv", "\n".join(",".join(f"{v:.5f}" for v in row) for row in graph.x).encode()),
    }
    for name, content in paths.values():
        (folder / name).write_bytes(content)
    return SimpleNamespace(**{key: folder / name for key, (name, _) in paths.items()})


@pytest.fixture(scope="module")
def stack(loop_thread: LoopThread, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    browser, driver = chromium_or_skip()
    from gateway.app import start_gateway
    from gateway.auth import AuthSettings
    from gateway.config import GatewaySettings
    from services.core.app import start
    from services.core.backends import BackendSettings
    from services.graph.config import GraphSettings
    from services.logs.config import LogsSettings
    from services.timeseries.config import TimeSeriesSettings
    from services.vision.config import VisionSettings

    root = tmp_path_factory.mktemp("console-store")
    data = _train(root)
    common = {"address": "127.0.0.1:0", "store_root": str(root), "backend": BackendSettings()}
    services = [loop_thread.run(start(name, settings)) for name, settings in (
        ("timeseries", TimeSeriesSettings(**common)),
        ("vision", VisionSettings(**common, image_size=64)),
        ("logs", LogsSettings(**common, min_fit_sessions=10)),
        ("graph", GraphSettings(**common, max_explain_top_k=20)),
    )]
    routes = {name: f"127.0.0.1:{service.port}"
              for name, service in zip(("timeseries", "vision", "logs", "graph"), services, strict=True)}
    routes["tensorstream"] = "127.0.0.1:9"  # routed but down: no bespoke view, not ready
    gateway = loop_thread.run(start_gateway(GatewaySettings(grpc_address="127.0.0.1:0",
                                                            http_address="127.0.0.1:0", routes=routes)))
    locked = loop_thread.run(start_gateway(GatewaySettings(
        grpc_address="127.0.0.1:0", http_address="127.0.0.1:0", routes=routes,
        auth=AuthSettings(enabled=True, api_keys=[KEY]))))
    shots = tmp_path_factory.mktemp("console-screenshots")
    session = start_chromium(browser, driver, tmp_path_factory.mktemp("chromium-profile"))
    try:
        yield SimpleNamespace(http=f"http://127.0.0.1:{gateway.http_port}",
                              locked=f"http://127.0.0.1:{locked.http_port}", browser=session, data=data,
                              files=_files(tmp_path_factory.mktemp("console-files"), data), shots=shots)
    finally:
        session.quit()
        for running in (locked, gateway, *services):
            loop_thread.run(running.stop())


# -- browser helpers -------------------------------------------------------------------------------
def _viewport(browser: Any, width: int, height: int = 800) -> None:
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})


def _open(stack: SimpleNamespace, page: str, base: str | None = None) -> None:
    _viewport(stack.browser, 1280)
    stack.browser.get(f"{base or stack.http}/#/{page}")
    _wait(stack.browser, f"main .page[data-page='{page}']")


def _wait(browser: Any, css: str, timeout: float = 30) -> Any:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(browser, timeout).until(ec.visibility_of_element_located((By.CSS_SELECTOR, css)))


def _all(browser: Any, css: str) -> list[Any]:
    from selenium.webdriver.common.by import By

    return browser.find_elements(By.CSS_SELECTOR, css)


def _submit(stack: SimpleNamespace, files: dict[str, Path], alpha: str | None = None) -> None:
    from selenium.webdriver.common.by import By

    browser = stack.browser
    for name, path in files.items():
        browser.find_element(By.CSS_SELECTOR, f"form.detect input[type=file][name='{name}']").send_keys(str(path))
    if alpha is not None:
        field = browser.find_element(By.CSS_SELECTOR, "form.detect input[name='alpha']")
        field.clear()
        field.send_keys(alpha)
    browser.find_element(By.CSS_SELECTOR, "form.detect button[type=submit]").click()


def _screenshot(stack: SimpleNamespace, name: str, css: str | None = None) -> None:
    """Save a 1280×800 and a 400-px-wide screenshot of the current page (``css`` scrolled into view).

    Neither may be blank, scroll sideways or show the console's error banner. With
    ``POLYAD_CONSOLE_SCREENSHOTS=<dir>`` the pictures are also copied there (the README's images).
    """
    copy_to = os.environ.get("POLYAD_CONSOLE_SCREENSHOTS")
    for width in (1280, 400):
        _viewport(stack.browser, width)
        if css:
            stack.browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", _wait(stack.browser, css))
        assert not stack.browser.find_element("css selector", "#fatal").is_displayed(), \
            stack.browser.find_element("css selector", "#fatal").text
        png = stack.browser.get_screenshot_as_png()
        (stack.shots / f"console-{name}-{width}.png").write_bytes(png)
        if copy_to:
            Path(copy_to).mkdir(parents=True, exist_ok=True)
            (Path(copy_to) / f"console-{name}-{width}.png").write_bytes(png)
        assert Image.open(io.BytesIO(png)).size == (width, 800)
        assert not is_blank_png(png), f"the {name} page rendered blank at {width} px"
        overflow = stack.browser.execute_script(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 2, f"the {name} page scrolls sideways at {width} px ({overflow} px)"
    _viewport(stack.browser, 1280)


def _api(stack: SimpleNamespace, path: str, params: dict[str, Any], files: list[tuple[str, Path]]) -> dict[str, Any]:
    answer = httpx.post(f"{stack.http}/{path}", params=params, timeout=60,
                        files=[(field, (p.name, p.read_bytes())) for field, p in files])
    assert answer.status_code == 200, answer.text
    return answer.json()


# -- tests -----------------------------------------------------------------------------------------
def test_services_page_lists_readiness_models_and_links(stack: SimpleNamespace) -> None:
    _open(stack, "services")
    _wait(stack.browser, "table.services tbody tr")
    rows = {row.get_attribute("data-service"): row.find_element("css selector", ".readiness").text
            for row in _all(stack.browser, "table.services tbody tr")}
    assert rows == {**dict.fromkeys(("timeseries", "vision", "logs", "graph"), "ready"), "tensorstream": "not ready"}
    assert "waiting for tensorstream" in stack.browser.find_element("css selector", ".page .status").text
    _wait(stack.browser, ".card .error-inline")
    assert "unavailable" in stack.browser.find_element("css selector", ".card .error-inline").text
    _wait(stack.browser, ".card .detector")
    detectors = sorted(e.text for e in _all(stack.browser, ".card .detector"))
    assert detectors == ["comet", "contralog", "ego_diffusion", "multi_ad"]
    assert "training summary" in stack.browser.find_element("css selector", ".cards").text.lower()
    links = {a.text: a.get_attribute("href") for a in _all(stack.browser, ".links a")}
    assert links["Prometheus metrics (/metrics)"] == f"{stack.http}/metrics"
    assert links["API documentation (/docs)"] == f"{stack.http}/docs"
    nav = [a.get_attribute("data-page") for a in _all(stack.browser, "#nav-list a")]
    assert nav == ["services", "timeseries", "vision", "logs", "graph", "tensorstream"]
    _screenshot(stack, "services", ".card .detector")


def test_timeseries_upload_plots_the_flagged_regions(stack: SimpleNamespace) -> None:
    _open(stack, "timeseries")
    _submit(stack, {"file": stack.files.csv}, alpha="0.05")
    _wait(stack.browser, ".ts-plot svg .series-panel")
    answer = _api(stack, "v1/timeseries/detect/csv", {"alpha": 0.05}, [("file", stack.files.csv)])
    regions = answer["results"][0]["regions"]
    assert regions, "the injected level shift is not flagged by the tiny model"
    assert len(_all(stack.browser, ".series-panel rect.region")) == len(regions)
    assert len(_all(stack.browser, ".score-panel rect.region")) == len(regions)
    assert stack.browser.find_element("css selector", ".region-count").text == str(len(regions))
    drawn = [(int(r.get_attribute("data-start")), int(r.get_attribute("data-end")))
             for r in _all(stack.browser, ".series-panel rect.region")]
    assert drawn == [(r["start"], r["end"]) for r in regions]
    assert len(_all(stack.browser, ".series-panel polyline")) == 2  # both channels, time column dropped
    before = stack.browser.find_element("css selector", ".plot-controls .range").text
    stack.browser.find_element("css selector", ".ts-plot").send_keys("+")  # keyboard zoom
    assert stack.browser.find_element("css selector", ".plot-controls .range").text != before
    _screenshot(stack, "timeseries", ".ts-plot")


def test_bad_csv_shows_the_api_message(stack: SimpleNamespace) -> None:
    _open(stack, "timeseries")
    _submit(stack, {"file": stack.files.bad_csv})
    shown = _wait(stack.browser, ".page .error").text
    answer = httpx.post(f"{stack.http}/v1/timeseries/detect/csv", timeout=30,
                        files={"file": ("bad.csv", stack.files.bad_csv.read_bytes())})
    assert answer.status_code == 400
    assert answer.json()["error"]["message"] in shown and "HTTP 400" in shown


def test_image_overlay_is_hot_on_the_defect(stack: SimpleNamespace) -> None:
    from selenium.webdriver.common.keys import Keys

    _open(stack, "vision")
    _submit(stack, {"files": stack.files.png})
    canvas = _wait(stack.browser, "canvas.overlay")
    answer = _api(stack, "v1/vision/detect", {}, [("files", stack.files.png)])["results"][0]
    caption = stack.browser.find_element("css selector", "figcaption").text
    assert "anomalous" in caption or "normal" in caption
    assert ("anomalous" in caption) == answer["anomalous"]
    cells = [cell.text for cell in stack.browser.find_elements("css selector", ".table-wrap tbody tr td")]
    shown = [float(text) for text in cells if re.fullmatch(r"-?\d+\.\d+", text)]
    assert shown and abs(shown[0] - answer["score"]) < 1e-3, (cells, answer["score"])  # the table shows the score
    slider = stack.browser.find_element("css selector", "input[type=range][name=opacity]")

    def pixels(key: str) -> np.ndarray:
        slider.send_keys(key)  # keyboard: Home → 0 %, End → 100 %
        data = stack.browser.execute_script(
            "const c = arguments[0]; return Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data)",
            canvas)
        return np.asarray(data, dtype=np.float32).reshape(int(canvas.get_attribute("height")), -1, 4)[..., :3]

    image, blended = pixels(Keys.HOME), pixels(Keys.END)
    assert slider.get_attribute("value") == "100"
    heat = 2 * blended - image  # the service's PNG is half image, half colour ramp
    hot = heat[..., 0] - heat[..., 2]  # red minus blue on the blue→red ramp
    mask = stack.data.mask
    assert hot.shape == mask.shape
    assert hot[mask].mean() > hot[~mask].mean() + 20, "the overlay is not hotter on the defect than off it"
    _screenshot(stack, "vision", "canvas.overlay")


def test_bad_image_shows_the_api_message(stack: SimpleNamespace) -> None:
    _open(stack, "vision")
    _submit(stack, {"files": stack.files.bad_png})
    assert "not a PNG or JPEG" in _wait(stack.browser, ".page .error").text


def test_logs_flagged_session_has_its_driving_line_highlighted(stack: SimpleNamespace) -> None:
    _open(stack, "logs")
    _submit(stack, {"file": stack.files.log}, alpha="0.05")
    _wait(stack.browser, "details.session")
    answer = _api(stack, "v1/logs/detect/file", {"alpha": 0.05, "top_lines": 3}, [("file", stack.files.log)])
    flagged = {r["id"] for r in answer["results"] if r["anomalous"]}
    assert stack.data.block in flagged, "the session with the injected exception is not flagged"
    shown = _all(stack.browser, "details.session")
    assert len(shown) == len(answer["results"])
    assert {e.find_element("css selector", "summary code").text for e in shown if "flagged" in
            e.get_attribute("class")} == flagged
    first = shown[0]
    assert first.find_element("css selector", "summary code").text == max(
        (r for r in answer["results"] if r["anomalous"]), key=lambda r: r["score"])["id"]
    broken = next(e for e in shown if e.find_element("css selector", "summary code").text == stack.data.block)
    driving = [li.text for li in broken.find_elements("css selector", "li.driving")]
    assert driving and any("IOException" in text for text in driving)
    assert len(broken.find_elements("css selector", "ol.log-lines li")) == len(
        [line for line in stack.data.log_lines if stack.data.block in line])
    _screenshot(stack, "logs", "details.session")


def test_graph_upload_lists_nodes_with_neighbours_and_draws_an_ego_graph(stack: SimpleNamespace) -> None:
    _open(stack, "graph")
    _submit(stack, {"edges": stack.files.edges, "features": stack.files.features})
    _wait(stack.browser, "table.nodes tbody tr")
    answer = _api(stack, "v1/graph/detect/upload", {"explain_top_k": 10},
                  [("edges", stack.files.edges), ("features", stack.files.features)])
    flagged = [r["node"] for r in answer["results"] if r["anomalous"]]
    rows = _all(stack.browser, "table.nodes tbody tr")
    assert len(rows) == (len(flagged) or len(answer["evidence"]))
    first = int(rows[0].find_element("css selector", "th").text)
    evidence = {e["node"]: e for e in answer["evidence"]}
    if first in evidence:
        chips = rows[0].find_elements("css selector", ".chip")
        assert [c.text.split()[0] for c in chips] == [str(v["node"]) for v in evidence[first]["neighbors"][:5]]
    ego = _wait(stack.browser, "svg.ego")
    assert ego.find_element("css selector", ".node.center text").text == str(first)
    assert len(ego.find_elements("css selector", ".node")) > 1
    rows[-1].find_element("css selector", "button").send_keys("\n")  # keyboard: Enter on a row's button
    assert stack.browser.find_element("css selector", "svg.ego .node.center text").text == \
        rows[-1].find_element("css selector", "th").text
    _screenshot(stack, "graph", "svg.ego")


def test_modality_without_a_view_gets_the_generic_page(stack: SimpleNamespace) -> None:
    from selenium.webdriver.common.by import By

    _open(stack, "tensorstream")
    assert "No console view yet" in stack.browser.find_element(By.CSS_SELECTOR, ".page .note").text
    stack.browser.find_element(By.CSS_SELECTOR, "form.generic textarea").send_keys("{}")
    stack.browser.find_element(By.CSS_SELECTOR, "form.generic button[type=submit]").click()
    assert "tensorstream" in _wait(stack.browser, ".page .error").text  # the API's 503 message, not a blank page
    _open(stack, "hyperspectral")
    assert "not routed" in stack.browser.find_element(By.CSS_SELECTOR, ".page .note").text


def test_keyboard_reaches_every_control_in_order(stack: SimpleNamespace) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    _open(stack, "timeseries")
    stack.browser.execute_script("document.querySelector('a.skip').focus()")  # the page's first stop
    reached: list[str] = []
    for _ in range(16):
        ActionChains(stack.browser).send_keys(Keys.TAB).perform()
        reached.append(stack.browser.execute_script(
            "const e = document.activeElement; return e.name || e.id || e.getAttribute('data-page') || e.tagName"))
    wanted = ["api-key", "file", "detector", "version", "rule", "alpha"]
    assert all(name in reached for name in wanted), reached
    assert [name for name in reached if name in wanted][:len(wanted)] == wanted
    assert "BUTTON" in reached[reached.index("alpha"):]
    unlabelled = stack.browser.execute_script(
        "return [...document.querySelectorAll('input, select, textarea')].filter(e => !e.labels || !e.labels.length)"
        ".map(e => e.name || e.id)")
    assert unlabelled == []


def test_auth_on_requires_the_key_field(stack: SimpleNamespace) -> None:
    page = httpx.get(f"{stack.locked}/", timeout=10)
    if page.status_code == 401:
        pytest.skip("gateway/auth.py still requires a key for the console's static files ('/', '/web/*'); "
                    "see gateway/README.md (web console, API keys)")
    _open(stack, "services", base=stack.locked)
    shown = _wait(stack.browser, "#api-key-hint.needed").text
    assert "requires an API key" in shown
    key = stack.browser.find_element("css selector", "#api-key")
    assert key.get_attribute("aria-invalid") == "true" and key.get_attribute("required") is not None
    key.send_keys(KEY + "\n")
    _wait(stack.browser, "table.services tbody tr")
    assert stack.browser.execute_script("return sessionStorage.getItem('polyad.apiKey')") == KEY
    stack.browser.execute_script("sessionStorage.clear()")
