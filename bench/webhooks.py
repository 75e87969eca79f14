#!/usr/bin/env python3
"""bench/webhooks.py: webhook delivery from one evmesh node to a local
keep-alive receiver (examples/webhook_receiver), against wrk driving the same
receiver with the same request in the same run.

  bench/webhooks.py BUILD_DIR [--events N] [--endpoints E] [--in-flight W]
                    [--latency-events L] [--duration S] [--store URL]
                    [--only-throughput]

1. wrk baseline: wrk -t1 -c(E*W) -d S, POSTing the same body and headers
   evmesh sends (bench/webhook_post.lua) to a receiver that counts only.
2. evmesh throughput: a node (temp data dir, --allow-private-targets), E
   endpoints on topic bench.w with max_in_flight W, all to a counting
   receiver; N events published over HTTP in batches of 500 while delivery
   runs; deliveries/s = E*N / (time from first publish to the receiver
   counting E*N).
3. the same with one more endpoint on bench.w that is dead (a port nothing
   listens on): the healthy endpoints' deliveries/s, and the ratio to 2.
4. latency: one endpoint, L single publishes one after another (each waits
   for its 202); publish -> receipt = the receiver's clock at receipt minus
   the event's timestamp (stamped by the node when it accepted the publish;
   same host clock); p50/p99.
Everything on 127.0.0.1; processes killed and temp dirs removed at exit.
"""
import argparse, json, os, re, shutil, signal, statistics, subprocess, sys, tempfile, time
import http.client
from datetime import datetime

BODY = json.dumps({"id": "01BENCH00000000000000000000", "type": "bench.w",
                   "timestamp": "2026-11-23T12:00:00.000000Z",
                   "data": {"order": 123456, "customer": "c-000042", "note": "x" * 52}},
                  separators=(",", ":"))
children = []
temp_dirs = []


def cleanup():
    for p in children:
        if p.poll() is None:
            p.kill()
            p.wait()
    for d in temp_dirs:
        shutil.rmtree(d, ignore_errors=True)


def start(args, pattern):
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    children.append(p)
    deadline = time.time() + 30
    while time.time() < deadline:
        line = p.stdout.readline()
        if not line:
            break
        m = re.search(pattern, line)
        if m:
            return p, int(m.group(1))
    raise SystemExit(f"webhooks bench: {args[0]} did not start")


def receiver(build, *flags):
    return start([f"{build}/examples/webhook_receiver", "--quiet", *flags], r"listening on http://127\.0\.0\.1:(\d+)")


def request(port, method, path, body=None, token=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = "Bearer " + token
    c.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, json.loads(data) if data else None


def count(port):
    return request(port, "GET", "/count")[1]["count"]


def wait_delivering(port, endpoints):
    """Until the node runs a delivery actor for every endpoint (on PostgreSQL
    it first claims their leases, up to a third of a lease later): the
    measurement is of delivering, not of claiming."""
    deadline = time.time() + 30
    while time.time() < deadline:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        c.request("GET", "/metrics")
        body = c.getresponse().read().decode()
        c.close()
        found = re.search(r"^evmesh_webhook_endpoints (\d+)$", body, re.M)
        if found and int(found.group(1)) >= endpoints:
            return
        time.sleep(0.01)  # polling interval
    raise SystemExit("webhooks bench: the node did not start delivering to every endpoint")


STORE = []  # ["--store", URL] with --store


def node(build):
    data = tempfile.mkdtemp(prefix="evmesh-webhook-bench-")
    temp_dirs.append(data)
    p, port = start([f"{build}/cli/evmesh", "node", "--data", data, "--http", "127.0.0.1:0",
                     "--allow-private-targets"] + STORE, r"serving http://[^ ]+:(\d+)")
    token = open(os.path.join(data, "admin.token")).read().strip()
    return p, port, token


def stop(p):
    p.send_signal(signal.SIGTERM)
    p.wait(timeout=30)


def wrk_baseline(build, connections, duration):
    recv, port = receiver(build, "--no-record")
    env = dict(os.environ, WEBHOOK_BODY=BODY)
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "webhook_post.lua")
    out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency", "-s", script,
                          f"http://127.0.0.1:{port}/hook"], env=env, capture_output=True, text=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = re.search(r"50%\s+(\S+)", out).group(1)
    p99 = re.search(r"99%\s+(\S+)", out).group(1)
    stop(recv)
    return rate, p50, p99


