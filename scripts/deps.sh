#!/usr/bin/env bash
# Installs Portico's build and test dependencies from Debian 12 packages (idempotent: apt runs
# only when something is missing). Usage: scripts/deps.sh [extra packages...]
set -euo pipefail
PKGS=(
  g++ cmake ninja-build ccache pkg-config git curl
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev libprotoc-dev protobuf-compiler
  libboost-dev nlohmann-json3-dev libwebsocketpp-dev libssl-dev libyaml-cpp-dev libnghttp2-dev zlib1g-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  dnsmasq-base   # DNS/SRV discovery tests: a local name server (tests/support/dns_server.h)
  chromium   # the browser end-to-end test (driven by playwright-core from npm)
  etcd-server   # a real etcd for the etcd discovery and store tests (tests/support/etcd_server.h)
  libhiredis-dev redis-server   # shared rate limits (upstream/redis_buckets.h) and their tests
  python3-prometheus-client   # /metrics parsed by the reference Prometheus text parser (tests/tools/check_metrics.py)
  "$@"
)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO=sudo
  echo ">> installing: ${missing[*]}"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
