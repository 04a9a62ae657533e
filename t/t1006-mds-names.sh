#!/bin/bash
# Names that hold a NUL byte (issues #4 and #6), a '/' or too many bytes,
# sent as they are over RPC to a real gannet-mds: every request that carries
# a name refuses them with the exact errno and changes nothing.  While names
# were `string` fields, protobuf-c cut "f\0x" down to "f": Create made "a",
# Unlink removed "f", GetXattr read "user.k".  test-tool --escapes writes a
# byte as \xHH.
. "$(dirname "$0")/lib-cluster.sh"

gn_start_mds
A=$GN_MDS_ADDR
tt() { "$GN_TT" mds "$A" --escapes "$@"; }
# expect WANT cmd...: first word of the output must be WANT
expect() {
	local want=$1 got; shift
	got=$(tt "$@" 2>/dev/null | head -1 | cut -d' ' -f1)
	[ "$got" = "$want" ] || gn_fail "'$*': expected $want, got '$got'"
}
field() { tt stat "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }

tt mkdir /d >/dev/null || gn_fail "mkdir /d"
tt create /d/f >/dev/null || gn_fail "create /d/f"
tt mkdir /d/sub >/dev/null || gn_fail "mkdir /d/sub"
expect OK setxattr /d/f user.k v
snapshot() { tt status; tt ls /d; tt ls /d/sub; tt listxattr /d/f; tt getxattr /d/f user.k; }
before=$(snapshot)

# A NUL inside, at the end, alone: each request that carries a name.
expect EINVAL create '/d/a\x00b'
expect EINVAL create '/d/a\x00'
expect EINVAL create '/d/\x00'
expect EINVAL mkdir '/d/a\x00b'
expect EINVAL mknod '/d/a\x00b' 0100644
expect EINVAL symlink /t '/d/a\x00b'
expect EINVAL symlink '/t\x00/x' /d/s
expect EINVAL link /d/f '/d/a\x00b'
expect EINVAL rename /d/f '/d/a\x00b'
expect EINVAL rename '/d/f\x00x' /d/g
expect EINVAL unlink '/d/f\x00x'
expect EINVAL rmdir '/d/sub\x00x'
expect EINVAL stat '/d/f\x00x'
expect EINVAL stat '/d\x00x/f'
expect EINVAL setxattr /d/f 'user.k\x00x' w
expect EINVAL getxattr /d/f 'user.k\x00x'
expect EINVAL rmxattr /d/f 'user.k\x00x'
expect EINVAL session-open '/d\x00x'

# '/' inside a name; empty names; lengths in bytes.
expect EINVAL create '/d/a\x2fb'
expect EINVAL stat '/d/f\x2f'
expect EINVAL create /d/
expect EINVAL unlink /d/
long=$(printf 'x%.0s' $(seq 256))
expect ENAMETOOLONG create "/d/$long"
expect ENAMETOOLONG stat "/d/$long"
expect ERANGE setxattr /d/f "user.$long" w

# "." and ".." keep their meaning where they had one.
gn_expect_eq "$(field /d ino)" "$(field /d/. ino)" "lookup of '.'"
gn_expect_eq 1 "$(field /d/.. ino)" "lookup of '..'"
expect EINVAL create /d/.
expect EINVAL unlink /d/.
expect ENOTEMPTY rmdir /d/sub/..

after=$(snapshot)
gn_expect_eq "$before" "$after" "store changed by names the MDS refused"

# Every other byte may appear in a name.
odd='/d/\xff\x01\\'
ino=$(tt create "$odd" | sed -n 's/^ino=//p')
[ -n "$ino" ] || gn_fail "create of a name with odd bytes"
gn_expect_eq "$ino" "$(field "$odd" ino)" "lookup of a name with odd bytes"
expect OK unlink "$odd"
gn_expect_eq "root=$(field /d/sub ino)" "$(tt session-open /d/sub)" "session on a subdir"

gn_stop_mds
"$GN_MDS_BIN" --config=/dev/null --data-dir="$GN_MDS_DIR" --check >"$T/check.out" 2>&1 ||
	gn_fail "--check found problems: $(cat "$T/check.out")"
exit 0
