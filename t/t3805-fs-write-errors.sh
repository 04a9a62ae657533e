#!/bin/bash
# t3805-fs-write-errors.sh - write error paths of issue #8.
# 1. ENOSPC: three data servers on 64 MiB tmpfs each.  Writing more than
#    fits to ckpt.pt.tmp must fail with ENOSPC at write(), fsync() or
#    close() (exact errno, within a deadline, not EIO), and the checkpoint
#    written before (ckpt.pt) stays intact, read on another mount.  After
#    the failed file is removed and its space comes back, a new file writes
#    fine: the error is not reported on a later unrelated file.
# 2. The write-back bound: on a second cluster (disk-backed), a client
#    mounted with writeback_limit=32M,cache_size=64M while 4 writers push
#    512 MB (faster than uploads) must keep its peak RSS (VmHWM, plus
#    samples of VmRSS) below cache_size + writeback_limit + 64 MiB (plus
#    a fixed allowance in a sanitizer build: gn_mount_mem in lib-cluster.sh).
#    Then 4 writers patch files at random offsets and sizes (writes
#    scattered over more buffers than the limit has chunks): the same
#    bound holds and the files match reference copies after a remount.
# 3. A client killed with SIGKILL loses only what was never fsync'd or
#    closed: fsync'd and closed files read back exactly on a new mount, and
#    the files that were being written (a new one, and an in-place
#    overwrite of a committed one) read without error (the MDS never points
#    at a chunk version that was not written) and hold only bytes that were
#    written: the overwritten file is the old or the new content per page.
# (The bound under a read stress is t3806's.)
. "$(dirname "$0")/lib-cluster.sh"
gn_need_fuse
PY=/usr/bin/python3
QE=$GN_SRC_DIR/t/helper/qa-enospc.py

qa_tmpfs=()
qa_cleanup() {
	local m
	for m in "${qa_tmpfs[@]}"; do umount -l "$m" 2>/dev/null; done
}
# Run ours, then lib-cluster's cleanup with the script's exit status.
trap 'rc=$?; qa_cleanup; (exit $rc); gn__cleanup' EXIT

for i in 1 2 3; do
	mkdir -p "$T/ds$i"
	mount -t tmpfs -o size=64m qa-gannet "$T/ds$i" 2>/dev/null || gn_skip "cannot mount tmpfs"
	qa_tmpfs+=("$T/ds$i")
	GN_DS_DIR[$i]=$T/ds$i/store
done
gn_cluster 3
gn_mount "$T/a"
gn_mount "$T/b"
A=$T/a B=$T/b

# The previous checkpoint: 8 MiB, fsync'd.
head -c $((8 << 20)) /dev/urandom >"$T/ckpt.ref"
want=$(sha256sum <"$T/ckpt.ref" | cut -d' ' -f1)
dd if="$T/ckpt.ref" of="$A/ckpt.pt" bs=1M conv=fsync status=none || gn_fail "writing the first checkpoint"

# 3 x 64 MiB with 2 replicas holds < 96 MiB: 400 MiB cannot fit.
timeout 120 $PY "$QE" fill "$A/ckpt.pt.tmp" 400 >"$T/fill.out" 2>&1
rc=$?
[ $rc = 124 ] && gn_fail "writing to full data servers hung for 120 s: $(tail -3 "$T/fuse1.log")"
[ $rc = 0 ] || gn_fail "fill writer crashed: $(cat "$T/fill.out")"
gn_log "full data servers: $(cat "$T/fill.out")"
grep -qE '^ENOSPC at (write|fsync|close) ' "$T/fill.out" ||
	gn_fail "expected ENOSPC from write/fsync/close, got: $(cat "$T/fill.out")"

gn_expect_eq "$want" "$(sha256sum <"$B/ckpt.pt" | cut -d' ' -f1)" "checkpoint read on B after ENOSPC"
gn_expect_eq "$want" "$(sha256sum <"$A/ckpt.pt" | cut -d' ' -f1)" "checkpoint read on A after ENOSPC"

# Free the space; a new file then writes (no stale error from the old one).
rm -f "$A/ckpt.pt.tmp"
free_ok() {
	local i
	for i in 1 2 3; do
		[ "$(df -k --output=avail "$T/ds$i" | tail -1)" -ge $((24 << 10)) ] || return 1
	done
}
gn_wait_for 30 free_ok || gn_fail "space of the removed file not freed on the data servers within 30 s: $(df -k "$T"/ds? | tr '\n' ';')"
head -c $((4 << 20)) /dev/urandom >"$T/small.ref"
dd if="$T/small.ref" of="$A/after" bs=1M conv=fsync status=none ||
	gn_fail "write after freeing space failed"
cmp "$T/small.ref" "$B/after" || gn_fail "file written after ENOSPC reads wrong on B"
gn_expect_eq "$want" "$(sha256sum <"$B/ckpt.pt" | cut -d' ' -f1)" "checkpoint at the end"

# --- 2. write-back bound, on a fresh disk-backed cluster ---
gn_umount "$A"; gn_umount "$B"
for i in 1 2 3; do gn_stop_ds $i; done
gn_stop_mds
# shellcheck disable=SC2034 # read by lib-cluster.sh
GN_MDS_DIR=$T/mds2 GN_MDS_PORT=
# shellcheck disable=SC2034
for i in 1 2 3; do GN_DS_DIR[$i]=$T/d2s$i GN_DS_ADDR[$i]=; done
gn_cluster 3

