#!/usr/bin/env bash
# curl against Portico's REST front door: over HTTPS with h2 (ALPN) and http/1.1, and over h2c
# (--http2-prior-knowledge). Run by run.sh (environment: PLAIN, TLS, CA_FILE). Each case checks
# the HTTP version curl negotiated, the status and the body.
set -uo pipefail

passed=0
failed=0
out=$(mktemp)
trap 'rm -f "$out"' EXIT

# $1 case name, $2 wanted "<http_version> <status>", $3 a string the body must hold, rest: curl args.
check() {
  local name=$1 want=$2 body=$3
  shift 3
  local got
  got=$(curl -sS --max-time 10 -o "$out" -w '%{http_version} %{http_code}' "$@" 2>&1)
  if [[ $got != "$want" ]]; then
    echo "FAIL curl: $name: got '$got', want '$want'; body: $(head -c 300 "$out")"
    failed=$((failed + 1))
  elif ! grep -qF -- "$body" "$out"; then
    echo "FAIL curl: $name: body lacks '$body': $(head -c 300 "$out")"
    failed=$((failed + 1))
  else
    echo "ok   curl: $name"
    passed=$((passed + 1))
  fi
}

json=(-H 'content-type: application/json')
for mode in h2c https-h2 https-http1.1; do
  case $mode in
    h2c) base="http://$PLAIN" v=2 args=(--http2-prior-knowledge) ;;
    https-h2) base="https://$TLS" v=2 args=(--http2 --cacert "$CA_FILE") ;;
    https-http1.1) base="https://$TLS" v=1.1 args=(--http1.1 --cacert "$CA_FILE") ;;
  esac
  if [[ $mode == https* && -z $TLS ]]; then
    echo "FAIL curl: $mode: not run: Portico with tls did not start (see portico_tls.log)"
    failed=$((failed + 1))
    continue
  fi
  check "$mode: GET with a path variable" "$v 200" '"fString":"hi there"' "${args[@]}" \
    "$base/v1/echo/hi%20there?fInt32=7"
  check "$mode: POST JSON" "$v 200" '"fInt64":"42"' "${args[@]}" "${json[@]}" \
    -d '{"fInt64":"42","inner":{"s":"x"}}' "$base/v1/echo"
  check "$mode: default route POST /pkg.Svc/Method" "$v 200" '"fString":"p"' "${args[@]}" "${json[@]}" \
    -d '{"fString":"p"}' "$base/portico.test.v1.TestService/Plain"
  check "$mode: error mapped to HTTP (NOT_FOUND 404) with details" "$v 404" 'TEST_REASON' "${args[@]}" \
    "${json[@]}" -d '{"code":5,"message":"gone","withDetails":true}' "$base/v1/fail"
  check "$mode: NDJSON server stream" "$v 200" '{"result":{"message":"s","index":2}}' "${args[@]}" \
    "${json[@]}" -d '{"message":"s","repeat":3}' "$base/v1/stream"
  check "$mode: SSE server stream" "$v 200" 'event: end' "${args[@]}" -H 'accept: text/event-stream' \
    "${json[@]}" -d '{"message":"s","repeat":2}' "$base/v1/stream"
  check "$mode: client stream (NDJSON body)" "$v 200" '"message":"a,b"' "${args[@]}" \
    -H 'content-type: application/x-ndjson' --data-binary $'{"message":"a"}\n{"message":"b"}\n' \
    "$base/v1/collect"
  check "$mode: unspoken content type is 415" "$v 415" '' "${args[@]}" -H 'content-type: application/xml' \
    -d '<x/>' "$base/v1/echo"
  check "$mode: unknown route is 404" "$v 404" '' "${args[@]}" "$base/v1/nothing/here"
done

echo "curl: $passed passed, $failed failed"
((failed == 0 && passed > 0))
