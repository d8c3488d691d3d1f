"""pipeline.serve.ops: /health, /metrics (parsed with prometheus-client's own parser) and the
access log, in the WSGI app and in serve.py with several worker processes."""

import io
import json
import os
import re
import shutil
import sys
import textwrap
import time

import pytest
from prometheus_client.parser import text_string_to_metric_families
from werkzeug.test import Client

from conftest import ROOT, Http, copy_media, free_port, run_doit, running_process
from pipeline.serve.ops import AccessLog, redact

CATALOG = textwrap.dedent("""\
    settings:
      formats: [Original, Jpg]
      sizes: [{maxWidth: [160, 320]}]
    items:
      - id: movie
        name: Movie
        type: Movie
        images:
          Primary: media/box-painting.jpg
          Backdrop: [media/Aqua.jpg]
""")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("ops")
    copy_media(root, "box-painting.jpg", "Aqua.jpg")
    (root / "catalog.yaml").write_text(CATALOG)
    run_doit(root / "catalog.yaml", root / "output", check=True)
    return root / "output"


def samples(text: str) -> dict:
    """{(name, frozenset(labels)): value} of a Prometheus text exposition."""
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def value(parsed: dict, name: str, **labels) -> float:
    return parsed.get((name, frozenset(labels.items())), 0.0)


def get(client: Client, url: str):
    response = client.get(url)
    return response.status_code, response.headers, response.get_data()


def test_health_and_metrics_in_the_app(built):
    from pipeline.serve.app import App
    app = App(built, reload_interval=0)
    client = Client(app)
    status, headers, body = get(client, "/health")
    assert status == 200 and headers["Cache-Control"] == "no-store"
    health = json.loads(body)
    manifest = json.loads((built / "manifest.json").read_text())
    assert health["status"] == "ok" and health["images"] == len(manifest["images"]) == 2
    assert health["items"] == 1 and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", health["build_time"])

    before = samples(get(client, "/metrics")[2].decode())
    assert get(client, "/Items/movie/Images/Primary?maxWidth=160")[0] == 200
    assert get(client, "/Items/movie/Images/Primary?maxWidth=5000")[0] == 200          # the original
    assert get(client, "/Items/movie/Images/Primary?maxWidth=160&blur=3")[0] == 200    # not applied
    assert get(client, "/Items/movie/Images/Backdrop/0?maxWidth=100")[0] == 200        # larger
    assert get(client, "/Items/nothing/Images/Primary")[0] == 404
    assert get(client, "/no/such/route")[0] == 404
    status, headers, body = get(client, "/metrics")
    assert status == 200 and headers["Content-Type"].startswith("text/plain; version=")
    after = samples(body.decode())

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)
    assert delta("pipeline_http_requests_total", route="image4", status="200") == 3
    assert delta("pipeline_http_requests_total", route="image5", status="200") == 1
    assert delta("pipeline_http_requests_total", route="image4", status="404") == 1
    assert delta("pipeline_http_requests_total", route="none", status="404") == 1
    assert delta("pipeline_http_requests_total", route="metrics", status="200") == 1
    assert delta("pipeline_http_request_duration_seconds_count", route="image4") == 4
    assert delta("pipeline_image_answers_total", fit="exact") == 3
    assert delta("pipeline_image_answers_total", fit="larger") == 1
    assert delta("pipeline_decorations_not_applied_total", parameter="blur") == 1
    assert value(after, "pipeline_index_images") == 2

    # a rebuild (a new index file) is one reload
    manifest_path = built / "index.sqlite"
    os.utime(manifest_path, ns=(time.time_ns(), time.time_ns() + 10**9))
    get(client, "/Items/movie")
    after_reload = samples(get(client, "/metrics")[2].decode())
    assert value(after_reload, "pipeline_index_reloads_total") - value(after, "pipeline_index_reloads_total") == 1


