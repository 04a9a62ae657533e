#!/bin/bash
# t3003-fs-data.sh - data integrity: random-offset random-size writes
# against a reference file on local disk (compared before and after a
# remount), files of many chunks, concurrent writers on different files,
# shared writable mmap, overwrite in place, truncate of a buffered file.
. "$(dirname "$0")/lib-cluster.sh"
gn_need_fuse

RIO="python3 $GN_SRC_DIR/t/helper/fs-randio.py"
gn_cluster 3 --default-replicas=2
gn_mount "$T/mnt" -o writeback_limit=16M
M=$T/mnt
mkdir "$T/ref"

# Random writes over ~3 chunks with holes, reads of own writes mixed in.
$RIO write "$M/rand" "$T/ref/rand" 250 12000000 200000 1 ||
	gn_fail "random writes differ from the reference"
# Small random writes (a database's pattern) within one chunk.
$RIO write "$M/small" "$T/ref/small" 1000 1000000 4096 2 ||
	gn_fail "small random writes differ"
# Scattered small writes over committed data in a zstd directory: each
# chunk's writes go out as one version carrying many ranges on top of a
# compressed base, through a chain of two; every byte between the ranges
# must stay the base's.
mkdir "$M/z" "$T/ref/z" || gn_fail "mkdir z"
"$GN_CTL_BIN" --mds="$GN_MDS_ADDR" --timeout=5000 policy set /z --compression zstd >/dev/null ||
	gn_fail "policy set /z"
yes "gannet checkpoint shard, tensor row" | head -c 9000000 >"$T/ref/z/zbase"
cp "$T/ref/z/zbase" "$M/z/zbase" || gn_fail "cp zbase"
$RIO write "$M/z/zbase" "$T/ref/z/zbase" 3000 9000000 300 4 ||
	gn_fail "scattered writes over a compressed base differ"

# Many chunks, sequential, written by dd with odd block sizes.
head -c $((41 * 1024 * 1024 + 12345)) /dev/urandom >"$T/ref/big"
dd if="$T/ref/big" of="$M/big" bs=3M status=none || gn_fail "dd to the mount"
cmp "$T/ref/big" "$M/big" || gn_fail "big file differs"
# Overwrite a range in the middle of an existing file (partial chunk
# write on top of the current version).
dd if=/dev/urandom of="$T/patch" bs=100000 count=3 status=none
dd if="$T/patch" of="$M/big" bs=300000 seek=5000000 oflag=seek_bytes conv=notrunc status=none
dd if="$T/patch" of="$T/ref/big" bs=300000 seek=5000000 oflag=seek_bytes conv=notrunc status=none
cmp "$T/ref/big" "$M/big" || gn_fail "overwrite in place differs"

# Concurrent writers on different files.
for i in 1 2 3 4; do
	head -c $((9 * 1024 * 1024 + i * 777)) /dev/urandom >"$T/ref/c$i"
done
pids=
for i in 1 2 3 4; do
	cp "$T/ref/c$i" "$M/c$i" &
	pids="$pids $!"
done
# (a bare `wait` would wait for the daemons too)
for p in $pids; do wait "$p" || gn_fail "concurrent writer failed"; done
for i in 1 2 3 4; do
	cmp "$T/ref/c$i" "$M/c$i" || gn_fail "concurrent writer $i"
done

# Shared writable mapping (msync + fsync), and mmap reads of a big file.
$RIO mmap "$M/mapped" "$T/ref/mapped" 9000000 3 || gn_fail "shared mmap writes differ"
python3 -c '
import mmap, sys, hashlib
f = open(sys.argv[1], "rb"); m = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)
print(hashlib.md5(m).hexdigest())' "$M/big" >"$T/md5-mmap"
gn_expect_eq "$(md5sum <"$T/ref/big" | cut -d' ' -f1)" "$(cat "$T/md5-mmap")" "mmap read"

# Truncate while writes are buffered: the tail must not come back.
python3 -c '
import os, sys
fd = os.open(sys.argv[1], os.O_CREAT | os.O_RDWR, 0o644)
os.write(fd, b"A" * 6000000)
os.ftruncate(fd, 1000)
os.pwrite(fd, b"B", 3000000)
os.close(fd)' "$M/trunc"
python3 -c '
import sys
d = open(sys.argv[1], "rb").read()
sys.exit(0 if d == b"A" * 1000 + b"\0" * (3000000 - 1000) + b"B" else 1)' "$M/trunc" ||
	gn_fail "truncate of buffered data"

# Everything again through a fresh mount (no client state at all).
gn_umount "$M"
gn_mount "$M"
for f in rand small z/zbase big c1 c2 c3 c4 mapped; do
	$RIO cmp "$M/$f" "$T/ref/$f" || gn_fail "$f differs after remount"
done

# One close publishes more chunks than one allocation call may ask for
# (a checkpoint over 1 GiB): 300 chunks touched by one byte each.
/usr/bin/python3 - "$M/wide" <<'PYEOF' || gn_fail "close of a file with 300 dirty chunks"
import os, sys
fd = os.open(sys.argv[1], os.O_CREAT | os.O_WRONLY, 0o644)
for i in range(300):
    os.pwrite(fd, bytes([i % 251 + 1]), i * (4 << 20))
os.close(fd)
fd = os.open(sys.argv[1], os.O_RDONLY)
for i in range(300):
    if os.pread(fd, 1, i * (4 << 20)) != bytes([i % 251 + 1]):
        sys.exit("chunk %d lost" % i)
PYEOF
exit 0
