#!/bin/bash
# t9005: every metrics endpoint serves valid Prometheus text format with
# the series gannet(7) promises: the library itself (test-tool), the MDS,
# each data server and (with FUSE) a mount.  Validation is done by
# t/metrics-check.py, a strict parser of format 0.0.4; `promtool check
# metrics` runs too when it is installed.
. "$(dirname "$0")/lib-cluster.sh"

gn_need_cmd python3
CHECK="python3 $GN_SRC_DIR/t/metrics-check.py"

# The checker must reject what is wrong, for the right reason, or passing
# means nothing.
bad() {	# description expected-message text
	local out
	printf '%b' "$3" >"$T/bad.txt"
	out=$($CHECK "$T/bad.txt") && gn_fail "checker accepted $1"
	case $out in *"$2"*) ;; *) gn_fail "checker on $1: '$out', expected '$2'";; esac
}
g() { printf '# HELP %s x\\n# TYPE %s %s\\n' "$1" "$1" "${2:-gauge}"; }
bad "a sample without value" "expected a space" "$(g a)a\n"
bad "a bad label escape" "bad escape" "$(g a)a{x=\"\\\\q\"} 1\n"
bad "a negative counter" "counter a_total is -1" "$(g a_total counter)a_total -1\n"
bad "split families" "not contiguous" "$(g a)$(g b)a 1\nb 1\na{x=\"1\"} 2\n"
bad "a missing +Inf bucket" "no +Inf bucket" "$(g h histogram)h_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n"
bad "non-cumulative buckets" "not cumulative" "$(g h histogram)h_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n"
bad "a duplicate series" "duplicate series" "$(g a)a{x=\"1\"} 1\na{x=\"1\"} 2\n"
bad "no final newline" "newline" "$(g a)a 1"
bad "a counter not ending in _total" "does not end in _total" "$(g a counter)a 1\n"
bad "a family without HELP" "has no HELP" "# TYPE a gauge\na 1\n"
printf '%b' "$(g a_total counter)"'a_total{x="q\\"\\\\\\n"} 1 1700000000000\n' >"$T/good.txt"
$CHECK "$T/good.txt" || gn_fail "checker refused a valid exposition"

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

scrape() {	# what url expect-regex...
	local what=$1 url=$2 out; shift 2
	local args=()
	for e in "$@"; do args+=(--expect "$e"); done
	out=$($CHECK "$url" "${args[@]}" 2>&1) || gn_fail "$what metrics at $url: $out"
	if command -v promtool >/dev/null; then
		python3 -c 'import sys,urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1]).read().decode())' \
			"$url" >"$T/scrape.txt"
		out=$(promtool check metrics <"$T/scrape.txt" 2>&1) ||
			gn_fail "promtool on $what: $out"
	fi
}

# 1. The library, through test-tool: escaping, histograms, RPC series.
# Its stdin is the coprocess pipe: it serves until we close our end.
coproc TT { "$GN_TT" metrics-serve; }
read -r -t 10 port <&"${TT[0]}" || gn_fail "test-tool metrics-serve gave no port"
GN_PIDS+=("$TT_PID")
scrape test-tool "http://127.0.0.1:$port/metrics" \
	'^gannet_test_bytes_total 12345$' \
	'^gannet_client_read_bytes_total [1-9]' \
	'^gannet_test_errors_total\{kind="say \\"hi\\"\\\\ok"\} 2$' \
	'^gannet_test_ratio\{host="a\\nb"\} 0\.5$' \
	'^gannet_test_latency_seconds_bucket\{op="read",le="0\.01"\} 1$' \
	'^gannet_test_latency_seconds_count\{op="read"\} 3$' \
	'^gannet_rpc_server_errors_total\{method="/gannet\.Mds/Lookup",code="NOT_FOUND"\} 1$' \
	'^gannet_build_info\{program="test-tool",version="[0-9.]+"\} 1$' \
	'^process_start_time_seconds [0-9.e+]+$'
# gannetctl stats: the counter grows 1 MiB per scrape, so rate x measured
# interval must be 1 MiB (to rounding).
"$GN_CTL_BIN" --json stats "$port" --interval 0.5 --count 2 >"$T/stats.json" ||
	gn_fail "gannetctl stats failed"
python3 - "$T/stats.json" <<'EOF' || gn_fail "gannetctl stats: $(cat "$T/stats.json")"
import json, sys
lines = open(sys.argv[1]).read().splitlines()
assert len(lines) == 2, lines
for l in lines:
    j = json.loads(l)
    assert j["program"] == "test-tool", j
    got = j["per_second"]["gannet_client_read_bytes_total"] * j["interval_ms"] / 1000
    assert abs(got - 1048576) < 1048576 * 0.005, (got, j)
    assert "gannet_ds_read_bytes_total" not in j["per_second"], j
EOF
"$GN_CTL_BIN" stats "127.0.0.1:$port" --interval 0.2 >"$T/stats.txt" || gn_fail "stats (text)"
grep -q "^test-tool .* at 127.0.0.1:$port, every" "$T/stats.txt" || gn_fail "stats header: $(cat "$T/stats.txt")"
"$GN_CTL_BIN" stats 127.0.0.1:1 >/dev/null 2>&1
gn_expect_eq 1 $? "stats of an endpoint nobody serves"

