#!/bin/bash
# t3002-fs-perm.sh - permission checks for an unprivileged user (setpriv,
# uid/gid 65534 with supplementary group 4242) against files of root:
# EACCES/EPERM exactly as on a local filesystem, including FIFOs (checked
# by the kernel under default_permissions), sticky directories and access
# through a supplementary group.
. "$(dirname "$0")/lib-cluster.sh"
gn_need_fuse
gn_other_user_may_enter
gn_cluster 3
gn_mount "$T/mnt" -o allow_other
D=$T/mnt/perm
mkdir -m 755 "$D" && cd "$D" || gn_fail "set-up"
printf public >public && chmod 644 public
printf s >secret && chmod 600 secret
mkdir -m 700 private && touch private/f
mkdir -m 300 wronly
mkfifo -m 644 fifo
mkdir -m 1777 sticky && touch sticky/rootfile && chmod 666 sticky/rootfile
touch mine && chown 65534:65534 mine
printf group >groupfile && chown 0:4242 groupfile && chmod 640 groupfile
cd /
# The kernel's attribute cache must not matter: run twice, the second
# time with every attribute freshly leased.
for i in 1 2; do
	setpriv --reuid=65534 --regid=65534 --groups=4242 \
		/usr/bin/python3 "$GN_SRC_DIR/t/helper/fs-posix.py" "$D" perm \
		>"$T/perm.out" 2>&1 || gn_fail "run $i: $(head -20 "$T/perm.out")"
	rm -f "$D/mine"; touch "$D/mine"; chown 65534:65534 "$D/mine"
done
# Without supplementary groups the group file is unreadable.
setpriv --reuid=65534 --regid=65534 --clear-groups cat "$D/groupfile" 2>/dev/null &&
	gn_fail "group file readable without the group"
# The MDS itself enforces permissions (no default_permissions): the same
# secret stays secret.
gn_mount "$T/mnt2" -o allow_other,no_default_permissions
setpriv --reuid=65534 --regid=65534 --clear-groups cat "$T/mnt2/perm/secret" 2>/dev/null &&
	gn_fail "MDS let another user read a 0600 file"
setpriv --reuid=65534 --regid=65534 --clear-groups touch "$T/mnt2/perm/newfile" 2>/dev/null &&
	gn_fail "MDS let another user create in a 0755 directory"
exit 0
