#!/bin/bash
# t3811-fs-replica-dies.sh - a data server holding one of two replicas of
# every chunk of a file is killed (SIGKILL) after the file's chunks were
# uploaded and before its fsync: fsync and close succeed (the survivors
# hold every chunk), the bytes read back on a fresh mount, and again after
# every data server was killed and restarted (what fsync acknowledged
# survives kill -9 of any daemon).
. "$(dirname "$0")/lib-cluster.sh"
gn_need_fuse
PY=/usr/bin/python3

gn_cluster 3 --default-replicas=2
gn_mount "$T/mnt" -o timeout_ms=2000,op_timeout_ms=6000
M=$T/mnt

# writer FILE REF GO OUT: write REF to FILE, wait for GO to exist, then
# fsync and close; OUT gets "fsync=<result> close=<result>".
writer() {
	$PY - "$@" <<'PY' &
import errno, os, sys, time
path, ref, go, out = sys.argv[1:5]
data = open(ref, "rb").read()
fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
os.write(fd, data)
open(out + ".written", "w").close()
while not os.path.exists(go):
    time.sleep(0.05)
def res(f):
    try:
        f()
        return "ok"
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))
r1 = res(lambda: os.fsync(fd))
r2 = res(lambda: os.close(fd))
open(out, "w").write("fsync=%s close=%s" % (r1, r2))
PY
	GN_PIDS+=($!)
	REPLY=$!
}
# settle: until nothing more is written to the data servers' stores (the
# uploads of whole chunks start at once; this waits them out).
settle() {
	local a b
	b=$(du -sb "$T"/ds[0-9] | awk '{s += $1} END {print s}')
	for _ in $(seq 50); do
		sleep 0.3
		a=$b
		b=$(du -sb "$T"/ds[0-9] | awk '{s += $1} END {print s}')
		[ "$a" = "$b" ] && return 0
	done
	gn_fail "uploads did not settle"
}

head -c $((16 * 1024 * 1024)) /dev/urandom >"$T/ref"
writer "$M/f1" "$T/ref" "$T/go" "$T/out"
w=$REPLY
gn_wait_for 20 test -e "$T/out.written" || gn_fail "the writer did not write"
settle
gn_stop_ds 1 KILL
touch "$T/go"
wait "$w"
gn_expect_eq "fsync=ok close=ok" "$(cat "$T/out")" "fsync with one replica of each chunk left"
gn_umount "$M"
gn_mount "$M" -o timeout_ms=2000,op_timeout_ms=6000
cmp -s "$T/ref" "$M/f1" || gn_fail "f1 differs on a fresh mount after the fsync"
gn_umount "$M"
gn_kill_all_ds
gn_restart_all_ds
gn_mount "$M" -o timeout_ms=2000,op_timeout_ms=6000
cmp -s "$T/ref" "$M/f1" || gn_fail "f1 differs after every data server was killed and restarted"
exit 0
