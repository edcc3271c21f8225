#!/usr/bin/env bash
# Measures the redirector's net/http front against nginx answering `return 301` from
# a 10,000-host map: both pinned to core 0 with one worker, wrk pinned to core 1,
# the Host header rotating over all 10,000 hosts. Before timing, the redirector's
# cache is warmed deterministically: every host answered once (from DynamoDB),
# then once more with the count of DynamoDB lookups checked unchanged (all from
# the cache). Runs alternate so that noise from the shared machine falls on both.
# Prints req/s of each and their steady-state ratio.
set -euo pipefail
cd "$(dirname "$0")/.."

HOSTS=${BENCH_HOSTS:-10000}
DURATION=${BENCH_DURATION:-8s}
ROUNDS=${BENCH_ROUNDS:-3}
CONNS=${BENCH_CONNECTIONS:-64}
OUT=.bench
GO_PORT=18081
NGINX_PORT=18082
STATS_PORT=18083

if ! command -v nginx >/dev/null || ! command -v wrk >/dev/null; then
  echo "installing nginx and wrk (Debian packages)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light wrk >/dev/null
fi

if [ "${1:-}" != "--inner" ]; then
  mkdir -p "$OUT"
  go build -o "$OUT/dnsreroute" ./cmd/dnsreroute
  go build -o "$OUT/testenv" ./cmd/testenv
  # DynamoDB Local (Java) shares core 1 with wrk: core 0 is the servers' alone.
  exec taskset -c 1 "$OUT/testenv" -- "$0" --inner
fi

# --- inside testenv: DYNAMODB_ENDPOINT points at a fresh DynamoDB Local ---
rm -rf "$OUT/nginx" && mkdir -p "$OUT/nginx/logs" "$OUT/nginx/tmp"
seq 1 "$HOSTS" | awk '{ printf "h%d.bench.example.com\n", $1 }' > "$OUT/hosts.txt"
awk '{ printf "%s,https://target.example.org/%d\n", $1, NR }' "$OUT/hosts.txt" > "$OUT/routes.csv"
awk '{ printf "%s https://target.example.org/%d;\n", $1, NR }' "$OUT/hosts.txt" > "$OUT/nginx/map.conf"

cat > "$OUT/nginx/nginx.conf" <<CONF
worker_processes 1;
daemon off;
user root;
pid $PWD/$OUT/nginx/nginx.pid;
error_log $PWD/$OUT/nginx/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $PWD/$OUT/nginx/tmp;
  proxy_temp_path $PWD/$OUT/nginx/tmp;
  fastcgi_temp_path $PWD/$OUT/nginx/tmp;
  uwsgi_temp_path $PWD/$OUT/nginx/tmp;
  scgi_temp_path $PWD/$OUT/nginx/tmp;
  keepalive_requests 1000000;
  map_hash_max_size 32768;
  map_hash_bucket_size 128;
  map \$host \$target {
    hostnames;
    default "";
    include $PWD/$OUT/nginx/map.conf;
  }
  server {
    listen 127.0.0.1:$NGINX_PORT;
    location / {
      if (\$target = "") { return 404; }
      return 301 \$target\$request_uri;
    }
  }
}
CONF

