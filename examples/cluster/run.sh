#!/usr/bin/env bash
# The cluster example (examples/cluster/README.md): a 3-member etcd cluster, redis-server, the
# greeter backend and three Portico replicas sharing one etcd store, all on loopback.
#
#   examples/cluster/run.sh [up] [--fresh]   start everything, print what to try, Ctrl-C stops it
#                                            all (--fresh: empty etcd data first)
#   examples/cluster/run.sh status           etcd members and each replica's /admin/healthz
#   examples/cluster/run.sh etcd-kill N      SIGKILL etcd member N (1..3), like a crash
#   examples/cluster/run.sh etcd-start N     start member N again (same ports, same data)
#   examples/cluster/run.sh replica-kill X   SIGKILL replica X (a, b or c)
#   examples/cluster/run.sh replica-start X  start replica X again
#   examples/cluster/run.sh down             stop what `up` started (when it runs elsewhere)
#
# Needs build/portico and build/examples/greeter_server (cmake --preset default && cmake --build
# --preset default), etcd, etcdctl and redis-server (scripts/deps.sh installs them).
# Env: RUN_DIR (/tmp/portico-cluster: etcd data, logs, pid files), PORT_OFFSET (0; added to
# every port, the configs included), PORTICO_BIN, GREETER_BIN.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
# shellcheck source=examples/cluster/lib.sh
source "$ROOT/examples/cluster/lib.sh"

print_try() {
  local a=${DATA_PORT[a]} b=${DATA_PORT[b]} c=${DATA_PORT[c]}
  local aa=${ADMIN_PORT[a]} ab=${ADMIN_PORT[b]} ac=${ADMIN_PORT[c]}
  cat <<TXT

The cluster is up: replicas A, B, C on data ports $a $b $c, admin ports $aa $ab $ac;
etcd members 1..3 on $(etcd_endpoints); redis on $REDIS_PORT; greeter backend on $GREETER_PORT.
Logs and etcd data: $RUN_DIR. Try (examples/cluster/README.md walks through it):

  # upload on replica A ...
  curl -X POST 'localhost:$aa/admin/descriptors?name=greeter.proto' \\
       -H 'Content-Type: text/plain' --data-binary @examples/greeter/greeter.proto
  curl -X PUT localhost:$aa/admin/backends/greeter \\
       -d '{"endpoints":["127.0.0.1:$GREETER_PORT"],"services":["greeter.v1.Greeter"]}'
  # ... and call it on B and C
  curl localhost:$b/v1/hello/cluster
  curl localhost:$c/v1/hello/cluster
  # what the store holds, and each replica's view of it
  etcdctl --endpoints=$(etcd_endpoints) get /portico/ --prefix --keys-only
  examples/cluster/run.sh status
  # faults
  examples/cluster/run.sh etcd-kill 1        # one of three: nothing changes
  examples/cluster/run.sh etcd-kill 2        # quorum lost: replicas serve, writes get 503
  examples/cluster/run.sh etcd-start 1; examples/cluster/run.sh etcd-start 2

Ctrl-C stops everything.
TXT
}

cmd_status() {
  # (etcdctl's own retry warnings left out: a member that is down shows as "Failed to get".)
  etcdctl_cluster --dial-timeout=1s --command-timeout=2s endpoint status -w table 2>&1 |
    grep -v '"level":"warn"' || true
  local x
  for x in a b c; do
    printf 'replica %s: ' "${x^^}"
    curl -s -m 3 "http://127.0.0.1:${ADMIN_PORT[$x]}/admin/healthz" || printf 'not answering'
    echo
  done
}

member() {
  [[ "${1:-}" =~ ^[123]$ ]] || { echo "usage: $0 $2 N (N = 1, 2 or 3)" >&2; exit 2; }
}
replica() {
  [[ "${1:-}" =~ ^[abc]$ ]] || { echo "usage: $0 $2 X (X = a, b or c)" >&2; exit 2; }
}

case "${1:-up}" in
  up | --fresh)
    for name in etcd-1 etcd-2 etcd-3 redis greeter replica-a replica-b replica-c; do
      [[ -z "$(live_pid "$name")" ]] ||
        { echo "$name of an earlier run still runs: examples/cluster/run.sh down" >&2; exit 1; }
    done
    cluster_check_tools  # before the trap below: a failed start must not stop anything else
    [[ "${1:-}" == --fresh || "${2:-}" == --fresh ]] && rm -rf "$RUN_DIR"/etcd-[123]
    trap 'echo; say "stopping"; cluster_stop' EXIT
    trap 'exit 130' INT TERM
    cluster_up
    print_try
    # Until Ctrl-C, or `run.sh down` from another shell (members and replicas restarted from
    # another shell are stopped too: they have pid files).
    while compgen -G "$RUN_DIR/*.pid" >/dev/null; do sleep 1; done
    ;;
  status) cmd_status ;;
  etcd-kill) member "${2:-}" etcd-kill; cluster_kill_etcd "$2" ;;
  etcd-start)
    member "${2:-}" etcd-start
    [[ -z "$(live_pid "etcd-$2")" ]] || { echo "etcd member $2 is running" >&2; exit 1; }
    cluster_start_etcd "$2"
    say "etcd member $2 started (log: $RUN_DIR/logs/etcd-$2.log)"
    ;;
  replica-kill)
    replica "${2:-}" replica-kill
    pid=$(live_pid "replica-$2")
    [[ -n "$pid" ]] || { echo "replica $2 is not running" >&2; exit 1; }
    kill -KILL "$pid" && say "replica ${2^^} (pid $pid) killed"
    ;;
  replica-start)
    replica "${2:-}" replica-start
    [[ -z "$(live_pid "replica-$2")" ]] || { echo "replica $2 is running" >&2; exit 1; }
    cluster_start_replica "$2"
    cluster_wait_replicas "$2"
    say "replica ${2^^} started"
    ;;
  down) cluster_stop ;;
  *) sed -n '2,17p' "$0" >&2; exit 2 ;;
esac
