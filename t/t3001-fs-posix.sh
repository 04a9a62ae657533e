#!/bin/bash
# t3001-fs-posix.sh - POSIX behaviour matrix with exact errno values
# (t/helper/fs-posix.py): open flags, directories, the rename matrix,
# hard and symbolic links, xattrs, chmod/chown/utimens, truncate, sparse
# files with SEEK_DATA/SEEK_HOLE, open-unlinked files.  The same checker
# passes on ext4.  Then the attributes are checked again after a remount.
. "$(dirname "$0")/lib-cluster.sh"
gn_need_fuse

gn_cluster 3
gn_mount "$T/mnt"
mkdir "$T/mnt/posix"
python3 "$GN_SRC_DIR/t/helper/fs-posix.py" "$T/mnt/posix" >"$T/posix.out" 2>&1 ||
	gn_fail "POSIX matrix: $(head -20 "$T/posix.out")"

# Persistence: what the matrix left behind, seen by a fresh mount.
stat -c '%a %s' "$T/mnt/posix/attr/f" >"$T/before"
ls -la --time-style=+%s.%N -R "$T/mnt/posix" | awk '{$1=$1};1' >"$T/ls-before"
gn_umount "$T/mnt"
gn_mount "$T/mnt"
stat -c '%a %s' "$T/mnt/posix/attr/f" >"$T/after"
ls -la --time-style=+%s.%N -R "$T/mnt/posix" | awk '{$1=$1};1' >"$T/ls-after"
cmp -s "$T/before" "$T/after" || gn_fail "attributes changed across remount"
diff "$T/ls-before" "$T/ls-after" >"$T/ls-diff" || gn_fail "tree changed across remount: $(head "$T/ls-diff")"
gn_expect_eq "Z" "$(tail -c 1 "$T/mnt/posix/sparse/sparse")" "sparse file tail after remount"
exit 0
