#!/bin/bash
# t3806-fs-memory-bound: the client's resident memory stays below
# cache_size + writeback_limit + 64 MiB under a mixed read stress, and the
# disk tier stays within cache_dir_size (issue #7).
#
# A client mounted with cache_size=64M, writeback_limit=32M and a 48 MiB
# cache_dir runs, all at once:
# - 4 sequential readers of 4 different 64 MiB files (prefetch streams);
# - 4 readers of one shared 64 MiB file (one inode, several streams);
# - 2 O_DIRECT random readers (4 KiB and 128 KiB) of those files;
# - a process holding 300 small files open and reading them twice;
# - 4 writers of new 64 MiB files (write-back buffers full, uploads busy).
# Every reader compares its bytes with a local copy, and the new files are
# compared after the stress.  The sequential
# readers then run a second time after the page cache is dropped (from
# the RAM cache, the disk tier and the data servers).  The peak RSS (sampled VmRSS and VmHWM) must stay
# below the bound, du of cache_dir below its size.  (The write-back
# bound alone is t3805's.)
. "$(dirname "$0")/lib-cluster.sh"
gn_need_fuse
PY=/usr/bin/python3
QM=$GN_SRC_DIR/t/helper/qa-memory.py

gn_cluster 3
gn_mount "$T/w"
W=$T/w
for f in big0 big1 big2 big3 shared; do
	head -c $((64 << 20)) /dev/urandom >"$T/$f.ref"
	cp "$T/$f.ref" "$W/$f" || gn_fail "writing $f"
done
mkdir "$W/small" && $PY "$QM" mkfiles "$W/small" 300 65536 || gn_fail "writing the small files"
gn_umount "$W"

DC=$T/cdir LIMIT=$((48 << 20))
mkdir -p "$DC"
gn_mount_mem "$T/c" 64 32 "cache_dir=$DC,cache_dir_size=$LIMIT"
C=$T/c
pid=${GN_MOUNT_PID[$C]}

du_b() { du -sb "$1" | cut -f1; }
names=() pids=()
run() {	# name cmd...: start cmd in the background, its stderr in $T/name.err
	local n=$1; shift
	"$@" 2>"$T/$n.err" &
	names+=("$n") pids+=($!)
}
reap() {	# wait for every started process; fail naming the first failure
	local i
	for i in "${!pids[@]}"; do
		wait "${pids[$i]}" || gn_fail "${names[$i]} failed: $(head -c 300 "$T/${names[$i]}.err")"
	done
	names=() pids=()
}

sync; echo 3 >/proc/sys/vm/drop_caches
for i in 0 1 2 3; do
	run "seq$i" cmp "$T/big$i.ref" "$C/big$i"
	run "shared$i" cmp "$T/shared.ref" "$C/shared"
done
run rand4k $PY "$QM" randread "$C/big0" "$T/big0.ref" 4096 3000 1
run rand128k $PY "$QM" randread "$C/big2" "$T/big2.ref" 131072 400 2
run holdopen $PY "$QM" holdopen "$C/small" 300 2
for i in 0 1 2 3; do
	run "write$i" dd if="$T/big$i.ref" of="$C/new$i" bs=1M conv=fsync status=none
done
gn_rss_peak "$pid" "${pids[@]}"
reap
peak1=$GN_RSS_PEAK
for i in 0 1 2 3; do
	cmp -s "$T/big$i.ref" "$C/new$i" || gn_fail "new$i written under the stress differs"
done
gn_log "mixed stress: client peak RSS $peak1 KiB, bound $GN_MEM_BOUND KiB$GN_MEM_NOTE; cache_dir $(du_b "$DC") bytes"
[ "$peak1" -lt "$GN_MEM_BOUND" ] ||
	gn_fail "client peak RSS $peak1 KiB under the mixed stress exceeds cache_size + writeback_limit + 64 MiB = $GN_MEM_BOUND KiB$GN_MEM_NOTE"
[ "$(du_b "$DC")" -le $LIMIT ] || gn_fail "cache_dir holds $(du_b "$DC") bytes > $LIMIT"

# Second pass of the sequential readers, page cache dropped: blocks come
# from the RAM cache, the disk tier or the data servers.
sync; echo 3 >/proc/sys/vm/drop_caches
for i in 0 1 2 3; do
	run "again$i" cmp "$T/big$i.ref" "$C/big$i"
done
gn_rss_peak "$pid" "${pids[@]}"
reap
gn_log "second pass: client peak RSS $GN_RSS_PEAK KiB; cache_dir $(du_b "$DC") bytes"
[ "$GN_RSS_PEAK" -lt "$GN_MEM_BOUND" ] ||
	gn_fail "client peak RSS $GN_RSS_PEAK KiB in the second pass exceeds $GN_MEM_BOUND KiB$GN_MEM_NOTE"
[ "$(du_b "$DC")" -le $LIMIT ] || gn_fail "cache_dir holds $(du_b "$DC") bytes > $LIMIT after the second pass"
exit 0
