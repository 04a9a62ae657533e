#!/bin/bash
# Namespace operations over RPC against a real gannet-mds: success and
# exact errnos, permissions, rename flags, xattrs, bad input changing
# nothing, and a clean --check at the end.
. "$(dirname "$0")/lib-cluster.sh"

gn_start_mds
A=$GN_MDS_ADDR
tt() { "$GN_TT" mds "$A" "$@"; }
# expect WANT cmd...: first word of the output must be WANT
expect() {
	local want=$1 got; shift
	got=$(tt "$@" 2>/dev/null | head -1 | cut -d' ' -f1)
	[ "$got" = "$want" ] || gn_fail "'$*': expected $want, got '$got'"
}
field() { tt stat "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }

expect ino=2 mkdir /d 0755
expect EEXIST mkdir /d
expect ENOENT mkdir /nope/x
expect ino=3 create /d/f
expect EEXIST create /d/f excl
expect ENOTDIR mkdir /d/f/x
expect ENOENT stat /d/missing
expect ENOENT stat '#999999'

# names
long=$(printf 'x%.0s' $(seq 256))
expect ENAMETOOLONG mkdir "/d/$long"
expect EINVAL mkdir /d/..
expect EINVAL rename /d/f /d/..
expect ino=4 mkdir "/d/${long:1}"

# link counts
gn_expect_eq 3 "$(field /d nlink)" "nlink of /d with one subdirectory"
expect ino=3 link /d/f /d/hard
gn_expect_eq 2 "$(field /d/f nlink)" "nlink after link"
expect EPERM link /d /d2
expect OK unlink /d/hard
gn_expect_eq 1 "$(field /d/f nlink)" "nlink after unlink"

# rmdir / unlink type errors
expect ENOTEMPTY rmdir /d
expect EISDIR unlink "/d/${long:1}"
expect ENOTDIR rmdir /d/f
expect OK rmdir "/d/${long:1}"

# symlinks
expect ino=5 symlink /some/where /d/s
gn_expect_eq /some/where "$(tt readlink /d/s)" "readlink"
expect EINVAL readlink /d/f

# rename matrix
tt mkdir /r >/dev/null; tt mkdir /r/a >/dev/null; tt mkdir /r/b >/dev/null
tt create /r/f1 >/dev/null; tt create /r/f2 >/dev/null; tt create /r/b/in >/dev/null
expect EEXIST rename /r/f1 /r/f2 1
expect EINVAL rename /r/f1 /r/f2 3
expect OK rename /r/f1 /r/f2 2
expect ENOENT rename /r/f1 /r/none 2
expect ENOTDIR rename /r/a /r/f2
expect EISDIR rename /r/f2 /r/a
expect ENOTEMPTY rename /r/a /r/b
expect EINVAL rename /r /r/a/x
expect OK rename /r/f2 /r/f1
expect ENOENT stat /r/f2
expect OK rename /r/a /r/b/in2
gn_expect_eq 3 "$(field /r nlink)" "nlink of /r after moving a dir out"
gn_expect_eq 3 "$(field /r/b nlink)" "nlink of /r/b after moving a dir in"

# permissions: uid 1000 in a root 0755 dir, then a sticky dir
expect EACCES --uid=1000 --gid=1000 mkdir /d/u
tt chmod /d 01777 >/dev/null || gn_fail "chmod 1777"
tt --uid=1000 --gid=1000 create /d/mine >/dev/null || gn_fail "create as 1000 in 1777"
expect EPERM --uid=2000 --gid=2000 unlink /d/mine
expect EPERM --uid=2000 --gid=2000 chmod /d/mine 0777
expect EPERM --uid=1000 --gid=1000 chown /d/mine 2000 -1
expect EPERM --uid=1000 --gid=1000 chown /d/mine -1 3000
tt --uid=1000 --gid=1000 --groups=3000 chown /d/mine -1 3000 >/dev/null ||
	gn_fail "chgrp to a supplementary group"
gn_expect_eq 3000 "$(field /d/mine gid)" "gid after chgrp"
expect EPERM --uid=2000 --gid=2000 utime /d/mine 1 2
expect EACCES --uid=2000 --gid=2000 utime /d/mine now now
tt --uid=1000 --gid=1000 utime /d/mine 1000000000 2000000000 >/dev/null || gn_fail "utime by owner"
gn_expect_eq 2000000000 "$(field /d/mine mtime)" "explicit mtime"
tt --uid=1000 --gid=1000 mkdir /d/priv 0700 >/dev/null
expect EACCES --uid=2000 --gid=2000 stat /d/priv/x
expect OK --uid=1000 --gid=1000 unlink /d/mine

# mknod
expect EPERM --uid=1000 --gid=1000 mknod /d/chr 020644 259
tt mknod /d/chr 020644 259 >/dev/null || gn_fail "mknod by root"
gn_expect_eq 259 "$(field /d/chr rdev)" "rdev of a device node"
tt mknod /d/fifo 010644 >/dev/null || gn_fail "mkfifo"

# xattrs
expect OK setxattr /d/f user.k v1 1
expect EEXIST setxattr /d/f user.k v2 1
expect ENODATA setxattr /d/f user.none v 2
expect OK setxattr /d/f user.k v2 2
gn_expect_eq v2 "$(tt getxattr /d/f user.k)" "xattr value"
expect E2BIG setxattr-size /d/f user.big 65537
expect OK setxattr-size /d/f user.big 65536
expect EOPNOTSUPP setxattr /d/f trusted.k v
gn_expect_eq "user.big user.k" "$(tt listxattr /d/f | tr '\n' ' ' | sed 's/ $//')" "listxattr"
expect OK rmxattr /d/f user.k
expect ENODATA getxattr /d/f user.k

# bad input changes nothing: same listing and inode count before/after
before=$(tt status; tt ls /d)
expect EINVAL mkdir /d/.
expect ENAMETOOLONG create "/d/$long"
expect E2BIG setxattr-size /d/f user.huge 100000
expect ENOENT setxattr '#424242' user.a b
expect ENOENT rename /d/none /d/x
for m in Lookup Mkdir Rename SetXattr CommitWrite DsRegister; do
	got=$(tt malformed "$m" 2>/dev/null)
	case $got in EBADMSG|EINVAL|GN_ERR_BADMSG) ;; *) gn_fail "malformed $m: got '$got'";; esac
done
after=$(tt status; tt ls /d)
gn_expect_eq "$before" "$after" "store changed by rejected requests"

# readdir with small pages sees everything once
for i in $(seq 1 30); do tt create /d/many$i >/dev/null; done
gn_expect_eq 30 "$(tt ls /d 4 | grep -c '^many')" "entries listed with 4 per page"

gn_stop_mds
"$GN_MDS_BIN" --config=/dev/null --data-dir="$GN_MDS_DIR" --check >"$T/check.out" 2>&1 ||
	gn_fail "--check found problems: $(cat "$T/check.out")"
exit 0
