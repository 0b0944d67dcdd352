"""Benchmark (issue 7): ``herald serve`` next to nginx serving the same bytes, with wrk.

Usage (needs Debian's wrk and nginx packages)::

    .venv/bin/python bench/serve_wrk.py --advisories 10000 --duration 10 --connections 64

On a copy of the fixture (``bench/fixture.py``: N published advisories, SQLite,
the embedded default) it starts ``herald serve`` (default --workers/--threads)
and nginx on loopback, nginx serving a ``herald export site`` of the same
artifacts (``sendfile``, ``open_file_cache``, one worker per CPU). For each
target (the index, one advisory page, the Atom feed and one OSV document;
``--osv`` names another document when OSV is not built) it runs wrk against
both with the same threads and connections and prints requests/s, latency
percentiles and the ratios (targets: herald >= 0.5x nginx's requests/s and a
p99 <= 2x nginx's).

A second run loads herald with wrk on every target at once and publishes an
advisory in the middle (through ``do_publish_advisory``, as the desk does): it
reports wrk's errors and non-2xx responses, and how long after the commit every
surface (index, page, Atom, RSS, handbook page, OSV) served the new advisory.
Last, the resident memory (RSS and PSS) of the server's processes.
"""

# A benchmark runs local tools (wrk, nginx, hugo, granian) with fixed arguments, uses
# seeded pseudo-random text and scratch directories under /tmp: none of it is input.
# ruff: noqa: S103, S311, S603, S607

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fixture

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(url: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 (loopback)
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not come up")


def fetch(url: str) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (loopback)
            return bytes(response.read())
    except OSError:
        return b""


NGINX_CONF = """
worker_processes {workers};
user root;
daemon off;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    include /etc/nginx/mime.types;
    types {{ text/markdown md; application/pgp-keys asc; }}
    default_type application/octet-stream;
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    open_file_cache max=100000 inactive=60s;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    server {{
        listen 127.0.0.1:{port};
        root {root};
        index index.html;
        gzip_static on;
    }}
}}
"""


def start_nginx(root: Path, port: int, workers: int, prefix: Path) -> subprocess.Popen[bytes]:
    prefix.mkdir(parents=True, exist_ok=True)
    conf = prefix / "nginx.conf"
    conf.write_text(NGINX_CONF.format(workers=workers, prefix=prefix, port=port, root=root))
    return subprocess.Popen(["nginx", "-c", str(conf), "-p", str(prefix)])


LATENCY = re.compile(r"^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s)\s*$", re.M)


def wrk(url: str, *, threads: int, connections: int, duration: int,
        script: Path | None = None) -> dict[str, float]:  # fmt: skip
    args = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency"]
    if script:
        args += ["-s", str(script)]
    out = subprocess.run([*args, url], capture_output=True, text=True, check=True).stdout
    result: dict[str, float] = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])}  # type: ignore[index]
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    for pct, value, unit in LATENCY.findall(out):
        result[f"p{pct}"] = float(value) * scale[unit]
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    result["errors"] = sum(int(x) for x in errors.groups()) if errors else 0
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    result["non2xx"] = int(non2xx[1]) if non2xx else 0
    result["requests"] = float(re.search(r"(\d+) requests in", out)[1])  # type: ignore[index]
    return result


