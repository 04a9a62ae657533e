#!/bin/bash
# t3812-fs-replica-hangs.sh - a data server that hangs (SIGSTOP: it keeps
# its connections but answers nothing) costs the reader one deadline, not
# one per chunk it holds: once a read from it timed out, reads try the
# other replica first.  Files whose first replica is the hung server are
# read on a fresh mount; every file reads back whole, and the client's log
# shows at most two failed reads from that server (the foreground read and
# the fetch ahead of open of the first file may both wait on it), where
# each file used to add one.
. "$(dirname "$0")/lib-cluster.sh"
gn_need_fuse
PY=/usr/bin/python3
N=16

gn_cluster 3 --default-replicas=2
OPTS=timeout_ms=1500,op_timeout_ms=8000,log_level=info
gn_mount "$T/mnt" -o "$OPTS"
M=$T/mnt
ctl() { "$GN_CTL_BIN" --mds="$GN_MDS_ADDR" --timeout=5000 "$@"; }

for i in $(seq $N); do
	head -c $((256 * 1024)) /dev/urandom >"$T/ref$i"
	cp "$T/ref$i" "$M/f$i"
done
sync
# "ADDR ID" per file: the first replica of its only chunk.
for i in $(seq $N); do
	ctl --json info "$M/f$i" | $PY -c '
import json, sys
r = json.load(sys.stdin)["chunks"][0]["replicas"][0]
print(r["addr"], r["id"])'
done >"$T/first"
read -r cnt addr id < <(sort "$T/first" | uniq -c | sort -rn | head -1)
gn_log "$cnt of $N files have $addr (id $id) first"
hung=
for i in 1 2 3; do [ "${GN_DS_ADDR[$i]}" = "$addr" ] && hung=$i; done
[ -n "$hung" ] || gn_fail "no data server at $addr"
gn_umount "$M"

# A fresh mount: nothing cached; its log is the last one written.
gn_mount "$M" -o "$OPTS"
log=$T/fuse${#GN_MOUNTS[@]}.log
kill -STOP "${GN_DS_PID[$hung]}"
bad=
for i in $(seq $N); do
	cmp -s "$T/ref$i" "$M/f$i" || bad="$bad f$i"
done
kill -CONT "${GN_DS_PID[$hung]}"
[ -z "$bad" ] || gn_fail "differ with data server $hung hung:$bad"
fails=$(grep -c "replica read failed .* ds=$id err=" "$log")
gn_log "$fails failed reads from the hung data server ($cnt files have it first)"
[ "$fails" -ge 1 ] || gn_fail "no read waited on the hung data server: the test proves nothing"
[ "$fails" -le 2 ] || gn_fail "$fails reads waited on the hung data server, expected at most 2"
exit 0
