#!/bin/bash
# t3809-fs-warmup: gannetctl warmup loads a tree (files of one and of
# several chunks, empty, sparse, symlinked) into the client's caches: then
# every byte reads back with every data server down.  With a disk tier
# larger than RAM it all goes there and survives a remount.  What does not
# fit is reported (exit 1, per file, --json); a caller who may not read a
# file cannot warm it; a path off any gannet mount is refused.
. "$(dirname "$0")/lib-cluster.sh"

gn_need_fuse
gn_need_cmd python3
gn_other_user_may_enter
gn_cluster 3
warm() { "$GN_CTL_BIN" --config=/dev/null warmup "$@"; }
json() {	# file expr: evaluate expr on the parsed object j
	python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}
# same DIR: every file of the source tree reads back identical under DIR.
same() {
	(cd "$T/src" && find . -type f) | while read -r f; do
		cmp -s "$T/src/$f" "$1/$f" || { echo "$f"; return 1; }
	done
}

M=$T/m
gn_mount "$M" -o allow_other
mkdir -p "$T/src/sub"
for i in $(seq 12); do head -c $((100000 + i * 5000)) /dev/urandom >"$T/src/small$i"; done
head -c $((9 << 20)) /dev/urandom >"$T/src/sub/big"
: >"$T/src/empty"
truncate -s $((12 << 20)) "$T/src/sub/sparse"
printf 'tail' | dd of="$T/src/sub/sparse" bs=1 seek=$((11 << 20)) conv=notrunc 2>/dev/null
mkdir "$M/data" && cp -a "$T/src/." "$M/data/" || gn_fail "copy of the tree"
ln -s /etc "$M/data/sub/link"	# not followed
printf s >"$M/secret" && chmod 600 "$M/secret"
gn_umount "$M"

# 1. RAM only: everything fits; with the data servers down it is all read
# from the cache.  Without default_permissions, so that the refusal in 2
# is the client's and its MDS's, not the kernel's.
gn_mount "$M" -o allow_other,no_default_permissions,cache_size=64M
warm "$M/data" >"$T/out" || gn_fail "warmup failed: $(cat "$T/out")"
grep -q "^15 files, .* cached" "$T/out" || gn_fail "warmup summary: $(cat "$T/out")"
warm --json "$M/data/sub" "$M/data/small1" >"$T/out.json" || gn_fail "warmup --json failed"
gn_expect_eq "(3, True, 0, 0)" \
	"$(json "$T/out.json" '(j["files"], j["cached_bytes"] == j["bytes"], len(j["not_cached"]), len(j["failed"]))')" \
	"warmup --json of a subtree and a file"
gn_expect_eq "$((9 << 20)) $((9 << 20))" "$(getfattr --absolute-names -n gannet.cached --only-values "$M/data/sub/big")" \
	"gannet.cached of a warm file"
read -r c t < <(getfattr --absolute-names -n gannet.cached --only-values "$M/data/sub/sparse")
[ "$c" = "$t" ] && [ "$t" -le $((4 << 20)) ] ||
	gn_fail "sparse file: $c of $t bytes cached (its holes must cost nothing)"
gn_kill_all_ds
bad=$(same "$M/data") || gn_fail "$bad differs with the data servers down"
gn_restart_all_ds

# 2. Permission and bad paths.
setpriv --reuid=65534 --regid=65534 --clear-groups "$GN_CTL_BIN" --config=/dev/null \
	warmup "$M/secret" >"$T/out" 2>&1 && gn_fail "another user warmed a 0600 file"
grep -q "Permission denied" "$T/out" || gn_fail "no EACCES for another user: $(cat "$T/out")"
warm "$T/src" >"$T/out" 2>&1 && gn_fail "warmup of a local directory succeeded"
grep -q "is not on a gannet mount" "$T/out" || gn_fail "local directory: $(cat "$T/out")"
warm "$M/nope" >"$T/out" 2>&1 && gn_fail "warmup of a missing path succeeded"
warm >/dev/null 2>&1; gn_expect_eq 2 $? "exit status without a path"
warm --parallel=0 "$M/data" >/dev/null 2>&1; gn_expect_eq 2 $? "exit status of --parallel=0"
gn_umount "$M"

# 3. A RAM cache smaller than the tree and no disk tier: what did not fit
# is reported, per file, exit 1.
gn_mount "$M" -o cache_size=4M
warm --json "$M/data" >"$T/out.json"
gn_expect_eq 1 $? "exit status when the tree does not fit"
python3 - "$T/out.json" <<'PY' || gn_fail "not_cached report: $(cat "$T/out.json")"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["cached_bytes"] < j["bytes"], j
assert j["not_cached"], j
assert all(f["cached_bytes"] < f["bytes"] for f in j["not_cached"]), j
assert sum(f["bytes"] - f["cached_bytes"] for f in j["not_cached"]) == j["bytes"] - j["cached_bytes"], j
PY
warm "$M/data" >"$T/out"
grep -q "^not cached: $M/data/" "$T/out" || gn_fail "text report: $(cat "$T/out")"
grep -q "files did not fit in the cache" "$T/out" || gn_fail "text summary: $(cat "$T/out")"
gn_umount "$M"

# 4. RAM smaller than the tree, a disk tier larger: all of it is cached
# (exit 0), and after a remount read back with the data servers down.
mkdir "$T/dc"
OPTS=cache_size=4M,cache_dir=$T/dc,cache_dir_size=64M
gn_mount "$M" -o "$OPTS"
warm --parallel=2 "$M/data" >"$T/out" || gn_fail "warmup into the disk tier: $(cat "$T/out")"
gn_umount "$M"
gn_mount "$M" -o "$OPTS"
gn_kill_all_ds
bad=$(same "$M/data") || gn_fail "$bad differs from the disk tier after a remount"
gn_umount "$M"
gn_log "RAM, disk tier, reports and refusals checked"
exit 0