def memory(pid: int) -> tuple[int, int, int]:
    """(processes, RSS, PSS) in KiB of ``pid`` and its descendants."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo += children.get(current, [])
    rss = pss = 0
    for p in tree:
        try:
            rollup = Path(f"/proc/{p}/smaps_rollup").read_text()
        except OSError:
            continue
        rss += int(re.search(r"^Rss:\s+(\d+)", rollup, re.M)[1])  # type: ignore[index]
        pss += int(re.search(r"^Pss:\s+(\d+)", rollup, re.M)[1])  # type: ignore[index]
    return len(tree), rss, pss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--advisories", type=int, default=10_000)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--workers", type=int, default=0, help="herald serve --workers")
    parser.add_argument("--serve-threads", type=int, default=0, help="herald serve --threads")
    parser.add_argument(
        "--floor",
        action="store_true",
        help="also time granian with a trivial app returning the same bytes",
    )
    parser.add_argument("--osv", default="", help="OSV target path (default: one osv/*.json)")
    args = parser.parse_args()

    home = fixture.prepare(args.advisories)
    fixture.setup_django(home)
    from herald.advisories.queries import public_advisories
    from herald.publishing.models import Artifact
    from herald.publishing.store import serving
    from herald.publishing.store.siteexport import export_site

    serving.sync()
    work = Path(tempfile.mkdtemp(prefix="herald-bench-wrk-"))
    os.chmod(work, 0o755)
    export = work / "export"
    export_site(export)
    sample = public_advisories().filter(status="resolved").order_by("-published_at")[100]
    targets = {
        "index": "/security/advisories/",
        "advisory page": f"/security/advisories/{sample.identifier}/",
        "atom feed": "/security/advisories/feed.atom",
    }
    osv = args.osv or (f"osv/{sample.identifier}.json" if Artifact.objects.filter(
        path=f"osv/{sample.identifier}.json").exists() else "")  # fmt: skip
    if osv:
        targets["OSV document"] = "/" + osv.lstrip("/")
    else:
        print("No OSV documents are built in this tree: the OSV target is left out.")
    sizes = {name: len(fetch_from_db(path)) for name, path in targets.items()}

    herald_port, nginx_port = free_port(), free_port()
    serve_args = [sys.executable, "-m", "herald.cli", "serve", "--port", str(herald_port),
                  "--no-worker"]  # fmt: skip
    if args.workers:
        serve_args += ["--workers", str(args.workers)]
    if args.serve_threads:
        serve_args += ["--threads", str(args.serve_threads)]
    # herald serve makes the public base URL follow the address it listens on, and
    # renders every artifact again when that changes (minutes at 10,000, past the wait
    # below): keep the fixture's base URL, so this port is not a change.
    from herald.core.models import VendorProfile

    env = {**os.environ, "HERALD_HOME": str(home), "HERALD_LOG_LEVEL": "WARNING",
           "HERALD_BASE_URL": VendorProfile.get().base_url}  # fmt: skip
    log = (work / "serve.log").open("wb")
    server = subprocess.Popen(serve_args, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    workers = args.workers or min(8, os.cpu_count() or 1)
    nginx = start_nginx(export, nginx_port, workers, work / "nginx")
    try:
        wait_until_up(f"http://127.0.0.1:{herald_port}/security/advisories/")
        wait_until_up(f"http://127.0.0.1:{nginx_port}/security/advisories/")
        for name, path in targets.items():
            assert fetch(f"http://127.0.0.1:{herald_port}{path}") == fetch(
                f"http://127.0.0.1:{nginx_port}{path}"
            ), f"{name}: herald and nginx serve different bytes"
        print(f"herald serve: {' '.join(serve_args[2:])}   nginx: {workers} worker(s)")
        print(f"wrk: -t{args.threads} -c{args.connections} -d{args.duration}s --latency, "
              f"{os.cpu_count()} CPUs shared by both servers and wrk\n")  # fmt: skip
        header = (f"{'target':<14}{'bytes':>8} {'server':<7}{'req/s':>9}{'p50 ms':>8}"
                  f"{'p90 ms':>8}{'p99 ms':>8}{'errors':>7}")  # fmt: skip
        print(header)
        for name, path in targets.items():
            results = {}
            for server_name, port in (("herald", herald_port), ("nginx", nginx_port)):
                r = wrk(f"http://127.0.0.1:{port}{path}", threads=args.threads,
                        connections=args.connections, duration=args.duration)  # fmt: skip
                results[server_name] = r
                print(f"{name:<14}{sizes[name]:>8} {server_name:<7}{r['rps']:>9.0f}"
                      f"{r['p50']:>8.2f}{r['p90']:>8.2f}{r['p99']:>8.2f}"
                      f"{int(r['errors'] + r['non2xx']):>7}")  # fmt: skip
            h, n = results["herald"], results["nginx"]
            if args.floor:
                r = floor(work, fetch_from_db(path), workers, args)
                print(f"{'':<14}{'':>8} {'floor':<7}{r['rps']:>9.0f}"
                      f"{r['p50']:>8.2f}{r['p90']:>8.2f}{r['p99']:>8.2f}"
                      f"{int(r['errors'] + r['non2xx']):>7}   (granian, trivial app)")  # fmt: skip
            print(f"{'':<14}{'':>8} ratio  {h['rps'] / n['rps']:>9.2f}x{'':>15}"
                  f"{h['p99'] / n['p99']:>8.2f}x   (targets >= 0.5x, <= 2x)")  # fmt: skip

        publish_under_load(work, herald_port, targets, args)
        count, rss, pss = memory(server.pid)
        print(f"\nMemory of herald serve ({count} processes, no worker, {args.advisories} "
              f"advisories): RSS {rss / 1024:.0f} MiB, PSS {pss / 1024:.0f} MiB")  # fmt: skip
    finally:
        server.send_signal(signal.SIGINT)
        nginx.send_signal(signal.SIGQUIT)
        for process in (server, nginx):
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        log.close()
        shutil.rmtree(work, ignore_errors=True)


def floor(work: Path, body: bytes, workers: int, args: argparse.Namespace) -> dict[str, float]:
    """granian serving ``body`` from a trivial WSGI app: the server's own ceiling."""
    (work / "body").write_bytes(body)
    port = free_port()
    app = subprocess.Popen(
        [sys.executable, "-m", "granian", "--interface", "wsgi", "--workers", str(workers),
         "--port", str(port), "--log-level", "warning", "fixed_bytes_app:application"],
        cwd=Path(__file__).resolve().parent,
        env={**os.environ, "HERALD_BENCH_BODY": str(work / "body")},
    )  # fmt: skip
    try:
        wait_until_up(f"http://127.0.0.1:{port}/")
        return wrk(f"http://127.0.0.1:{port}/", threads=args.threads,
                   connections=args.connections, duration=args.duration)  # fmt: skip
    finally:
        app.send_signal(signal.SIGINT)
        app.wait(timeout=20)