def throughput(build, events, endpoints, in_flight, dead):
    recv, rport = receiver(build, "--no-record")
    n, nport, token = node(build)
    for i in range(endpoints):
        status, _ = request(nport, "POST", "/v1/endpoints", {"url": f"http://127.0.0.1:{rport}/ep{i}",
                            "topics": ["bench.w"], "max_in_flight": in_flight}, token)
        assert status == 201
    if dead:
        status, _ = request(nport, "POST", "/v1/endpoints", {"url": "http://127.0.0.1:9/dead",
                            "topics": ["bench.w"], "max_in_flight": in_flight}, token)
        assert status == 201
    wait_delivering(nport, endpoints + (1 if dead else 0))
    want = events * endpoints
    data = json.loads(BODY)["data"]
    conn = http.client.HTTPConnection("127.0.0.1", nport, timeout=60)
    headers = {"Content-Type": "application/json", "Authorization": "Bearer " + token}
    started = time.time()
    for start_i in range(0, events, 500):
        batch = [{"topic": "bench.w", "data": data} for _ in range(min(500, events - start_i))]
        conn.request("POST", "/v1/events", json.dumps(batch), headers)
        r = conn.getresponse()
        r.read()
        assert r.status == 202
    deadline = time.time() + 300
    got = 0
    while time.time() < deadline:
        got = count(rport)
        if got >= want:
            break
        time.sleep(0.01)  # polling interval
    took = time.time() - started
    stop(n)
    stop(recv)
    if got < want:
        raise SystemExit(f"webhooks bench: only {got} of {want} deliveries arrived")
    return want / took, took


def latency(build, samples):
    recv, rport = receiver(build)
    n, nport, token = node(build)
    status, _ = request(nport, "POST", "/v1/endpoints", {"url": f"http://127.0.0.1:{rport}/lat",
                        "topics": ["bench.lat"]}, token)
    assert status == 201
    conn = http.client.HTTPConnection("127.0.0.1", nport, timeout=60)
    headers = {"Content-Type": "application/json", "Authorization": "Bearer " + token}
    for i in range(samples):
        conn.request("POST", "/v1/events", json.dumps({"topic": "bench.lat", "data": {"i": i}}), headers)
        r = conn.getresponse()
        r.read()
        assert r.status == 202
    deadline = time.time() + 120
    while count(rport) < samples and time.time() < deadline:
        time.sleep(0.01)
    got = request(rport, "GET", "/received")[1]["requests"]
    stop(n)
    stop(recv)
    lat = []
    for r in got:
        ts = json.loads(r["body"])["timestamp"]
        published = datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ").timestamp()
        lat.append(r["time_us"] / 1e6 - published)
    lat.sort()
    pick = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000
    return pick(0.5), pick(0.99), len(lat)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--events", type=int, default=20000)
    ap.add_argument("--endpoints", type=int, default=4)
    ap.add_argument("--in-flight", type=int, default=16)
    ap.add_argument("--latency-events", type=int, default=1000)
    ap.add_argument("--duration", type=int, default=5)
    ap.add_argument("--store", help="the node's --store (a postgres:// URL; default its SQLite)")
    ap.add_argument("--only-throughput", action="store_true", help="run steps 1 and 2 only")
    a = ap.parse_args()
    if a.store:
        STORE.extend(["--store", a.store])
    try:
        wrk_rate, wrk_p50, wrk_p99 = wrk_baseline(a.build, a.endpoints * a.in_flight, a.duration)
        print(f"wrk -> receiver:            {wrk_rate:10.0f} req/s   (p50 {wrk_p50}, p99 {wrk_p99}, {a.endpoints * a.in_flight} connections)")
        rate, took = throughput(a.build, a.events, a.endpoints, a.in_flight, False)
        print(f"evmesh -> receiver:         {rate:10.0f} deliveries/s   ({a.events} events x {a.endpoints} endpoints in {took:.2f} s)"
              f"   ratio to wrk {rate / wrk_rate:.3f} (target >= 0.5)")
        if a.only_throughput:
            return
        dead_rate, took = throughput(a.build, a.events, a.endpoints, a.in_flight, True)
        print(f"  with one dead endpoint:   {dead_rate:10.0f} deliveries/s to the healthy ones ({took:.2f} s)"
              f"   ratio to without {dead_rate / rate:.3f} (target >= 0.9)")
        p50, p99, n = latency(a.build, a.latency_events)
        print(f"publish -> receipt latency: p50 {p50:.2f} ms, p99 {p99:.2f} ms ({n} single publishes, one at a time)")
    finally:
        cleanup()


if __name__ == "__main__":
    main()
