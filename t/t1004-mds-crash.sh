#!/bin/bash
# Crash test: creates, chunk commits and renames run against the MDS while
# it is killed with SIGKILL at random moments, 20 rounds.  After each
# restart every acknowledged step must be in the store, and --check must
# find nothing wrong.
. "$(dirname "$0")/lib-cluster.sh"

ROUNDS=${GN_CRASH_ROUNDS:-20}
gn_start_mds
tt() { "$GN_TT" mds "$GN_MDS_ADDR" "$@"; }
tt ds-register uuid-crash 127.0.0.1:9 >/dev/null || gn_fail "ds-register"
tt policy / 1 none >/dev/null

total=0
for ((r = 1; r <= ROUNDS; r++)); do
	"$GN_TT" mds "$GN_MDS_ADDR" load "/r$r" 0 100000 >"$T/load$r.log" 2>/dev/null &
	load=$!
	GN_PIDS+=("$load")
	# 200..700 ms of load, then the crash.
	sleep "0.$(printf %03d $((200 + RANDOM % 500)))"
	kill -KILL "$GN_MDS_PID"
	wait "$GN_MDS_PID" 2>/dev/null
	GN_MDS_PID=
	kill -KILL "$load" 2>/dev/null
	wait "$load" 2>/dev/null
	gn_start_mds
	# The data server must be known again before chunks can be checked.
	out=$(tt verify "/r$r" "$T/load$r.log") || gn_fail "round $r: $out"
	n=$(echo "$out" | sed -n 's/^verified \([0-9]*\) steps.*/\1/p')
	total=$((total + n))
done
gn_log "$ROUNDS crashes, $total acknowledged steps verified"
[ "$total" -gt 0 ] || gn_fail "no step was acknowledged at all"

gn_stop_mds
"$GN_MDS_BIN" --config=/dev/null --data-dir="$GN_MDS_DIR" --check >"$T/check.out" 2>&1 ||
	gn_fail "--check after crashes: $(cat "$T/check.out")"
exit 0
