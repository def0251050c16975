#!/usr/bin/env bash
# How fast does an upload on one replica serve on the others (DESIGN section 13: within 1 s)?
# Starts the cluster example (examples/cluster/lib.sh: 3 etcd members, redis, the greeter
# backend, replicas A, B, C) on ports shifted by PORT_OFFSET, registers the greeter backend on A,
# then uploads N versions of greeter.proto on A, each with a route of its own (/p<i>/hello/{name}),
# and after each one polls B and C at once until that route answers 200. Prints the distribution
# of the time from A's 200 to the first 200 on B and on C (p50/p90/p99/max), and of the uploads
# themselves on A (compile, etcd transaction, snapshot).
#
#   bench/cluster_propagation.sh            # N=100
#   N=300 bench/cluster_propagation.sh
#
# Env: N (100) PORT_OFFSET (1000, so that it runs beside examples/cluster/run.sh) PORTICO_BIN
#      GREETER_BIN KEEP (1: keep $RUN_DIR with the logs). Stops what it started by PID.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
N="${N:-100}"
export PORT_OFFSET="${PORT_OFFSET:-1000}"
RUN_DIR="$(mktemp -d /tmp/portico-cluster-bench.XXXXXX)"
export RUN_DIR
# shellcheck source=examples/cluster/lib.sh
source "$ROOT/examples/cluster/lib.sh"
command -v python3 >/dev/null || { echo "python3 is missing" >&2; exit 1; }

finish() {
  local rc=$?
  cluster_stop
  if [[ "${KEEP:-0}" == 1 || $rc -ne 0 ]]; then echo "logs kept in $RUN_DIR" >&2; else rm -rf "$RUN_DIR"; fi
  exit $rc
}
trap finish EXIT
trap 'exit 130' INT TERM

cluster_up

curl -sf -X PUT "http://127.0.0.1:${ADMIN_PORT[a]}/admin/backends/greeter" \
  -d "{\"endpoints\":[\"127.0.0.1:$GREETER_PORT\"],\"services\":[\"greeter.v1.Greeter\"]}" >/dev/null

say "$N uploads on replica A, each polled on B and C until it serves"
python3 - "$N" "${ADMIN_PORT[a]}" "${DATA_PORT[b]}" "${DATA_PORT[c]}" \
  "$ROOT/examples/greeter/greeter.proto" <<'PY'
import http.client, sys, threading, time

n, admin_a, port_b, port_c, proto_path = int(sys.argv[1]), *map(int, sys.argv[2:5]), sys.argv[5]
proto = open(proto_path).read()
assert '"/v1/hello/{name}"' in proto

def quantiles(ms):
    s = sorted(ms)
    pick = lambda p: s[min(len(s), max(1, int(p * len(s) + 0.999999))) - 1]
    return "p50 %7.1f  p90 %7.1f  p99 %7.1f  max %7.1f ms  (n=%d)" % (
        pick(0.5), pick(0.9), pick(0.99), s[-1], len(s))

class Poller:
    """One keep-alive connection to a replica's data plane."""
    def __init__(self, port):
        self.port, self.conn = port, None
    def status(self, path):
        for _ in range(2):
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                self.conn.request("GET", path)
                r = self.conn.getresponse()
                r.read()
                return r.status
            except (OSError, http.client.HTTPException):
                self.conn = None
        return 0

admin = http.client.HTTPConnection("127.0.0.1", admin_a, timeout=30)
pollers = {"B": Poller(port_b), "C": Poller(port_c)}
took = {"B": [], "C": []}
uploads = []
for i in range(1, n + 1):
    body = proto.replace('"/v1/hello/{name}"', '"/p%d/hello/{name}"' % i)
    sent = time.monotonic()
    admin.request("POST", "/admin/descriptors?name=greeter.proto", body,
                  {"Content-Type": "text/plain"})
    r = admin.getresponse()
    reply = r.read()
    if r.status != 200:
        sys.exit("upload %d failed: %d %s" % (i, r.status, reply[:300]))
    done = time.monotonic()
    uploads.append((done - sent) * 1000)
    path = "/p%d/hello/bench" % i

    def poll(name):
        deadline = done + 10
        while time.monotonic() < deadline:
            if pollers[name].status(path) == 200:
                took[name].append((time.monotonic() - done) * 1000)
                return
            time.sleep(0.001)
        took[name].append(float("inf"))

    threads = [threading.Thread(target=poll, args=(name,)) for name in pollers]
    for t in threads: t.start()
    for t in threads: t.join()

print()
print("upload on A (POST /admin/descriptors)   " + quantiles(uploads))
for name in ("B", "C"):
    print("A -> %s (A's 200 to the first 200 on %s) " % (name, name) + quantiles(took[name]))
print("A -> B and C                            " + quantiles(took["B"] + took["C"]))
missed = sum(1 for v in took["B"] + took["C"] if v == float("inf"))
if missed:
    print("%d propagations did not arrive within 10 s" % missed)
    sys.exit(1)
PY
