#!/usr/bin/env bash
# A backend of several endpoints under wrk (DESIGN section 9, issue 9 "Measure"):
#
#   (a) RPS through Portico with 4 endpoints vs 1, same total backend capacity: all backend
#       processes (portico_test_backend) pinned together to CPU $BACKEND_CPU, Portico to
#       $PORTICO_CPU; ROUNDS interleaved rounds of wrk POST /portico.test.v1.TestService/Echo
#       with body {}; medians and the ratio.
#   (b) Under wrk with 4 endpoints, SIGKILL one backend process: the failed requests (wrk's
#       non-2xx responses plus socket errors), the time from the kill until GET /admin/backends
#       shows the endpoint's ejected_until (polled every 20 ms), then restart it on the same port
#       and the time until it is routable again (ejected_until null and state READY). Once with
#       outlier {"consecutive_failures": 5, "base_ejection": "2s"}, once with the defaults (30s),
#       which shows that the ejection time bounds the return.
#
#   bench/upstream_failover.sh                  # about 2.5 minutes
#   ROUNDS=1 DURATION=5 bench/upstream_failover.sh
#
# Uses build/portico and build/tests/portico_test_backend (the default build; built with
# `cmake --build --preset default -j2 --target portico portico_test_backend` when missing).
# wrk runs unpinned. Stops everything it started by PID, also on error or Ctrl-C.
#
# Env: ROUNDS (3) DURATION (10 s per wrk run in (a)) CONNS (16) PORTICO_THREADS (1)
#      PORTICO_CPU (1) BACKEND_CPU (0) BUILD_DIR (build) KEEP=1 (keep the work dir)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$ROOT/build}"
ROUNDS="${ROUNDS:-3}"
DURATION="${DURATION:-10}"
CONNS="${CONNS:-16}"
PORTICO_THREADS="${PORTICO_THREADS:-1}"
PORTICO_CPU="${PORTICO_CPU:-1}"
BACKEND_CPU="${BACKEND_CPU:-0}"
PORTICO_BIN="$BUILD_DIR/portico"
BACKEND_BIN="$BUILD_DIR/tests/portico_test_backend"
PROTO="$ROOT/tests/protos/portico/test/v1/test.proto"
METHOD="/portico.test.v1.TestService/Echo"

for tool in wrk curl taskset python3; do
  command -v "$tool" >/dev/null || { echo "$tool is missing" >&2; exit 1; }
done
if [[ ! -x "$PORTICO_BIN" || ! -x "$BACKEND_BIN" ]]; then
  echo ">> building portico and portico_test_backend (preset default)"
  (cd "$ROOT" && cmake --preset default >/dev/null &&
     cmake --build --preset default -j2 --target portico portico_test_backend) >/dev/null
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/portico-failover.XXXXXX")"
die() { echo "FATAL: $*" >&2; exit 1; }
# shellcheck source=bench/lib.sh
source "$HERE/lib.sh"


