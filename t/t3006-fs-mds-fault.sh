#!/bin/bash
# t3006-fs-mds-fault.sh - the MDS stopped under a mount: operations fail
# with an errno (ETIMEDOUT) within op_timeout_ms instead of hanging; after
# the MDS restarts (same store, same port) the mount re-registers and
# works again without a remount, with earlier data intact.
. "$(dirname "$0")/lib-cluster.sh"
gn_need_fuse

gn_cluster 3
gn_mount "$T/mnt" -o timeout_ms=1000,op_timeout_ms=3000
M=$T/mnt
printf before >"$M/f"
mkdir "$M/d"

gn_stop_mds
start=$SECONDS
stat "$M/not-there" 2>"$T/err"
rc=$?
[ $rc -ne 0 ] || gn_fail "stat succeeded with the MDS down"
grep -q "Connection timed out" "$T/err" || gn_fail "expected ETIMEDOUT: $(cat "$T/err")"
touch "$M/new" 2>"$T/err" && gn_fail "create succeeded with the MDS down"
grep -q "Connection timed out" "$T/err" || gn_fail "create: expected ETIMEDOUT: $(cat "$T/err")"
# Bounded: two operations of op_timeout_ms 3 s each, plus slack.
[ $((SECONDS - start)) -le 20 ] || gn_fail "operations hung for $((SECONDS - start)) s"

gn_start_mds
gn_wait_ds 3
gn_wait_for 20 touch "$M/after" || gn_fail "mount did not recover after the MDS restart"
gn_expect_eq before "$(cat "$M/f")" "data written before the restart"
printf again >"$M/f2" || gn_fail "write after restart"
gn_expect_eq again "$(cat "$M/f2")" "read after restart"
[ -d "$M/d" ] || gn_fail "directory lost"
exit 0
