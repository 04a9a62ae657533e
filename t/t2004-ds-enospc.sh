#!/bin/bash
# t2004-ds-enospc: a data server on a 16 MiB tmpfs: a write that does not
# fit fails with RESOURCE_EXHAUSTED, leaves no partial version or temporary
# file, every acknowledged version stays intact, and writes succeed again
# once space is freed.  Also the configured reserve.
. "$(dirname "$0")/lib-cluster.sh"

[ -x "$GN_DS_BIN" ] || gn_skip "gannet-ds not built"
gn_need_root
mkdir -p "$T/small"
mount -t tmpfs -o size=16m gannet-test "$T/small" 2>/dev/null || gn_skip "cannot mount tmpfs"
# Unmount before lib-cluster's cleanup removes $T (keeping its exit code).
trap 'rc=$?; umount -l "$T/small" 2>/dev/null; (exit $rc); gn__cleanup' EXIT

GN_MDS_ADDR=127.0.0.1:9
GN_DS_DIR[1]=$T/small/ds
gn_start_ds 1 --scrub-rate=0
A=${GN_DS_ADDR[1]}
for i in 1 2 3 4; do head -c 4194304 /dev/urandom >"$T/d$i"; done

no_tmp() { [ "$(find "$T/small/ds/chunks" -name '*.tmp*' | wc -l)" = 0 ]; }

# Three chunks fit (4 MiB + a 4 KiB header each), the fourth does not.
for i in 1 2 3; do
	"$GN_TT" ds-write "$A" $i 1 "$T/d$i" >/dev/null || gn_fail "write $i failed with space left"
done
"$GN_TT" ds-write "$A" 4 1 "$T/d4" --expect=RESOURCE_EXHAUSTED 2>"$T/err" ||
	gn_fail "full disk not reported: $(cat "$T/err")"
"$GN_TT" ds-read "$A" 4 1 --expect=NOT_FOUND || gn_fail "refused write left a version"
no_tmp || gn_fail "temporary file left after ENOSPC"
for i in 1 2 3; do
	"$GN_TT" ds-read "$A" $i 1 | cmp -s - "$T/d$i" || gn_fail "chunk $i damaged by ENOSPC"
done
"$GN_TT" ds-stat "$A" >"$T/stat" || gn_fail "server stopped answering"
grep -q '^chunks=3$' "$T/stat" || gn_fail "wrong chunk count: $(cat "$T/stat")"

# Free space: the write goes through now.
"$GN_TT" ds-delete "$A" 2 0 || gn_fail "delete failed"
"$GN_TT" ds-write "$A" 4 1 "$T/d4" >/dev/null || gn_fail "write after freeing space failed"

# Two writes racing for room for one and a half: they may both pass the
# free-space check, so one fails in the middle of writing; either way no
# partial version or temporary file survives, and what was acknowledged
# is intact.
"$GN_TT" ds-delete "$A" 3 0 || gn_fail "delete failed"
head -c $((2 * 1048576)) /dev/zero >"$T/small/filler"
ok=0 pids=()
for i in 5 6; do
	( "$GN_TT" ds-write "$A" $i 1 "$T/d$((i - 4))" >/dev/null 2>"$T/err$i" && touch "$T/ok$i" ) &
	pids+=($!)
done
wait "${pids[@]}"
for i in 5 6; do
	if [ -e "$T/ok$i" ]; then
		ok=$((ok + 1))
		"$GN_TT" ds-read "$A" $i 1 | cmp -s - "$T/d$((i - 4))" || gn_fail "chunk $i damaged"
	else
		grep -q RESOURCE_EXHAUSTED "$T/err$i" || gn_fail "write $i: $(cat "$T/err$i")"
		"$GN_TT" ds-read "$A" $i 1 --expect=NOT_FOUND || gn_fail "failed write $i left a version"
	fi
done
[ $ok -le 1 ] || gn_fail "two 4 MiB writes fitted in 6 MiB"
no_tmp || gn_fail "temporary file left after racing writes"
rm -f "$T/small/filler"

# The reserve: free space below it refuses writes.
gn_stop_ds 1
gn_start_ds 1 --scrub-rate=0 --reserve=12M
"$GN_TT" ds-write "${GN_DS_ADDR[1]}" 7 1 "$T/d1" --expect=RESOURCE_EXHAUSTED ||
	gn_fail "write into the reserve not refused"
"$GN_TT" ds-read "${GN_DS_ADDR[1]}" 1 1 | cmp -s - "$T/d1" || gn_fail "chunk 1 lost across restart"
exit 0
