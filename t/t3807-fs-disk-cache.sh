#!/bin/bash
# t3807-fs-disk-cache.sh - the client's disk cache tier (issue #7):
# a data set three times cache_size read through a mount with cache_dir;
# remount; every data server stopped; the data set reads back byte for
# byte from the disk tier (checked by the disk hit counter too); du of
# cache_dir stays within cache_dir_size.  A corrupted block is discarded
# and read from the data servers.  A missing cache_dir: reads work, a
# warning names it.
#
# cache_size=16M with prefetch_max=4M pins whole stripes of the RAM cache
# with fills in flight; the blocks RAM cannot take must still reach the
# tier (and come back from it), or the read below fails with EIO.
. "$(dirname "$0")/lib-cluster.sh"
gn_need_fuse
gn_need_cmd python3

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
metric() {	# port name -> value (0 when absent)
	python3 - "$1" "$2" <<'PY'
import sys, urllib.request
t = urllib.request.urlopen("http://127.0.0.1:%s/metrics" % sys.argv[1]).read().decode()
v = [l.split()[1] for l in t.splitlines() if l.split(" ")[0] == sys.argv[2]]
print(int(float(v[0])) if v else 0)
PY
}
du_b() { du -sb "$1" | cut -f1; }

gn_cluster 2
gn_mount "$T/w"
head -c $((48 << 20)) /dev/urandom >"$T/orig"
cp "$T/orig" "$T/w/data" || gn_fail "copy of the data set"
gn_umount "$T/w"

DC=$T/dc
LIMIT=$((96 << 20))
mkdir "$DC"
OPTS="log_level=info,cache_size=16M,cache_dir=$DC,cache_dir_size=$LIMIT,prefetch_max=4M"
port=$(free_port)
gn_mount "$T/m" -o "$OPTS,metrics_port=$port"
# Epoch 1 from the data servers, with du sampled while it runs.
cmp "$T/orig" "$T/m/data" & cpid=$!
while kill -0 $cpid 2>/dev/null; do
	[ "$(du_b "$DC")" -le $LIMIT ] || gn_fail "cache_dir holds $(du_b "$DC") bytes > $LIMIT during a read"
	sleep 0.2
done
wait $cpid || gn_fail "epoch 1 read differs"
# Spills are dropped while the writer is behind (by design); later
# epochs spill what earlier ones dropped, until one drops nothing.
for epoch in 2 3 4 5 6 7 8; do
	before=$(metric "$port" gannet_client_disk_cache_dropped_total)
	echo 3 >/proc/sys/vm/drop_caches
	cmp "$T/orig" "$T/m/data" || gn_fail "epoch $epoch read differs"
	[ "$(metric "$port" gannet_client_disk_cache_dropped_total)" = "$before" ] && break
done
gn_umount "$T/m"
[ "$(du_b "$DC")" -le $LIMIT ] || gn_fail "cache_dir holds $(du_b "$DC") bytes > $LIMIT"

# Remount, no data server: everything comes from the disk tier.
gn_stop_ds 1
gn_stop_ds 2
port=$(free_port)
gn_mount "$T/m" -o "$OPTS,metrics_port=$port,op_timeout_ms=3000"
cmp "$T/orig" "$T/m/data" || gn_fail "read from the disk tier with every data server down differs"
hits=$(metric "$port" gannet_client_disk_cache_hits_total)
[ "$hits" -ge 768 ] || gn_fail "disk tier hits $hits, expected >= 768 (48 MiB of 64 KiB blocks)"
gn_umount "$T/m"

# Corrupt one data byte of the first record of each segment; with the
# data servers back the read is still right and the blocks were discarded.
gn_start_ds 1
gn_start_ds 2
gn_wait_ds 2
for f in "$DC"/seg-*; do
	python3 - "$f" <<'PY'
import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(512 + 64 + 1000); b = f.read(1); f.seek(512 + 64 + 1000)
    f.write(bytes([b[0] ^ 0x55]))
PY
done
port=$(free_port)
gn_mount "$T/m" -o "$OPTS,metrics_port=$port"
cmp "$T/orig" "$T/m/data" || gn_fail "read with corrupted disk cache blocks differs"
disc=$(metric "$port" gannet_client_disk_cache_discarded_total)
[ "$disc" -ge 1 ] || gn_fail "no corrupted disk cache block was discarded"
grep -q "discards a corrupted block" "$T"/fuse*.log || gn_fail "no warning about the corrupted block"
gn_umount "$T/m"

# A cache_dir that does not exist: reads work, one warning with the path.
gn_mount "$T/n" -o "cache_size=16M,cache_dir=$T/nope,cache_dir_size=$LIMIT"
cmp "$T/orig" "$T/n/data" || gn_fail "read without a usable cache_dir differs"
grep -q "disk cache off: cannot use cache_dir '$T/nope'" "$T"/fuse*.log ||
	gn_fail "no warning about the missing cache_dir"
[ -e "$T/nope" ] && gn_fail "the missing cache_dir was created"
gn_umount "$T/n"
exit 0
