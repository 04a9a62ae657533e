#!/bin/bash
# t2006-ds-garbage: versions the MDS no longer maps (overwritten, truncated
# away, unlinked) leave the data servers through the deletions their
# heartbeats bring, and stay gone after kill -9 of every data server; the
# versions still mapped are untouched and read back byte-exact.
. "$(dirname "$0")/lib-cluster.sh"

gn_need_fuse
gn_need_cmd python3
gn_cluster 3
ctl() { "$GN_CTL_BIN" --mds="$GN_MDS_ADDR" --timeout=5000 "$@"; }
M=$T/m
gn_mount "$M"

for i in 1 2 3 4; do head -c $((10 * 1048576 + i * 777)) /dev/urandom >"$T/src$i"; done
for i in 1 2 3 4; do cp "$T/src$i" "$M/f$i" || gn_fail "write f$i"; done
cp "$T/src4" "$M/f1" || gn_fail "overwrite f1"
truncate -s 5000000 "$M/f2" || gn_fail "truncate f2"
truncate -s 5000000 "$T/src2"
rm "$M/f3" || gn_fail "unlink f3"
# f4 untouched.

# garbage N: fsck's count of replicas no file maps.
garbage() {
	ctl --json fsck >"$T/fsck.json"
	python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(j["garbage"], j["errors"])' \
		"$T/fsck.json"
}
no_garbage() { [ "$(garbage)" = "0 0" ]; }
gn_wait_for 30 no_garbage ||
	gn_fail "superseded versions still on the data servers (garbage, errors: $(garbage))"
listed() { for i in 1 2 3; do "$GN_TT" ds-list "${GN_DS_ADDR[$i]}"; done | wc -l; }
before=$(listed)
# f1 3 chunks, f2 2, f4 3, with the default 2 replicas.
gn_expect_eq 16 "$before" "chunk versions on the data servers"

gn_kill_all_ds
gn_restart_all_ds
gn_expect_eq "$before" "$(listed)" "chunk versions after kill -9 of every data server"
gn_expect_eq "0 0" "$(garbage)" "garbage and errors after kill -9"

gn_umount "$M"
gn_mount "$M"
cmp -s "$M/f1" "$T/src4" || gn_fail "f1 differs after its old versions went"
cmp -s "$M/f2" "$T/src2" || gn_fail "f2 differs after truncate"
cmp -s "$M/f4" "$T/src4" || gn_fail "f4 differs"
[ -e "$M/f3" ] && gn_fail "f3 still there"
gn_log "$before chunk versions left, none of them garbage"
exit 0
