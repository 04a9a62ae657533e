#!/bin/bash
# t3804-fs-cache-coherence.sh - correctness under caching (issues #7, #8):
# a file overwritten on mount A (write+close) is never read stale on mount
# B after B re-opens it (20 rounds, same size / grow / shrink, B's caches
# warm each time); 4 concurrent readers of one 64 MB file on one mount get
# identical bytes, cold and warm; a file truncated and rewritten on A reads
# right on B.  Last, A and B write disjoint ranges of the same chunks at
# once: every write whose close succeeded must read back on both mounts
# (racing partial writes of one chunk from two clients are refused with EIO
# at close, never lost silently).
. "$(dirname "$0")/lib-cluster.sh"
gn_need_fuse
PY=/usr/bin/python3
QC=$GN_SRC_DIR/t/helper/qa-coherence.py

gn_cluster 3
gn_mount "$T/a"
gn_mount "$T/b"
A=$T/a B=$T/b

$PY "$QC" overwrite "$A" "$B" 20 || gn_fail "close-to-open across mounts (A writes, B reads)"
$PY "$QC" overwrite "$B" "$A" 10 || gn_fail "close-to-open across mounts (B writes, A reads)"
$PY "$QC" truncate "$A" "$B" || gn_fail "truncate + rewrite across mounts"

head -c $((64 << 20)) /dev/urandom >"$T/big"
want=$(sha256sum <"$T/big" | cut -d' ' -f1)
cp "$T/big" "$A/big" || gn_fail "copy of the 64 MB file"
rm -f "$T/big"
# Cold on B (never read there), then warm.
$PY "$QC" readers "$B/big" "$want" 4 || gn_fail "4 cold concurrent readers on B"
$PY "$QC" readers "$B/big" "$want" 4 || gn_fail "4 warm concurrent readers on B"
# And on A, where the writer's own pages/cache may serve them.
$PY "$QC" readers "$A/big" "$want" 4 || gn_fail "4 concurrent readers on the writer's mount"

$PY "$QC" disjoint "$A" "$B" 3 || gn_fail "concurrent writers of disjoint ranges on two mounts: a successful write was lost"
exit 0