# start_backend <index> [port]: a test backend pinned to BACKEND_CPU; sets BPID[i], BPORT[i].
declare -a BPID BPORT
start_backend() {
  local i=$1 out="$WORK/backend$1.out"
  : >"$out"
  if [[ $# -gt 1 ]]; then
    taskset -c "$BACKEND_CPU" "$BACKEND_BIN" --port "$2" >"$out" 2>"$WORK/backend$1.err" &
  else
    taskset -c "$BACKEND_CPU" "$BACKEND_BIN" >"$out" 2>"$WORK/backend$1.err" &
  fi
  BPID[$i]=$!; PIDS+=("${BPID[$i]}")
  disown "${BPID[$i]}"  # killed on purpose in (b): no "Killed" notice from bash
  for _ in $(seq 1 100); do
    grep -q '^port ' "$out" && break
    kill -0 "${BPID[$i]}" 2>/dev/null || die "backend $i exited: $(cat "$WORK/backend$1.err")"
    sleep 0.05
  done
  BPORT[$i]="$(awk '/^port / {print $2}' "$out")"
  [[ -n "${BPORT[$i]}" ]] || die "backend $i printed no port"
}

# ---------------------------------------------------------------- start ----
PORT="$(free_port 18480)"
ADMIN_PORT="$(free_port 19941)"
mkdir -p "$WORK/data"
cat >"$WORK/config.yaml" <<EOF
listen: 127.0.0.1:$PORT
admin: { listen: 127.0.0.1:$ADMIN_PORT }
store: { type: file, dir: $WORK/data }
threads: $PORTICO_THREADS
EOF
taskset -c "$PORTICO_CPU" "$PORTICO_BIN" --config "$WORK/config.yaml" >"$WORK/portico.log" 2>&1 &
PORTICO_PID=$!; PIDS+=("$PORTICO_PID")
A="http://127.0.0.1:$ADMIN_PORT"
P="http://127.0.0.1:$PORT"
for _ in $(seq 100); do curl -fs "$A/admin/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fs "$A/admin/healthz" >/dev/null || die "Portico did not start: $(tail -5 "$WORK/portico.log")"

for i in 0 1 2 3; do start_backend "$i"; done

status="$(curl -s -o "$WORK/upload.json" -w '%{http_code}' -H 'Content-Type: text/plain' \
  --data-binary "@$PROTO" "$A/admin/descriptors?name=portico/test/v1/test.proto")"
[[ "$status" == 200 ]] || die "descriptor upload: $status $(cat "$WORK/upload.json")"

# put_backend <endpoint count> [outlier JSON]: (re)configures backend "test".
put_backend() {
  local n=$1 outlier=${2:-} eps="" i
  for ((i = 0; i < n; i++)); do eps+="${eps:+,}\"127.0.0.1:${BPORT[$i]}\""; done
  local body="{\"endpoints\":[$eps],\"services\":[\"portico.test.v1.TestService\"],\"timeout\":\"10s\"${outlier:+,\"outlier\":$outlier}}"
  status="$(curl -s -o "$WORK/put.json" -w '%{http_code}' -X PUT -H 'Content-Type: application/json' \
    --data "$body" "$A/admin/backends/test")"
  [[ "$status" == 200 || "$status" == 201 ]] || die "PUT backend: $status $(cat "$WORK/put.json")"
}

call_ok() { curl -fs -X POST -H 'Content-Type: application/json' -d '{}' "$P$METHOD" >/dev/null; }

put_backend 1
for _ in $(seq 50); do call_ok && break; sleep 0.1; done
call_ok || die "POST $METHOD fails: $(curl -s -X POST -d '{}' "$P$METHOD")"

cat >"$WORK/post.lua" <<'EOF'
wrk.method = "POST"
wrk.body = "{}"
wrk.headers["Content-Type"] = "application/json"
EOF

# wrk_run <seconds> <output file>
wrk_run() {
  wrk -t1 -c"$CONNS" -d"$1s" -s "$WORK/post.lua" "$P$METHOD" >"$2" 2>&1
}
rps_of() { awk '/^Requests\/sec/ {print $2}' "$1"; }
# Failed requests of a wrk run: non-2xx responses plus socket errors.
failed_of() {
  awk '/Non-2xx or 3xx responses:/ {n += $NF}
       /Socket errors:/ {gsub(",", ""); n += $4 + $6 + $8 + $10}
       END {print n + 0}' "$1"
}
total_of() { awk '/requests in/ {print $1}' "$1"; }
# CPU time (clock ticks, user + system) of the given processes.
ticks() { local t=0 p; for p in "$@"; do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done; echo "$t"; }
us_per() { awk -v t="$1" -v n="$2" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.1f", (n > 0 ? t / hz * 1e6 / n : 0) }'; }

echo "# $(date -u +%FT%TZ) upstream failover bench: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) (shared machine)"
echo "# portico $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?') threads=$PORTICO_THREADS on CPU $PORTICO_CPU; 4 test backends on CPU $BACKEND_CPU; wrk -t1 -c$CONNS unpinned"

# ------------------------------------------------------------- (a) RPS ----
echo
echo "## (a) RPS, 1 endpoint vs 4 endpoints (all backend processes on one CPU), ${DURATION}s runs"
: >"$WORK/rps1"; : >"$WORK/rps4"
for r in $(seq 1 "$ROUNDS"); do
  for n in 1 4; do
    put_backend "$n"
    wrk_run 1 "$WORK/warm.txt"  # connections to the new endpoints
    b0="$(ticks "${BPID[@]}")"; p0="$(ticks "$PORTICO_PID")"
    wrk_run "$DURATION" "$WORK/a-$r-$n.txt"
    b1="$(ticks "${BPID[@]}")"; p1="$(ticks "$PORTICO_PID")"
    rps="$(rps_of "$WORK/a-$r-$n.txt")"; total="$(total_of "$WORK/a-$r-$n.txt")"
    echo "$rps" >>"$WORK/rps$n"
    printf "round %d  %d endpoint(s): %10s req/s  (%s failed)  CPU per request: backends %s us, Portico %s us\n" \
      "$r" "$n" "$rps" "$(failed_of "$WORK/a-$r-$n.txt")" "$(us_per $((b1 - b0)) "$total")" "$(us_per $((p1 - p0)) "$total")"
  done
done
m1="$(median <"$WORK/rps1")"; m4="$(median <"$WORK/rps4")"
awk -v a="$m1" -v b="$m4" 'BEGIN { printf "median: 1 endpoint %.0f req/s, 4 endpoints %.0f req/s, ratio 4/1 = %.2f\n", a, b, b / a }'
# The rounds are back to back, so each round's own ratio is less exposed to the other load on
# a shared machine than the ratio of medians.
mr="$(paste "$WORK/rps1" "$WORK/rps4" | awk '{print $2 / $1}' | median)"
echo "per-round ratios 4/1: $(paste "$WORK/rps1" "$WORK/rps4" | awk '{printf "%.2f ", $2 / $1}')(median $(printf '%.2f' "$mr"))"

# ------------------------------------------------------- (b) failover ----
# Kills backend <victim>, times its ejection, restarts it on its port and times its return.
# Prints "eject_ms back_ms listen_ms" and writes the new pid to $WORK/newpid.
failover_probe() {
  python3 - "$A" "127.0.0.1:${BPORT[$1]}" "${BPID[$1]}" "${BPORT[$1]}" "$BACKEND_CPU" "$BACKEND_BIN" "$WORK" <<'EOF'
import json, os, signal, subprocess, sys, time, urllib.request
admin, address, pid, port, cpu, binary, work = sys.argv[1:]

def endpoint():
    with urllib.request.urlopen(admin + "/admin/backends", timeout=2) as r:
        doc = json.load(r)
    backends = doc["backends"] if isinstance(doc, dict) and "backends" in doc else doc
    for b in backends:
        if b.get("name") == "test":
            for e in b.get("endpoint_health", []):
                if e["address"] == address:
                    return e
    raise SystemExit("endpoint %s not in GET /admin/backends" % address)

def wait(pred, start, limit):
    while time.monotonic() - start < limit:
        if pred(endpoint()):
            return (time.monotonic() - start) * 1000
        time.sleep(0.02)
    return float("nan")

os.kill(int(pid), signal.SIGKILL)
t0 = time.monotonic()
eject_ms = wait(lambda e: e["ejected_until"] is not None, t0, 20)
ejected = endpoint()
t1 = time.monotonic()
out = open(os.path.join(work, "restart.out"), "w")
child = subprocess.Popen(["taskset", "-c", cpu, binary, "--port", port], stdout=out,
                         stderr=subprocess.DEVNULL, start_new_session=True)
open(os.path.join(work, "newpid"), "w").write(str(child.pid))
listen_ms = wait(lambda e: open(os.path.join(work, "restart.out")).read().startswith("port"), t1, 20)
back_ms = wait(lambda e: e["ejected_until"] is None and e["state"] == "READY", t1, 120)
print("%.0f %.0f %.0f %s" % (eject_ms, back_ms, listen_ms, ejected.get("ejected_until")))
EOF
}

echo
echo "## (b) SIGKILL one of 4 endpoints under wrk -c$CONNS, then restart it on the same port"
printf "%-34s %8s %10s %12s %14s %12s\n" "outlier" "failed" "of total" "kill->eject" "restart->READY" "listening"
# The victim differs per case: an endpoint's ejections so far multiply its next ejection time.
victim=1
for outlier in '{"consecutive_failures":5,"base_ejection":"2s"}' ''; do
  put_backend 4 "$outlier"
  wrk_run 1 "$WORK/warm.txt"
  base=2; [[ -z "$outlier" ]] && base=30
  run_secs=$((base + 12))
  wrk_run "$run_secs" "$WORK/b-$victim.txt" &
  WRK_PID=$!; PIDS+=("$WRK_PID")
  sleep 2
  read -r eject_ms back_ms listen_ms ejected_until < <(failover_probe "$victim")
  newpid="$(cat "$WORK/newpid")"; PIDS+=("$newpid"); BPID[$victim]=$newpid
  wait "$WRK_PID" || true
  printf "%-34s %8s %10s %10s ms %12s ms %9s ms\n" "${outlier:-defaults (5, 30s)}" \
    "$(failed_of "$WORK/b-$victim.txt")" "$(total_of "$WORK/b-$victim.txt")" "$eject_ms" "$back_ms" "$listen_ms"
  victim=$((victim + 1))
done
echo "(failed: wrk's non-2xx responses + socket errors over its whole run, base_ejection + 12 s,"
echo " the kill 2 s in; kill->eject polled every 20 ms; restart->READY: from the restart, right after"
echo " the ejection showed, until ejected_until is null and state READY; listening: until it printed its port)"
