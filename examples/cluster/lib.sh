# shellcheck shell=bash
# The cluster example's pieces, sourced by examples/cluster/run.sh and bench/cluster_propagation.sh
# (bash; needs ROOT = the repository root). Every process started here gets a pid file in
# $RUN_DIR, and cluster_stop stops exactly those (by PID, after checking that the PID is still
# that program).
#
# Ports (PORT_OFFSET, default 0, is added to each; keep it under 15000):
#   etcd members 1..3   clients 2379 22379 32379, peers 2380 22380 32380
#   redis-server        6380
#   greeter backend     50051 (build/examples/greeter_server)
#   replicas A, B, C    data plane 8081 8082 8083, admin 9911 9912 9913 (replica-{a,b,c}.yaml)

PORT_OFFSET="${PORT_OFFSET:-0}"
RUN_DIR="${RUN_DIR:-/tmp/portico-cluster}"
PORTICO_BIN="${PORTICO_BIN:-$ROOT/build/portico}"
GREETER_BIN="${GREETER_BIN:-$ROOT/build/examples/greeter_server}"
ETCD_BIN="${ETCD_BIN:-etcd}"
CLUSTER_DIR="$ROOT/examples/cluster"

port() { echo $(($1 + PORT_OFFSET)); }
ETCD_CLIENT_PORTS=("$(port 2379)" "$(port 22379)" "$(port 32379)")
ETCD_PEER_PORTS=("$(port 2380)" "$(port 22380)" "$(port 32380)")
REDIS_PORT="$(port 6380)"
GREETER_PORT="$(port 50051)"
declare -A DATA_PORT=([a]="$(port 8081)" [b]="$(port 8082)" [c]="$(port 8083)")
declare -A ADMIN_PORT=([a]="$(port 9911)" [b]="$(port 9912)" [c]="$(port 9913)")

etcd_endpoints() {
  local IFS=,
  local eps=()
  for p in "${ETCD_CLIENT_PORTS[@]}"; do eps+=("127.0.0.1:$p"); done
  echo "${eps[*]}"
}
etcdctl_cluster() { etcdctl --endpoints="$(etcd_endpoints)" "$@"; }

say() { echo ">> $*" >&2; }
fail() { echo "cluster: $*" >&2; return 1; }