gn_mount_mem "$T/c" 64 32
bound=$GN_MEM_BOUND asan=$GN_MEM_NOTE
C=$T/c
pid=${GN_MOUNT_PID[$C]}

pids=()
for w in 0 1 2 3; do
	$PY "$QE" writer "$C/w$w" 128 2>"$T/w$w.err" &
	pids+=($!)
done
gn_rss_peak "$pid" "${pids[@]}"
peak=$GN_RSS_PEAK
for w in 0 1 2 3; do
	wait "${pids[$w]}" || gn_fail "writer $w failed (writers must wait, not fail): $(cat "$T/w$w.err")"
done
hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status")
gn_log "client RSS: sampled peak ${peak} KiB, VmHWM ${hwm} KiB, bound ${bound} KiB$asan"
for w in 0 1 2 3; do
	gn_expect_eq $((128 << 20)) "$(stat -c %s "$C/w$w")" "size of writer $w's file"
done
[ "$hwm" -lt "$bound" ] ||
	gn_fail "client peak RSS ${hwm} KiB exceeds cache_size + writeback_limit + 64 MiB = ${bound} KiB$asan"

# 2b. Scattered writers: buffers are charged by the bytes they hold, so
# 4 files patched at random offsets (256 MiB of 64 KiB units against a
# 32 MiB limit) make the writers wait and push buffers out; the bound
# holds and every byte reads back after a remount.
pids=()
for w in 0 1 2 3; do
	$PY "$QE" scatter "$C/s$w" 64 8000 "$T/s$w.ref" 2>"$T/s$w.err" &
	pids+=($!)
done
gn_rss_peak "$pid" "${pids[@]}"
for w in 0 1 2 3; do
	wait "${pids[$w]}" || gn_fail "scattered writer $w failed: $(cat "$T/s$w.err")"
done
hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status")
gn_log "client RSS after scattered writers: VmHWM ${hwm} KiB, bound ${bound} KiB$asan"
[ "$hwm" -lt "$bound" ] ||
	gn_fail "client peak RSS ${hwm} KiB with scattered writers exceeds ${bound} KiB$asan"
gn_umount "$C"
gn_mount "$C" -o writeback_limit=32M,cache_size=64M
pid=${GN_MOUNT_PID[$C]}
for w in 0 1 2 3; do
	cmp "$T/s$w.ref" "$C/s$w" || gn_fail "scattered file $w differs after remount"
done

# --- 3. SIGKILL of the client ---
head -c $((12 << 20)) /dev/urandom >"$T/k1"
head -c $((12 << 20)) /dev/urandom >"$T/k2"
head -c $((12 << 20)) /dev/urandom >"$T/k3"
dd if="$T/k1" of="$C/synced" bs=1M conv=fsync status=none || gn_fail "fsync'd file"
cp "$T/k2" "$C/closed" || gn_fail "closed file"
cp "$T/k1" "$C/over" && sync "$C/over" || gn_fail "file to overwrite"
# Dirty, never fsync'd nor closed: a new file and an in-place overwrite.
$PY - "$C" "$T/k3" "$T/dirty" <<'PYEOF' &
import os, sys, time
d, src, flag = sys.argv[1:]
data = open(src, "rb").read()
a = open(os.path.join(d, "dirty"), "wb")
b = open(os.path.join(d, "over"), "r+b")
a.write(data); a.flush()
b.write(data[:9 << 20]); b.flush()
open(flag, "w").close()
time.sleep(60)
PYEOF
dpid=$!
gn_wait_for 30 test -e "$T/dirty" || { kill $dpid; gn_fail "dirty writer did not write"; }
kill -KILL "$pid"
kill $dpid; wait $dpid 2>/dev/null
gn_umount "$C"
gn_mount_mem "$T/e" 64 32
E=$T/e
cmp "$T/k1" "$E/synced" || gn_fail "fsync'd file damaged by the client's SIGKILL"
cmp "$T/k2" "$E/closed" || gn_fail "closed file damaged by the client's SIGKILL"
cat "$E/dirty" >"$T/dirty.got" || gn_fail "reading the file dirty at SIGKILL fails"
n=$(stat -c %s "$T/dirty.got")
cmp -n "$n" "$T/k3" "$T/dirty.got" || gn_fail "file dirty at SIGKILL holds bytes never written (size $n)"
cat "$E/over" >"$T/over.got" || gn_fail "reading the file overwritten at SIGKILL fails"
$PY - "$T/k1" "$T/k3" "$T/over.got" <<'PYEOF' || gn_fail "overwritten file holds bytes that are neither old nor new"
import sys
old, new, got = (open(p, "rb").read() for p in sys.argv[1:])
if len(got) != len(old):
    sys.exit("size %d, expected %d" % (len(got), len(old)))
for i in range(0, len(got), 4096):	# per page: old or new
    if got[i:i + 4096] not in (old[i:i + 4096], new[i:i + 4096]):
        sys.exit("page at %d is neither" % i)
PYEOF
exit 0
