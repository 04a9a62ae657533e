#!/bin/bash
# t3007-fs-programs.sh - real programs on the mount: tar extract and
# re-create of a tree with symlinks and hard links, cp -a, rsync -a round
# trip, git init/add/commit/fsck, python's sqlite3 creating and querying a
# database, and a remount before checking.
. "$(dirname "$0")/lib-cluster.sh"
gn_need_fuse
gn_need_cmd tar rsync git

gn_cluster 3
gn_mount "$T/mnt"
M=$T/mnt

# A source tree on local disk: files, a big file, symlinks, hard links,
# empty dir, odd names, modes and times.
S=$T/src
mkdir -p "$S/a/b/c" "$S/empty" "$S/sp ace"
for i in $(seq 1 50); do printf 'file %d\n' "$i" >"$S/a/f$i"; done
head -c 9000000 /dev/urandom >"$S/a/b/big"
ln -s ../f1 "$S/a/b/link"
ln -s /nonexistent "$S/dangling"
ln "$S/a/f2" "$S/a/b/c/hard"
printf x >"$S/sp ace/ü-名前"
chmod 751 "$S/a/b"; chmod 600 "$S/a/f3"
touch -d '2001-02-03 04:05:06.123456789' "$S/a/f4"

tar --format=posix -C "$T" -cf "$T/src.tar" src
mkdir "$M/x"
tar -C "$M/x" -xf "$T/src.tar" || gn_fail "tar extract"
tar --format=posix -C "$M/x" -cf "$T/back.tar" src || gn_fail "tar create"
mkdir "$T/back"
tar -C "$T/back" -xf "$T/back.tar"
diff -r --no-dereference "$S" "$T/back/src" || gn_fail "tar round trip differs"
gn_expect_eq "$(stat -c %i "$M/x/src/a/f2")" "$(stat -c %i "$M/x/src/a/b/c/hard")" "hard link kept by tar"
gn_expect_eq 2001-02-03T04:05:06.123456789 \
	"$(stat -c %y "$M/x/src/a/f4" | sed 's/ /T/;s/ .*//')" "mtime kept by tar"

cp -a "$S" "$M/cp" || gn_fail "cp -a"
rsync -a --delete "$S/" "$M/rs/" || gn_fail "rsync to the mount"
rsync -a "$M/rs/" "$T/rs-back/" || gn_fail "rsync from the mount"

# git: a repository on the mount, two commits, fsck.
(
	cd "$M" && git init -q repo && cd repo &&
	git config user.email t@example.com && git config user.name t &&
	cp -a "$S/a/." . && git add -A && git commit -qm one &&
	echo change >>f1 && git commit -qam two && git fsck --strict --no-progress 2>&1 | { ! grep -q .; } &&
	test "$(git log --oneline | wc -l)" = 2
) >"$T/git.log" 2>&1 || gn_fail "git: $(tail -5 "$T/git.log")"

# sqlite through python's module (journal, fsync, random small writes).
python3 - "$M/db.sqlite" <<'PY' || gn_fail "sqlite"
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("create table t (k integer primary key, v text)")
with db:
    db.executemany("insert into t values (?, ?)", ((i, "v%d" % i * 20) for i in range(20000)))
with db:
    db.execute("update t set v = 'changed' where k % 7 = 0")
db.close()
db = sqlite3.connect(sys.argv[1])
assert db.execute("select count(*) from t").fetchone()[0] == 20000
assert db.execute("select count(*) from t where v = 'changed'").fetchone()[0] == 2858
assert db.execute("pragma integrity_check").fetchone()[0] == "ok"
PY

# Everything still right from a fresh mount.
gn_umount "$M"
gn_mount "$M"
diff -r --no-dereference "$S" "$M/cp" || gn_fail "cp -a copy differs after remount"
diff -r --no-dereference "$S" "$M/rs" || gn_fail "rsync copy differs after remount"
diff -r --no-dereference "$S" "$T/rs-back" || gn_fail "rsync round trip differs"
gn_expect_eq "$(stat -c '%a %Y' "$S/a/b")" "$(stat -c '%a %Y' "$M/cp/a/b")" "cp -a kept mode and mtime"
(cd "$M/repo" && git fsck --strict --no-progress 2>&1 | { ! grep -q .; } && git status --porcelain | wc -l | grep -qx 0) ||
	gn_fail "git repository after remount"
python3 -c '
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
assert db.execute("pragma integrity_check").fetchone()[0] == "ok"
assert db.execute("select count(*) from t").fetchone()[0] == 20000' "$M/db.sqlite" ||
	gn_fail "sqlite after remount"
exit 0
