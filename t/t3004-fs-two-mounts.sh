#!/bin/bash
# t3004-fs-two-mounts.sh - two client processes on one cluster:
# close-to-open (write+close on A, open+read on B, also after B cached the
# old bytes), size changes, rename and unlink seen across, chmod seen after
# the lease recall, appends from both sides.
. "$(dirname "$0")/lib-cluster.sh"
gn_need_fuse

gn_cluster 3
gn_mount "$T/a"
gn_mount "$T/b"
A=$T/a B=$T/b

printf 'version-1' >"$A/f"
gn_expect_eq version-1 "$(cat "$B/f")" "B reads what A closed"
# Same size, new bytes: B's cached pages must be dropped at open.
printf 'version-2' >"$A/f"
gn_expect_eq version-2 "$(cat "$B/f")" "B reads A's overwrite"
# Longer, then shorter.
head -c 5000000 /dev/urandom >"$T/ref"
cp "$T/ref" "$A/f"
cmp "$T/ref" "$B/f" || gn_fail "B reads A's 5 MB rewrite"
printf 'short' >"$A/f"
gn_expect_eq short "$(cat "$B/f")" "B sees the file shrink"
gn_expect_eq 5 "$(stat -c %s "$B/f")" "B's stat size after shrink"
# fstat of a fresh handle: B's kernel held the old size (open may keep
# only attributes that are current).
fsize() { python3 -c 'import os, sys; print(os.fstat(os.open(sys.argv[1], os.O_RDONLY)).st_size)' "$1"; }
gn_expect_eq 5 "$(fsize "$B/f")" "B's fstat after open"
printf 'longer' >>"$A/f"
gn_expect_eq 11 "$(fsize "$B/f")" "B's fstat after open, once A appended"
gn_expect_eq 11 "$(fsize "$B/f")" "B's fstat after a second open"
printf 'short' >"$A/f"
# B writes, A reads (both directions), also through a handle A opened
# before B's write? No: close-to-open only promises a new open.
printf 'from-b' >>"$B/f"
gn_expect_eq shortfrom-b "$(cat "$A/f")" "A reads B's append"

# A listing hands B each small file's chunk 0, which B fetches while its
# Open is in flight: after A rewrites one file in place (same size) and
# replaces another, B must read the new bytes, not the listed versions.
mkdir "$A/h"
for i in 1 2 3; do head -c 100000 /dev/urandom >"$T/h$i"; cp "$T/h$i" "$A/h/f$i"; done
ls -l "$B/h" >/dev/null
cmp "$T/h3" "$B/h/f3" || gn_fail "B reads a listed file"
head -c 100000 /dev/urandom >"$T/h1"; cp "$T/h1" "$A/h/f1"
head -c 100000 /dev/urandom >"$T/h2"; cp "$T/h2" "$A/h/n2"; mv "$A/h/n2" "$A/h/f2"
head -c 100000 /dev/urandom >"$T/h3"; cp "$T/h3" "$A/h/f3"
cmp "$T/h1" "$B/h/f1" || gn_fail "B reads A's rewrite, not the listed version"
cmp "$T/h2" "$B/h/f2" || gn_fail "B reads the file that replaced the listed one"
cmp "$T/h3" "$B/h/f3" || gn_fail "B reads A's rewrite of a file B had read"
# The same for the chunk 0 a Lookup gives (no listing).
head -c 100000 /dev/urandom >"$T/h4"; cp "$T/h4" "$A/h/f4"
stat "$B/h/f4" >/dev/null
head -c 100000 /dev/urandom >"$T/h4"; cp "$T/h4" "$A/h/f4"
cmp "$T/h4" "$B/h/f4" || gn_fail "B reads A's rewrite of a file B had looked up"
# A shrink and regrow keeps the chunk's version and shortens it in place:
# past the cut B must read zeros, not the listed bytes.
ls -l "$B/h" >/dev/null
truncate -s 50000 "$A/h/f4"; truncate -s 100000 "$A/h/f4"
head -c 50000 "$T/h4" >"$T/h5"; head -c 50000 /dev/zero >>"$T/h5"
cmp "$T/h5" "$B/h/f4" || gn_fail "B reads zeros past A's shrink and regrow"
rm -r "$A/h"

# Namespace changes are seen across (entry leases recalled).
ls "$B" >/dev/null
mv "$A/f" "$A/g"
[ -e "$B/f" ] && gn_fail "B still sees the old name after rename"
gn_expect_eq shortfrom-b "$(cat "$B/g")" "B reads the renamed file"
rm "$A/g"
[ -e "$B/g" ] && gn_fail "B still sees an unlinked file"
mkdir "$A/d"; touch "$A/d/x"
gn_expect_eq x "$(ls "$B/d")" "B lists A's new directory"
rm "$A/d/x"; rmdir "$A/d"
[ -d "$B/d" ] && gn_fail "B still sees a removed directory"

# Attributes: chmod on A is seen by B, which had the attributes cached.
touch "$A/m"
stat -c %a "$B/m" >/dev/null
chmod 600 "$A/m"
gn_expect_eq 600 "$(stat -c %a "$B/m")" "B sees chmod after the lease recall"
chmod 640 "$B/m"
gn_expect_eq 640 "$(stat -c %a "$A/m")" "A sees B's chmod"
setfattr -n user.k -v v1 "$A/m" 2>/dev/null || python3 -c 'import os,sys; os.setxattr(sys.argv[1], "user.k", b"v1")' "$A/m"
gn_expect_eq v1 "$(python3 -c 'import os,sys; print(os.getxattr(sys.argv[1], "user.k").decode())' "$B/m")" "xattr across"

# A file kept open on B while A replaces it by rename: B's handle keeps
# the old bytes, a new open on B gets the new file.
printf old >"$A/r"
exec 4<"$B/r"
printf new >"$A/r.tmp"
mv "$A/r.tmp" "$A/r"
gn_expect_eq old "$(cat <&4)" "B's open handle keeps the replaced file"
exec 4<&-
gn_expect_eq new "$(cat "$B/r")" "B's new open sees the rename"
exit 0
