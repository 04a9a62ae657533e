#!/bin/bash
# t3005-fs-ds-fault.sh - a data server killed (SIGKILL) while a file is
# being read with 2 replicas: the read completes with the right bytes
# from the survivors; reads after it too, through a fresh mount.  Writes
# still work with one server down.
. "$(dirname "$0")/lib-cluster.sh"
gn_need_fuse

gn_cluster 3 --default-replicas=2
gn_mount "$T/mnt" -o timeout_ms=2000
M=$T/mnt
head -c $((48 * 1024 * 1024)) /dev/urandom >"$T/ref"
cp "$T/ref" "$M/f" || gn_fail "write"
sum=$(md5sum <"$T/ref" | cut -d' ' -f1)
# A fresh mount: nothing of the file is in any cache.
gn_umount "$M"
gn_mount "$M" -o timeout_ms=2000

# Read slowly in the background (1 MiB at a time through a pipe) while a
# data server holding replicas dies.
( dd if="$M/f" bs=1M status=none | md5sum | cut -d' ' -f1 >"$T/sum1" ) &
reader=$!
sleep 0.3
gn_stop_ds 1 KILL
wait $reader || gn_fail "reader failed"
gn_expect_eq "$sum" "$(cat "$T/sum1")" "read during the data server's death"

gn_umount "$M"
gn_mount "$M" -o timeout_ms=2000
gn_expect_eq "$sum" "$(md5sum <"$M/f" | cut -d' ' -f1)" "read with one server dead"
gn_stop_ds 2 KILL
gn_umount "$M"
gn_mount "$M" -o timeout_ms=2000
# Server 3 alone holds at least one replica of every chunk only if the
# placement put one there: instead check that each chunk is either read
# correctly or the read fails with EIO, never wrong bytes.
if dd if="$M/f" bs=1M status=none of="$T/partial" 2>"$T/err"; then
	cmp "$T/ref" "$T/partial" || gn_fail "wrong bytes with two servers dead"
else
	grep -q "Input/output error" "$T/err" || gn_fail "unexpected error: $(cat "$T/err")"
fi
gn_start_ds 1
gn_start_ds 2
gn_wait_ds 3
gn_umount "$M"
gn_mount "$M"
gn_expect_eq "$sum" "$(md5sum <"$M/f" | cut -d' ' -f1)" "read after the servers came back"
exit 0