def fetch_from_db(path: str) -> bytes:
    from herald.publishing.models import Artifact

    relative = path.lstrip("/")
    if relative.endswith("/") or not relative:
        relative += "index.html"
    return bytes(Artifact.objects.get(path=relative).content)


def publish_under_load(work: Path, port: int, targets: dict[str, str],
                       args: argparse.Namespace) -> None:  # fmt: skip
    """wrk on every target at once; an advisory published in the middle."""
    import random

    from django.db import transaction

    from herald.incidents.models import Incident
    from herald.publication.actions import do_create_advisory, do_publish_advisory

    script = work / "targets.lua"
    paths = ", ".join(f'"{p}"' for p in targets.values())
    script.write_text(
        f"local paths = {{{paths}}}\nlocal i = 0\n"
        "request = function()\n  i = i + 1\n"
        "  return wrk.format('GET', paths[(i % #paths) + 1])\nend\n"
    )
    duration = max(args.duration, 10)
    outcome: dict[str, dict[str, float]] = {}
    load = threading.Thread(target=lambda: outcome.update(r=wrk(
        f"http://127.0.0.1:{port}/", threads=args.threads, connections=args.connections,
        duration=duration, script=script)))  # fmt: skip
    incident = Incident.objects.filter(status="open").first()
    values = fixture.advisory_values(99_999, random.Random(5), __import__(
        "django.utils.timezone", fromlist=["now"]).now())  # fmt: skip
    values.update(status="fixed", title="Published under load: the canary advisory")
    draft = do_create_advisory(acting_user=None, incident=incident, **values)
    load.start()
    time.sleep(duration / 3)
    moments: dict[str, float] = {}
    began = time.perf_counter()
    with transaction.atomic():
        # Registered first, so it runs first at the commit, before the receivers
        # that copy the artifacts to the served site.
        transaction.on_commit(lambda: moments.update(committed=time.perf_counter()))
        advisory = do_publish_advisory(draft, acting_user=None)
    returned = time.perf_counter()
    committed = moments["committed"]
    ident = advisory.identifier.encode()
    base = f"http://127.0.0.1:{port}"
    surfaces = {
        "index": (base + "/security/advisories/", ident),
        "page": (base + f"/security/advisories/{advisory.identifier}/", ident),
        "atom": (base + "/security/advisories/feed.atom", ident),
        "rss": (base + "/security/advisories/feed.rss", ident),
        "handbook": (base + "/security/advisories.md", b"the canary advisory"),
    }
    if "OSV document" in targets:
        # A new advisory's document is at its OSV id (the prefix, then the identifier);
        # only advisories published before the prefix keep osv/<identifier>.json.
        from django.conf import settings

        osv_id = f"{settings.HERALD_OSV_ID_PREFIX}{advisory.identifier}"
        surfaces["osv"] = (base + f"/osv/{osv_id}.json", ident)
    seen: dict[str, float] = {}
    while len(seen) < len(surfaces) and time.perf_counter() - committed < 30:
        for name, (url, needle) in surfaces.items():
            if name not in seen and needle in fetch(url):
                seen[name] = time.perf_counter() - committed
        time.sleep(0.01)
    load.join()
    r = outcome["r"]
    print(f"\nPublish during load (wrk on all targets, {duration}s, -c{args.connections}):")
    print(f"  {r['requests']:.0f} requests, {r['rps']:.0f} req/s, p99 {r['p99']:.2f} ms, "
          f"socket errors {int(r['errors'])}, non-2xx {int(r['non2xx'])}")  # fmt: skip
    print(f"  publish transaction (all formats, indexes, feeds): "
          f"{(committed - began) * 1000:.0f} ms; served copy updated "
          f"{(returned - committed) * 1000:.0f} ms after the commit")  # fmt: skip
    for name in surfaces:
        print(f"  visible on {name:<9} {seen[name] * 1000:7.0f} ms after the commit"
              if name in seen else f"  NOT visible on {name} after 30 s")  # fmt: skip
    if seen:
        spread = max(seen.values()) - min(seen.values())
        print(f"  visible everywhere {max(seen.values()) * 1000:.0f} ms after the commit "
              f"(first to last surface: {spread * 1000:.0f} ms, polled every 10 ms)")  # fmt: skip


if __name__ == "__main__":
    main()
