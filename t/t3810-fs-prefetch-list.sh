#!/bin/bash
# t3810-fs-prefetch-list: a job hands the client the files it will read
# next (the gannet.prefetch xattr); the client fetches exactly those in
# the background: with every data server down they read back byte-exact,
# a file not on the list does not.  Paths are relative to the directory
# or to the mount's root; each is looked up and opened with the setter's
# credentials; a new list replaces the old; bad lists are refused.
. "$(dirname "$0")/lib-cluster.sh"

gn_need_fuse
gn_need_cmd python3
gn_other_user_may_enter
gn_cluster 3
setlist() {	# dir list [setpriv args]: set gannet.prefetch, print the errno name
	local d=$1 l=$2; shift 2
	"$@" /usr/bin/python3 -c '
import errno, os, sys
try:
    os.setxattr(sys.argv[1], "gannet.prefetch", sys.argv[2].encode().replace(b"\\0", b"\0"))
    print("OK")
except OSError as e:
    print(errno.errorcode[e.errno])' "$d" "$l"
}
status() { getfattr --absolute-names -n gannet.prefetch --only-values "$M/d"; echo; }
# settled N: the current list of N files is all fetched or failed.
settled() { read -r n f x _ < <(status); [ "$n" = "$1" ] && [ $((f + x)) = "$1" ]; }

M=$T/m
gn_mount "$M" -o allow_other
mkdir -p "$M/d/sub" && chmod 777 "$M/d"
for i in 1 2 3 4 5 6; do head -c $((300000 + i)) /dev/urandom >"$T/f$i"; cp "$T/f$i" "$M/d/f$i"; done
head -c $((6 << 20)) /dev/urandom >"$T/big"; cp "$T/big" "$M/d/sub/big"
printf s >"$M/d/secret" && chmod 600 "$M/d/secret"
gn_umount "$M"
gn_mount "$M" -o allow_other,cache_size=64M

# 1. Three files and a missing one, relative to the directory.
gn_expect_eq OK "$(setlist "$M/d" "$(printf 'f2\n./f5\n\nsub/big\nnope\n')")" "setting a list"
gn_wait_for 20 settled 4 || gn_fail "list not fetched: $(status)"
read -r n f x bytes < <(status)
gn_expect_eq "4 3 1 $((300002 + 300005 + (6 << 20)))" "$n $f $x $bytes" "files, fetched, failed, bytes"
gn_kill_all_ds
cmp -s "$M/d/f2" "$T/f2" && cmp -s "$M/d/f5" "$T/f5" && cmp -s "$M/d/sub/big" "$T/big" ||
	gn_fail "a listed file differs with the data servers down"
cat "$M/d/f3" >/dev/null 2>&1 && gn_fail "a file not on the list was fetched"
gn_restart_all_ds

# 2. Another user's list, set on a directory it may write, with paths from
# the mount's root: what that user cannot read is not fetched.
gn_expect_eq OK "$(setlist "$M/d" "$(printf '/d/f1\n/d/secret\n/d/../d/f4\n')" \
	setpriv --reuid=65534 --regid=65534 --clear-groups)" "a list set by another user"
gn_wait_for 20 settled 3 || gn_fail "second list not fetched: $(status)"
read -r n f x _ < <(status)
gn_expect_eq "3 1 2" "$n $f $x" "files, fetched, failed (unreadable, '..')"
gn_kill_all_ds
cmp -s "$M/d/f1" "$T/f1" || gn_fail "f1 of the second list differs with the data servers down"
cat "$M/d/secret" >/dev/null 2>&1 && gn_fail "a file the setter may not read was fetched"
gn_restart_all_ds

# 3. A new list replaces the old one; bad lists change nothing.
setlist "$M/d" "sub/big" >/dev/null
gn_expect_eq OK "$(setlist "$M/d" "$(printf 'f6\n')")" "a replacing list"
gn_wait_for 20 settled 1 || gn_fail "replacing list not fetched: $(status)"
gn_expect_eq ENOENT "$(setlist "$M/nope" f1)" "a list on a missing directory"
gn_expect_eq EINVAL "$(setlist "$M/d" 'f1\0f2')" "a list with a NUL"
gn_expect_eq "1 1 0" "$(status | cut -d' ' -f1-3)" "status after refused lists"
python3 -c 'import os,sys; os.setxattr(sys.argv[1], "gannet.other", b"x")' "$M/d" 2>/dev/null &&
	gn_fail "an unknown gannet.* name was accepted"
gn_umount "$M"

# 4. Without any cache there is nowhere to fetch to: refused.
gn_mount "$M" -o cache_size=0
gn_expect_eq ENOTSUP "$(setlist "$M/d" f1)" "a list without a cache"
gn_umount "$M"
exit 0
