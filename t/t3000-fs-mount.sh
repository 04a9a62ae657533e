#!/bin/bash
# t3000-fs-mount.sh - gannet-fuse and mount.gannet: --help/--version, bad
# options (exit 2), an unreachable MDS fails the mount within seconds naming
# the address, mounting through mount.gannet with fstab-style options,
# a mounted subdirectory, statfs, and SIGTERM writing back dirty data.
. "$(dirname "$0")/lib-cluster.sh"
gn_need_fuse

F=$GN_FUSE_BIN
MOUNT_GANNET=$GN_BUILD_DIR/fs/mount.gannet
mkdir -p "$T/mnt" "$T/mnt2"

"$F" --version | grep -q '^gannet-fuse (gannet) ' || gn_fail "--version output"
"$F" --help | grep -q 'writeback_limit=' || gn_fail "--help lists Gannet options"
"$MOUNT_GANNET" --help | grep -q 'usage: mount.gannet' || gn_fail "mount.gannet --help"

# An unknown option is a usage error naming the option.
"$F" -f 127.0.0.1:9400:/ "$T/mnt" -o cache_szie=1G 2>"$T/err"
gn_expect_eq 2 $? "exit status of an unknown option"
grep -q "unknown mount option 'cache_szie=1G'" "$T/err" || gn_fail "message: $(cat "$T/err")"
"$F" -f 127.0.0.1:9400:/ "$T/mnt" -o timeout_ms=abc 2>"$T/err"
gn_expect_eq 2 $? "exit status of a bad value"
"$F" -f nocolon "$T/mnt" 2>"$T/err"
gn_expect_eq 2 $? "exit status of a bad source"
GANNET_FUSE=$F "$MOUNT_GANNET" 127.0.0.1:9400:/ "$T/mnt" -o bogus 2>"$T/err"
gn_expect_eq 1 $? "mount.gannet usage error status (mount(8) convention)"

# Unreachable MDS: a port nobody listens on.  The parent (no -f) waits
# for the verdict and fails naming the address, well before op_timeout_ms.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
start=$SECONDS
"$F" "127.0.0.1:$port:/" "$T/mnt" 2>"$T/err"
rc=$?
[ $rc -ne 0 ] || gn_fail "mount of an unreachable MDS succeeded"
[ $((SECONDS - start)) -le 15 ] || gn_fail "unreachable MDS: took $((SECONDS - start)) s"
grep -q "127.0.0.1:$port" "$T/err" || gn_fail "error does not name the address: $(cat "$T/err")"
mountpoint -q "$T/mnt" && gn_fail "mounted anyway"

gn_cluster 3

# mount.gannet as mount(8) calls it, with fstab options; it returns once
# mounted (gannet-fuse goes to the background).
GN_MOUNTS+=("$T/mnt")
GANNET_FUSE=$F "$MOUNT_GANNET" "$GN_MDS_ADDR:/" "$T/mnt" \
	-o rw,_netdev,defaults,nofail,cache_size=64M,writeback_limit=32M,log_level=info ||
	gn_fail "mount.gannet failed"
mountpoint -q "$T/mnt" || gn_fail "not mounted after mount.gannet returned"
grep -q " $T/mnt fuse.gannet " /proc/mounts || gn_fail "type fuse.gannet not in /proc/mounts"
echo hello >"$T/mnt/hello" || gn_fail "write"
gn_expect_eq hello "$(cat "$T/mnt/hello")" "read back"
stat -f -c '%l' "$T/mnt" | grep -qx 255 || gn_fail "statfs namemax"
[ "$(stat -f -c '%b' "$T/mnt")" -gt 0 ] || gn_fail "statfs shows no capacity"
mkdir -p "$T/mnt/sub/dir" && echo inside >"$T/mnt/sub/dir/f" || gn_fail "mkdir -p"

# A subdirectory mount sees only that subtree.
gn_mount "$T/mnt2" -o log_level=info
gn_umount "$T/mnt2"
"$F" -f "$GN_MDS_ADDR:/sub" "$T/mnt2" >>"$T/fuse-sub.log" 2>&1 &
GN_PIDS+=($!); GN_MOUNTS+=("$T/mnt2"); subpid=$!
gn_wait_for 15 mountpoint -q "$T/mnt2" || gn_fail "subdir mount failed: $(tail -3 "$T/fuse-sub.log")"
gn_expect_eq inside "$(cat "$T/mnt2/dir/f")" "file in the mounted subdirectory"
[ -e "$T/mnt2/hello" ] && gn_fail "subdir mount shows the parent's files"
fusermount3 -u "$T/mnt2"; wait $subpid

# A missing subdirectory fails the mount.
"$F" -f "$GN_MDS_ADDR:/nosuchdir" "$T/mnt2" 2>"$T/err" && gn_fail "mount of a missing subdir"
grep -qi "no such file" "$T/err" || gn_fail "missing subdir message: $(cat "$T/err")"

# SIGTERM writes back what is dirty before exiting: data written but
# never closed survives and is found by a new mount.
gn_mount "$T/mnt2"
exec 3>"$T/mnt2/dirty"
printf 'unflushed-data' >&3
kill -TERM "${GN_MOUNT_PID[$T/mnt2]}"
wait "${GN_MOUNT_PID[$T/mnt2]}"
exec 3>&-
mountpoint -q "$T/mnt2" && umount -l "$T/mnt2"
gn_expect_eq unflushed-data "$(cat "$T/mnt/dirty")" "dirty data after SIGTERM"

fusermount3 -u "$T/mnt" || gn_fail "unmount"
exit 0
