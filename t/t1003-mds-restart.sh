#!/bin/bash
# Restart persistence: namespace, xattrs, chunk maps, data-server ids and
# open-unlinked files survive a restart (SIGTERM and SIGKILL); an orphan
# whose session never comes back is reclaimed after the session timeout.
. "$(dirname "$0")/lib-cluster.sh"

gn_start_mds --session-timeout-ms=2000
A=$GN_MDS_ADDR
tt() { "$GN_TT" mds "$A" "$@"; }

id=$(tt ds-register uuid-a 127.0.0.1:9) || gn_fail "ds-register"
tt policy / 1 none >/dev/null
tt mkdir /keep 0750 >/dev/null || gn_fail mkdir
tt write /keep/f 3 777 >/dev/null || gn_fail write
tt setxattr /keep/f user.x hello >/dev/null || gn_fail setxattr
tt symlink target /keep/s >/dev/null || gn_fail symlink
chunks_before=$(tt chunks /keep/f)
out=$(tt orphan /o | tail -1) || gn_fail "orphan"
oino=$(echo "$out" | sed 's/^ino=\([0-9]*\).*/\1/')

check_all() {
	tt stat /keep | grep -q 'mode=40750' || gn_fail "$1: directory lost"
	gn_expect_eq "$chunks_before" "$(tt chunks /keep/f)" "$1: chunk map"
	gn_expect_eq hello "$(tt getxattr /keep/f user.x)" "$1: xattr"
	gn_expect_eq target "$(tt readlink /keep/s)" "$1: symlink"
	gn_expect_eq "$id" "$(tt ds-register uuid-a 127.0.0.1:9)" "$1: data server id"
}

# SIGTERM: a clean exit (status 0), then the same store again.
kill -TERM "$GN_MDS_PID"
wait "$GN_MDS_PID"
rc=$?
GN_MDS_PID=
gn_expect_eq 0 "$rc" "exit status after SIGTERM"
gn_start_mds --session-timeout-ms=2000
A=$GN_MDS_ADDR
check_all "after SIGTERM"
tt stat "#$oino" | grep -q 'nlink=0' || gn_fail "orphan reclaimed before its session timed out"

GN_RESTART_SIGNAL=KILL gn_restart_mds --session-timeout-ms=2000
A=$GN_MDS_ADDR
check_all "after SIGKILL"

gone() { tt stat "#$oino" | grep -q ENOENT; }
gn_wait_for 15 gone || gn_fail "orphan of a session that never came back not reclaimed"

gn_stop_mds
"$GN_MDS_BIN" --config=/dev/null --data-dir="$GN_MDS_DIR" --check >"$T/check.out" 2>&1 ||
	gn_fail "--check: $(cat "$T/check.out")"
exit 0