cat > "$OUT/rotate.lua" <<'LUA'
-- Rotates the Host header over every benchmark host, one request each in turn.
local hosts = {}
for line in io.lines(os.getenv("BENCH_HOSTS_FILE")) do hosts[#hosts + 1] = line end
local i = 0
request = function()
  i = i % #hosts + 1
  return wrk.format("GET", "/some/path?x=1", { ["Host"] = hosts[i] })
end
LUA
export BENCH_HOSTS_FILE="$PWD/$OUT/hosts.txt"

"$OUT/dnsreroute" table ensure >/dev/null
# An org holds at most 100 routes (the enterprise plan): 100 hosts per org.
rm -rf "$OUT/parts" && mkdir -p "$OUT/parts"
split -l 100 -d -a 3 "$OUT/routes.csv" "$OUT/parts/org"
for part in "$OUT"/parts/org*; do
  "$OUT/dnsreroute" orgs add "bench-${part##*/}" -plan enterprise >/dev/null
  "$OUT/dnsreroute" routes import "$part" -keep-path -keep-query -org "bench-${part##*/}" >/dev/null
done
echo "imported $(cat "$OUT/routes.csv" | wc -l) routes into $(ls "$OUT/parts" | wc -l) orgs"

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

# The cache TTL outlasts the run: this measures the front on cache hits; refreshes
# are DynamoDB's cost, measured by the Go benchmarks of the store.
GOMAXPROCS=1 CACHE_SIZE=$((HOSTS * 2)) CACHE_TTL=1h LOOKUP_TIMEOUT=10s LOG_LEVEL=warn taskset -c 0 \
  "$OUT/dnsreroute" serve -addr "127.0.0.1:$GO_PORT" -stats-addr "127.0.0.1:$STATS_PORT" >/dev/null &
pids+=($!)
taskset -c 0 nginx -p "$PWD/$OUT/nginx" -c "$PWD/$OUT/nginx/nginx.conf" &
pids+=($!)

for port in $GO_PORT $NGINX_PORT; do
  for _ in $(seq 50); do curl -s -o /dev/null -H 'Host: h1.bench.example.com' "http://127.0.0.1:$port/" && break; sleep 0.2; done
done
check() {
  curl -s -o /dev/null -w '%{http_code} %{redirect_url}' -H 'Host: h42.bench.example.com' "http://127.0.0.1:$1/some/path?x=1"
}
echo "redirector answers: $(check $GO_PORT)"
echo "nginx answers:      $(check $NGINX_PORT)"

rps() { taskset -c 1 wrk -t1 -c"$CONNS" -d"$1" -s "$OUT/rotate.lua" "http://127.0.0.1:$2/" | tee -a "$OUT/wrk.log" | awk '/Requests\/sec/ { print $2 }'; }
errors() { grep -E 'Non-2xx|Socket errors' "$OUT/wrk.log" | grep -v 'Non-2xx or 3xx' || true; }

: > "$OUT/wrk.log"
# One request per host, 16 at a time, each printing its status.
awk -v port="$GO_PORT" '{ if (NR > 1) print "next"; printf "url = \"http://127.0.0.1:%s/some/path?x=1\"\nheader = \"Host: %s\"\noutput = /dev/null\nsilent\nwrite-out = \"%%{http_code}\\n\"\n", port, $1 }' \
  "$OUT/hosts.txt" > "$OUT/warm.curl"
# pass asks every host once; the first may be retried, since a lookup that times
# out on a busy machine answers 503 and caches nothing.
pass() {
  local ok tries=$1
  for try in $(seq "$tries"); do
    curl --no-progress-meter --parallel --parallel-max 16 -K "$OUT/warm.curl" > "$OUT/warm.out" || true
    ok=$(grep -c '^301$' "$OUT/warm.out" || true)
    [ "$ok" = "$HOSTS" ] && return 0
    echo "warm-up pass $try: $ok of $HOSTS hosts answered 301 ($(sort "$OUT/warm.out" | uniq -c | tr -s ' \n' ' '))" >&2
  done
  exit 1
}
stats() { curl -s "http://127.0.0.1:$STATS_PORT/stats"; }
lookups() { stats | sed -E 's/.*"storeLookups":([0-9]+).*/\1/'; }
echo "warming the redirector's cache over $HOSTS hosts"
pass 5
before=$(lookups)
pass 1
after=$(lookups)
if [ "$before" != "$after" ]; then
  echo "warm-up: the second pass made $((after - before)) DynamoDB lookups, want 0 ($(stats))" >&2; exit 1
fi
echo "cache warm: every host answered twice, the second time from the cache alone ($(stats))"
rps 2s $GO_PORT >/dev/null
rps 2s $NGINX_PORT >/dev/null
: > "$OUT/wrk.log"

go_total=0; nginx_total=0
for r in $(seq "$ROUNDS"); do
  g=$(rps "$DURATION" $GO_PORT); n=$(rps "$DURATION" $NGINX_PORT)
  echo "round $r: redirector $g req/s, nginx $n req/s"
  go_total=$(awk -v a="$go_total" -v b="$g" 'BEGIN { print a + b }')
  nginx_total=$(awk -v a="$nginx_total" -v b="$n" 'BEGIN { print a + b }')
done
if grep -q 'Socket errors' "$OUT/wrk.log"; then echo "wrk reported socket errors:"; grep 'Socket errors' "$OUT/wrk.log"; fi
final=$(lookups)
if [ "$final" != "$after" ]; then echo "note: $((final - after)) DynamoDB lookups during the timed runs (cache not steady)"; fi
awk -v g="$go_total" -v n="$nginx_total" -v r="$ROUNDS" 'BEGIN {
  printf "mean: redirector %.0f req/s, nginx %.0f req/s, steady-state ratio %.2f (target >= 0.70)\n", g / r, n / r, g / n }' | tee "$OUT/result.txt"
