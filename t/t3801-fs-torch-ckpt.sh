#!/bin/bash
# t3801-fs-torch-ckpt.sh - the checkpoint pattern of issue #8 with PyTorch:
# a ~200 MB state dict saved with torch.save to ckpt.pt.tmp, fsync, rename
# to ckpt.pt on mount A, loaded on a second mount B and compared with
# torch.equal per tensor; then overwritten the same way while a reader on B
# re-opens it in a loop: every load is the old or the new state dict,
# complete, and an open started after the rename returned sees the new one.
# Finally, with the writer's client SIGKILLed, a fresh mount reads the new
# checkpoint (fsync + rename made it durable on the servers).
. "$(dirname "$0")/lib-cluster.sh"
gn_need_fuse
PY=/usr/bin/python3
QT=$GN_SRC_DIR/t/helper/qa-torch.py
$PY -c 'import torch' 2>/dev/null || gn_skip "no python3-torch for $PY"
MB=${GN_QA_CKPT_MB:-200}

gn_cluster 3
gn_mount "$T/a"
gn_mount "$T/b"
A=$T/a B=$T/b

mkdir "$A/ckpt"
$PY "$QT" save "$A/ckpt/ckpt.pt" 1 "$MB" || gn_fail "torch.save+fsync+rename on A"
[ -e "$A/ckpt/ckpt.pt.tmp" ] && gn_fail "ckpt.pt.tmp still there after the rename"
gn_expect_eq ckpt.pt "$(ls "$B/ckpt")" "B lists only the renamed checkpoint"
$PY "$QT" check "$B/ckpt/ckpt.pt" 1 "$MB" || gn_fail "checkpoint loaded on B differs"

# Overwrite (seed 2) while B re-opens and loads it in a loop.
rm -f "$T/done" "$T/started"
$PY "$QT" reader "$B/ckpt/ckpt.pt" "$MB" 1 2 "$T/done" "$T/started" >"$T/reader.out" 2>&1 &
rpid=$!
gn_wait_for 40 test -e "$T/started" || { kill $rpid; wait $rpid; gn_fail "reader never loaded: $(cat "$T/reader.out")"; }
$PY "$QT" save "$A/ckpt/ckpt.pt" 2 "$MB" || { kill $rpid; wait $rpid; gn_fail "second save on A"; }
touch "$T/done"
wait $rpid || gn_fail "reader on B: $(cat "$T/reader.out")"
gn_log "$(cat "$T/reader.out")"
gn_expect_eq ckpt.pt "$(ls "$B/ckpt")" "directory after the overwrite"

# Durable: the writer's client is killed (SIGKILL, nothing flushed at
# exit), and a new client process reads the new checkpoint.
kill -KILL "${GN_MOUNT_PID[$A]}"
gn_umount "$A"
gn_umount "$B"
gn_mount "$T/c"
$PY "$QT" check "$T/c/ckpt/ckpt.pt" 2 "$MB" || gn_fail "fresh mount does not load the new checkpoint"
exit 0