cluster_check_tools() {
  local missing=()
  command -v "$ETCD_BIN" >/dev/null || missing+=("etcd (apt-get install etcd-server)")
  command -v etcdctl >/dev/null || missing+=("etcdctl (apt-get install etcd-server)")
  command -v redis-server >/dev/null || missing+=("redis-server (apt-get install redis-server)")
  command -v curl >/dev/null || missing+=("curl")
  [[ -x "$PORTICO_BIN" ]] || missing+=("$PORTICO_BIN (cmake --preset default && cmake --build --preset default)")
  [[ -x "$GREETER_BIN" ]] || missing+=("$GREETER_BIN (cmake --build --preset default --target greeter_server)")
  ((${#missing[@]} == 0)) || { fail "missing: ${missing[*]}"; return 1; }
  local busy=()
  for p in "${ETCD_CLIENT_PORTS[@]}" "${ETCD_PEER_PORTS[@]}" "$REDIS_PORT" "$GREETER_PORT" \
           "${DATA_PORT[@]}" "${ADMIN_PORT[@]}"; do
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && busy+=("$p")
  done
  ((${#busy[@]} == 0)) || fail "ports in use: ${busy[*]} (another cluster running? try PORT_OFFSET=1000)"
}

# Starts `name` (the pid file's name) in the background: program args..., output to a log. The
# pid file holds the PID and the program's path, so that a PID the system has reused since is
# never signalled.
start_bg() {
  local name=$1; shift
  local exe
  exe=$(readlink -f "$(command -v "$1")")
  mkdir -p "$RUN_DIR/logs"
  "$@" >>"$RUN_DIR/logs/$name.log" 2>&1 &
  echo "$! $exe" >"$RUN_DIR/$name.pid"
}

# The PID in $RUN_DIR/<name>.pid while it still runs the program started under that name.
live_pid() {
  local file="$RUN_DIR/$1.pid" pid exe
  [[ -f "$file" ]] || return 0
  read -r pid exe <"$file"
  [[ "$(readlink -f "/proc/$pid/exe" 2>/dev/null)" == "$exe" ]] && echo "$pid"
  return 0
}

cluster_start_etcd() {  # member 1..3; reuses its data dir when there is one
  local n=$1 i=$(($1 - 1)) cluster="" k
  for k in 0 1 2; do cluster+="${cluster:+,}m$((k + 1))=http://127.0.0.1:${ETCD_PEER_PORTS[$k]}"; done
  local client="http://127.0.0.1:${ETCD_CLIENT_PORTS[$i]}" peer="http://127.0.0.1:${ETCD_PEER_PORTS[$i]}"
  start_bg "etcd-$n" "$ETCD_BIN" --name "m$n" --data-dir "$RUN_DIR/etcd-$n" \
    --listen-client-urls "$client" --advertise-client-urls "$client" \
    --listen-peer-urls "$peer" --initial-advertise-peer-urls "$peer" \
    --initial-cluster "$cluster" --initial-cluster-token portico-example \
    --initial-cluster-state new --logger zap --log-level warn
}

cluster_kill_etcd() {  # SIGKILL member 1..3, like a crash
  local pid
  pid=$(live_pid "etcd-$1")
  [[ -n "$pid" ]] || { fail "etcd member $1 is not running"; return 1; }
  kill -KILL "$pid" && say "etcd member $1 (pid $pid) killed"
}

# Waits until every member answers a linearizable read through itself.
cluster_wait_etcd() {
  local p
  for p in "${ETCD_CLIENT_PORTS[@]}"; do
    for _ in $(seq 1 150); do
      etcdctl --endpoints="127.0.0.1:$p" --dial-timeout=1s --command-timeout=1s \
        get portico-example-probe >/dev/null 2>&1 && continue 2
      sleep 0.2
    done
    fail "etcd on port $p did not become ready (logs: $RUN_DIR/logs/etcd-*.log)"
    return 1
  done
}

cluster_start_redis() {
  start_bg redis redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no \
    --dir "$RUN_DIR"
}

cluster_start_greeter() {
  start_bg greeter "$GREETER_BIN" --port="$GREETER_PORT"
}

# The replica's config: examples/cluster/replica-<x>.yaml, or with PORT_OFFSET a copy of it
# under $RUN_DIR with every 127.0.0.1 port shifted.
replica_config() {
  local src="$CLUSTER_DIR/replica-$1.yaml"
  if ((PORT_OFFSET == 0)); then
    echo "$src"
    return
  fi
  perl -pe 's/127\.0\.0\.1:(\d+)/"127.0.0.1:" . ($1 + '"$PORT_OFFSET"')/ge' "$src" \
    >"$RUN_DIR/replica-$1.yaml"
  echo "$RUN_DIR/replica-$1.yaml"
}

cluster_start_replica() {  # a, b or c
  local config
  config=$(replica_config "$1")
  start_bg "replica-$1" "$PORTICO_BIN" --config "$config"
}

cluster_wait_replicas() {
  local x
  for x in "$@"; do
    for _ in $(seq 1 200); do
      curl -sf "http://127.0.0.1:${ADMIN_PORT[$x]}/admin/healthz" >/dev/null && continue 2
      [[ -n "$(live_pid "replica-$x")" ]] || break
      sleep 0.2
    done
    fail "replica $x did not start; its log ($RUN_DIR/logs/replica-$x.log):"
    tail -20 "$RUN_DIR/logs/replica-$x.log" >&2
    return 1
  done
}

# Everything, in order: etcd, redis, the greeter backend, then the replicas (which wait for etcd
# themselves, but starting them on a ready cluster keeps the logs quiet).
cluster_up() {
  mkdir -p "$RUN_DIR"
  cluster_check_tools || return 1
  say "etcd: 3 members on $(etcd_endpoints) (data in $RUN_DIR/etcd-*)"
  cluster_start_etcd 1 && cluster_start_etcd 2 && cluster_start_etcd 3
  cluster_wait_etcd || return 1
  say "redis-server on 127.0.0.1:$REDIS_PORT, greeter backend on 127.0.0.1:$GREETER_PORT"
  cluster_start_redis
  cluster_start_greeter
  local x
  for x in a b c; do cluster_start_replica "$x"; done
  cluster_wait_replicas a b c || return 1
  say "replicas A, B, C: data plane ${DATA_PORT[a]} ${DATA_PORT[b]} ${DATA_PORT[c]}, admin ${ADMIN_PORT[a]} ${ADMIN_PORT[b]} ${ADMIN_PORT[c]}"
}

# Stops what this run started, replicas first (TERM: they drain), then the backend, redis and
# etcd; whatever is still running 10 s after its TERM is killed.
cluster_stop() {
  local group name pid
  for group in "replica-a replica-b replica-c" "greeter redis etcd-1 etcd-2 etcd-3"; do
    local names=() pids=()
    for name in $group; do
      pid=$(live_pid "$name")
      [[ -n "$pid" ]] && kill -TERM "$pid" 2>/dev/null && { names+=("$name"); pids+=("$pid"); }
      rm -f "$RUN_DIR/$name.pid"
    done
    local i
    for i in "${!pids[@]}"; do
      for _ in $(seq 1 100); do kill -0 "${pids[$i]}" 2>/dev/null || continue 2; sleep 0.1; done
      say "${names[$i]} did not stop within 10 s of SIGTERM: SIGKILL"
      kill -KILL "${pids[$i]}" 2>/dev/null || true
    done
  done
  wait 2>/dev/null || true
}
