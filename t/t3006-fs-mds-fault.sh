#!/bin/bash
# t3006-fs-mds-fault.sh - the MDS stopped under a mount: operations fail
# with an errno (ETIMEDOUT) within op_timeout_ms instead of hanging; after
# the MDS restarts (same store, same port) the mount re-registers and
# works again without a remount, with earlier data intact.  A multi-chunk
# copy into a file opened before the MDS stopped fails with an errno after
# about one op_timeout_ms, not one per queued 4 MiB buffer.
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

# One deadline per file: 50 chunks with the MDS down.  Every buffer used
# to wait op_timeout_ms on its own, 4 at a time (13 x 3 s here); now the
# first upload that times out fails the rest at once and the commit is
# not attempted, so fsync returns after about one op_timeout_ms.
head -c $((200 << 20)) /dev/urandom >"$T/src"
exec 3>"$M/big"
gn_stop_mds
start=$SECONDS
dd if="$T/src" bs=1M conv=fsync status=none >&3 2>"$T/err"
rc=$?
took=$((SECONDS - start))
exec 3>&-
[ $rc -ne 0 ] || gn_fail "a 200 MB copy succeeded with the MDS down"
grep -Eq "Input/output error|timed out" "$T/err" || gn_fail "copy: expected EIO/ETIMEDOUT: $(cat "$T/err")"
# 4 x op_timeout_ms plus slack; the old behaviour took 39 s and more.
echo "# the copy failed after $took s (rc=$rc): $(cat "$T/err")"
[ $took -le 22 ] || gn_fail "copy with the MDS down took $took s to fail"
gn_start_mds
gn_wait_ds 3
gn_wait_for 20 touch "$M/after2" || gn_fail "mount did not recover after the second restart"
cp "$T/src" "$M/big2" || gn_fail "copy after the MDS came back"
cmp "$T/src" "$M/big2" || gn_fail "copy after recovery differs"
exit 0
