#!/bin/bash
# t3802-fs-torch-shards.sh - sharded checkpoint of issue #8: 4 processes
# torch.save their shards (+fsync) into step_N.tmp/ at the same time, then a
# manifest is written last and the directory is renamed to step_N/.  On a
# second mount every shard loads and matches, the manifest's sha256 match,
# and the published directory holds exactly the shards and the manifest.
# Both steps survive an MDS SIGKILL + restart and read on a fresh mount.
. "$(dirname "$0")/lib-cluster.sh"
gn_need_fuse
PY=/usr/bin/python3
QT=$GN_SRC_DIR/t/helper/qa-torch.py
$PY -c 'import torch' 2>/dev/null || gn_skip "no python3-torch for $PY"
MB=${GN_QA_SHARD_MB:-32}
N=4

gn_cluster 3
gn_mount "$T/a"
gn_mount "$T/b"
A=$T/a B=$T/b

mkdir "$A/run"
for step in 1 2; do
	mkdir "$A/run/step_$step.tmp"
	pids=()
	for ((r = 0; r < N; r++)); do
		$PY "$QT" shard "$A/run/step_$step.tmp" $r "$MB" 2>"$T/shard$r.err" &
		pids+=($!)
	done
	for ((r = 0; r < N; r++)); do
		wait "${pids[$r]}" || gn_fail "step $step: rank $r save failed: $(cat "$T/shard$r.err")"
	done
	$PY "$QT" manifest "$A/run/step_$step.tmp" "$A/run/step_$step" $N "$MB" ||
		gn_fail "step $step: manifest + directory rename failed"
	$PY "$QT" verify-step "$B/run/step_$step" $N "$MB" || gn_fail "step $step on B"
done
gn_expect_eq "step_1 step_2" "$(ls "$B/run" | tr '\n' ' ' | sed 's/ $//')" "published steps on B"
# Step 1 was not disturbed by step 2; both survive a crash of the MDS
# (SIGKILL: the fsyncs and renames were committed) and a new client.
gn_umount "$B"
GN_RESTART_SIGNAL=KILL gn_restart_mds
gn_wait_ds 3
gn_mount "$T/c"
for step in 1 2; do
	$PY "$QT" verify-step "$T/c/run/step_$step" $N "$MB" || gn_fail "step $step on a fresh mount"
done
exit 0