# Only GET and HEAD are served.
code=$(python3 - "$port" <<'EOF'
import sys, urllib.request, urllib.error
req = urllib.request.Request("http://127.0.0.1:%s/metrics" % sys.argv[1], data=b"x", method="POST")
try:
    print(urllib.request.urlopen(req, timeout=5).status)
except urllib.error.HTTPError as e:
    print(e.code)
EOF
)
gn_expect_eq 405 "$code" "POST to the metrics endpoint"
tt_pid=$TT_PID
eval "exec ${TT[1]}>&-"
wait "$tt_pid" || gn_fail "test-tool metrics-serve did not stop cleanly"

# 2. A cluster with metrics on: the MDS and two data servers.
mport=$(free_port)
gn_start_mds --metrics-port="$mport"
dport=()
for i in 1 2; do
	dport[$i]=$(free_port)
	gn_start_ds "$i" --metrics-port="${dport[$i]}"
done
gn_wait_ds 2
"$GN_CTL_BIN" --mds="$GN_MDS_ADDR" status >/dev/null || gn_fail "gannetctl status failed"
"$GN_CTL_BIN" --mds="$GN_MDS_ADDR" info /no-such-file >/dev/null 2>&1

# The collectors run per scrape; the MDS has seen 2 servers register.
scrape mds "http://127.0.0.1:$mport/metrics" \
	'^gannet_build_info\{program="gannet-mds",' \
	'^gannet_mds_inodes [1-9]' \
	'^gannet_mds_chunks [0-9]' \
	'^gannet_mds_degraded_chunks [0-9]' \
	'^gannet_mds_damaged_chunks [0-9]' \
	'^gannet_mds_sessions [0-9]' \
	'^gannet_mds_ds\{state="up"\} 2$' \
	'^gannet_mds_capacity_bytes [1-9]' \
	'^gannet_rpc_server_requests_total\{method="/gannet\.Mds/Status"\} [1-9]' \
	'^gannet_rpc_server_requests_total\{method="/gannet\.Mds/DsRegister"\} [1-9]' \
	'^gannet_rpc_server_errors_total\{method="/gannet\.Mds/Lookup",code="NOT_FOUND"\} [1-9]' \
	'^gannet_rpc_server_duration_seconds_count\{method="/gannet\.Mds/Status"\} [1-9]'
for i in 1 2; do
	scrape "ds$i" "http://127.0.0.1:${dport[$i]}/metrics" \
		'^gannet_build_info\{program="gannet-ds",' \
		'^gannet_ds_read_bytes_total [0-9]' \
		'^gannet_ds_written_bytes_total [0-9]' \
		'^gannet_ds_chunks [0-9]' \
		'^gannet_ds_capacity_bytes [1-9]' \
		'^gannet_ds_free_bytes [1-9]' \
		'^gannet_rpc_client_requests_total\{method="/gannet\.Mds/DsHeartbeat"\} [1-9]'
done

# 3. A mount, when FUSE is available: writes and reads move its counters.
if [ -c /dev/fuse ] && command -v fusermount3 >/dev/null && [ "$(id -u)" = 0 ]; then
	fport=$(free_port)
	gn_mount "$T/mnt" -o metrics_port="$fport"
	head -c 5000000 /dev/urandom >"$T/src"
	cp "$T/src" "$T/mnt/f" || gn_fail "write through the mount failed"
	cmp "$T/src" "$T/mnt/f" || gn_fail "read back differs"
	# stats finds the mount's endpoint from its mount point.
	"$GN_CTL_BIN" --json stats "$T/mnt" --interval 0.2 >"$T/mstats.json" ||
		gn_fail "stats of the mount point failed"
	gn_expect_eq gannet-fuse "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["program"])' "$T/mstats.json")" \
		"stats of a mount point"
	scrape mount "http://127.0.0.1:$fport/metrics" \
		'^gannet_build_info\{program="gannet-fuse",' \
		'^gannet_client_written_bytes_total [1-9]' \
		'^gannet_client_read_bytes_total [0-9]' \
		'^gannet_client_cache_hits_total [0-9]' \
		'^gannet_client_cache_misses_total [0-9]' \
		'^gannet_rpc_client_requests_total\{method="/gannet\.Ds/WriteChunk"\} [1-9]'
	# ... and the data servers counted the bytes they stored.
	total=0
	for i in 1 2; do
		n=$(python3 -c 'import sys,urllib.request
for l in urllib.request.urlopen(sys.argv[1]).read().decode().splitlines():
    if l.startswith("gannet_ds_written_bytes_total "): print(int(float(l.split()[1])))' \
			"http://127.0.0.1:${dport[$i]}/metrics")
		total=$((total + n))
	done
	[ "$total" -ge 5000000 ] || gn_fail "data servers counted $total bytes written, expected >= 5000000"
else
	gn_log "no FUSE here: mount metrics not checked"
fi
exit 0