def test_health_is_503_without_an_index(built, tmp_path):
    from pipeline.serve.app import App
    from pipeline.serve.ops import WaitingApp
    output = tmp_path / "output"
    output.mkdir()
    waiting = WaitingApp(output / "index.sqlite", lambda: App(output), interval=0)
    client = Client(waiting)
    status, _, body = get(client, "/health")
    assert status == 503 and json.loads(body)["status"] == "no index"
    assert get(client, "/Items/movie/Images/Primary")[0] == 503
    assert get(client, "/metrics")[0] == 200
    shutil.copytree(built, output, dirs_exist_ok=True)
    status, _, body = get(client, "/health")
    assert status == 200 and json.loads(body)["images"] == 2
    assert get(client, "/Items/movie/Images/Primary")[0] == 200
    # the index removed after the start: 503 until a build writes it again
    app = App(output, reload_interval=0)
    (output / "index.sqlite").unlink()
    assert Client(app).get("/health").status_code == 503


def test_redact_and_log_formats():
    assert redact("maxWidth=10&api_key=secret&ApiKey=x") == "maxWidth=10&api_key=REDACTED&ApiKey=REDACTED"
    assert redact("maxWidth=10") == "maxWidth=10"
    environ = {"PATH_INFO": "/Items/a b/Images/Primary", "QUERY_STRING": "api_key=s3cret&maxWidth=1",
               "REQUEST_METHOD": "GET", "REMOTE_ADDR": "127.0.0.1", "SERVER_PROTOCOL": "HTTP/1.1",
               "HTTP_USER_AGENT": 'Kodi "19"', "HTTP_AUTHORIZATION": "Token secret"}
    headers = {"X-Image-Fit": "exact", "X-Image-Size": "1x1"}
    combined = AccessLog("combined").line(environ, 200, headers, 123, 0.0012, "image4")
    assert re.fullmatch(r'127\.0\.0\.1 - - \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d \+0000\] '
                        r'"GET /Items/a%20b/Images/Primary\?api_key=REDACTED&maxWidth=1 HTTP/1\.1" 200 123 '
                        r'"-" "Kodi \\"19\\""\n', combined), combined
    record = json.loads(AccessLog("json").line(environ, 200, headers, 123, 0.0012, "image4"))
    assert record["status"] == 200 and record["bytes"] == 123 and record["route"] == "image4"
    assert record["fit"] == "exact" and "s3cret" not in json.dumps(record) and "secret" not in json.dumps(record)
    with pytest.raises(ValueError, match="combined, json"):
        AccessLog("apache")


def test_serve_py_metrics_sum_over_workers_and_access_log(built, tmp_path):
    log = tmp_path / "access.log"
    port = free_port()
    cmd = [sys.executable, str(ROOT / "serve.py"), "--output", str(built), "--host", "127.0.0.1",
           "--port", str(port), "--workers", "2", "--access-log", "json", "--access-log-file", str(log)]
    with running_process(cmd, port, "serve.py"):
        http = Http(f"http://127.0.0.1:{port}")
        n = 40
        for i in range(n):
            assert http.request(f"/Items/movie/Images/Primary?maxWidth={100 + i % 10}&api_key=k")[0] == 200  # repeats: kept answers
        status, headers, body = http.request("/health")
        assert status == 200 and json.loads(body)["images"] == 2
        # whichever worker answers, /metrics has every worker's requests
        for _ in range(4):
            status, headers, body = http.request("/metrics")
            assert status == 200
            parsed = samples(body.decode())
            assert value(parsed, "pipeline_http_requests_total", route="image4", status="200") == n
            assert value(parsed, "pipeline_image_answers_total", fit="larger") == n
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    images = [r for r in lines if r["route"] == "image4"]
    assert len(images) == n and all(r["status"] == 200 and r["bytes"] > 0 for r in images)
    assert all("api_key=REDACTED" in r["query"] for r in images)


def test_serve_py_wait_for_build(built, tmp_path):
    output = tmp_path / "output"
    port = free_port()
    cmd = [sys.executable, str(ROOT / "serve.py"), "--output", str(output), "--host", "127.0.0.1",
           "--port", str(port), "--workers", "1", "--wait-for-build"]
    with running_process(cmd, port, "serve.py"):
        http = Http(f"http://127.0.0.1:{port}")
        assert http.request("/health")[0] == 503
        shutil.copytree(built, output, dirs_exist_ok=True)
        for _ in range(100):                       # at most ~10 s
            if http.request("/health")[0] == 200:
                break
            time.sleep(0.1)
        assert http.request("/health")[0] == 200
        assert http.request("/Items/movie/Images/Primary")[0] == 200
