#!/bin/bash
# t3808-fs-long-write.sh - a file whose writing takes longer than the
# MDS's grace for uncommitted chunk versions (twice the session timeout)
# before its first fsync still commits whole (issue #8: large checkpoint
# shards written by slow or many ranks).  The MDS reclaims a session's
# uncommitted versions when the session ends, never while it lives.
. "$(dirname "$0")/lib-cluster.sh"
gn_need_fuse
gn_need_cmd python3

gn_cluster 2 --session-timeout-ms=1500
gn_mount "$T/m"
# Three full chunks upload at once; the fsync comes > 2 x 1.5 s later.
python3 - "$T/m/ckpt" "$T/ref" <<'PY' || gn_fail "slow write + fsync failed"
import os, sys, time
data = os.urandom(3 * 4 << 20) + os.urandom(123457)
with open(sys.argv[2], "wb") as r:
    r.write(data)
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
os.write(fd, data[:3 * 4 << 20])
time.sleep(5)
os.write(fd, data[3 * 4 << 20:])
os.fsync(fd)
os.close(fd)
PY
cmp "$T/ref" "$T/m/ckpt" || gn_fail "slowly written file differs"
gn_umount "$T/m"
gn_mount "$T/m"
cmp "$T/ref" "$T/m/ckpt" || gn_fail "slowly written file differs after remount"
gn_umount "$T/m"
exit 0
