/* check_mds_ns.c - the MDS namespace layer on a temporary LMDB (no network) */
#include "config.h"
#include "mds/mds.h"
#include "mds/rpc_mds.h"
#include "common/cksum.h"
#include "common/log.h"
#include "common/util.h"

#include "t/unit/unit.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[256];
static struct mds *m;
static const struct mds_cred root = { 0, 0, 0, { 0 } };
static const struct mds_cred u1 = { 1000, 1000, 1, { 1500 } };
static const struct mds_cred u2 = { 2000, 2000, 0, { 0 } };

static struct mds *open_mds(uint64_t max_map, bool group)
{
	struct mds_opts o = {
		.data_dir = dir, .map_size = 1 << 20, .max_map_size = max_map,
		.group_commit = group, .lease_ms = 0, .session_timeout_ms = 1000,
		.ds_timeout_ms = 1000, .default_replicas = 2, .no_ticker = true,
	};
	struct mds *mm = NULL;
	ck_assert_int_eq(mds_new(&o, &mm), 0);
	return mm;
}

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/check_mds.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	m = open_mds(0, true);
}

static void teardown(void)
{
	char cmd[300];
	mds_free(m);
	m = NULL;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* Helpers returning the new inode number (or asserting the errno). */
static uint64_t mkdir_as(const struct mds_cred *c, uint64_t parent, const char *name,
			 uint32_t mode)
{
	struct db_inode n;
	ck_assert_int_eq(mds_ns_mkdir(m, c, parent, name, mode, 0, &n, NULL), 0);
	return n.ino;
}

static uint64_t mkfile_as(const struct mds_cred *c, uint64_t parent, const char *name,
			  uint32_t mode)
{
	struct db_inode n;
	ck_assert_int_eq(mds_ns_mknod(m, c, parent, name, S_IFREG | mode, 0, 0, &n, NULL), 0);
	return n.ino;
}

static struct db_inode attr(uint64_t ino)
{
	struct db_inode n;
	ck_assert_int_eq(mds_ns_getattr(m, ino, &n), 0);
	return n;
}

static int lookup(uint64_t parent, const char *name, uint64_t *ino)
{
	struct db_inode n;
	int ret = mds_ns_lookup(m, &root, parent, name, &n);
	if (ret == 0 && ino)
		*ino = n.ino;
	return ret;
}

static void chmod_root(uint64_t ino, uint32_t mode)
{
	struct mds_setattr sa = { .valid = MDS_SET_MODE, .mode = mode };
	struct db_inode n;
	ck_assert_int_eq(mds_ns_setattr(m, &root, ino, &sa, &n, NULL), 0);
}

static void chown_root(uint64_t ino, uint32_t uid, uint32_t gid)
{
	struct mds_setattr sa = { .valid = MDS_SET_UID | MDS_SET_GID, .uid = uid, .gid = gid };
	struct db_inode n;
	ck_assert_int_eq(mds_ns_setattr(m, &root, ino, &sa, &n, NULL), 0);
}

static int check_store(void)
{
	FILE *f = fopen("/dev/null", "w");
	int n = mds_check_store(mds_db(m), f);
	fclose(f);
	return n;
}

START_TEST(test_names)
{
	struct db_inode n;
	char big[300];

	ck_assert_int_eq(mds_ns_mkdir(m, &root, 1, "", 0755, 0, &n, NULL), -EINVAL);
	ck_assert_int_eq(mds_ns_mkdir(m, &root, 1, ".", 0755, 0, &n, NULL), -EINVAL);
	ck_assert_int_eq(mds_ns_mkdir(m, &root, 1, "..", 0755, 0, &n, NULL), -EINVAL);
	ck_assert_int_eq(mds_ns_mkdir(m, &root, 1, "a/b", 0755, 0, &n, NULL), -EINVAL);
	memset(big, 'x', 256);
	big[256] = '\0';
	ck_assert_int_eq(mds_ns_mkdir(m, &root, 1, big, 0755, 0, &n, NULL), -ENAMETOOLONG);
	big[255] = '\0';
	ck_assert_int_eq(mds_ns_mkdir(m, &root, 1, big, 0755, 0, &n, NULL), 0);
	ck_assert_int_eq(mds_ns_mkdir(m, &root, 999, "x", 0755, 0, &n, NULL), -ENOENT);
	ck_assert_int_eq(mds_ns_getattr(m, 12345, &n), -ENOENT);
	/* Nothing but the one directory was created. */
	ck_assert_uint_eq(attr(1).nlink, 3);
	ck_assert_int_eq(check_store(), 0);
}
END_TEST

/* The one definition of a valid name, over counted bytes. */
START_TEST(test_check_name)
{
	char big[300];

	ck_assert_int_eq(mds_check_name("a", 1, 0), 0);
	ck_assert_int_eq(mds_check_name("\xff\x01\\", 3, 0), 0);
	ck_assert_int_eq(mds_check_name(NULL, 0, 0), -EINVAL);
	ck_assert_int_eq(mds_check_name("", 0, 0), -EINVAL);
	/* A NUL anywhere among the bytes, even where strlen() would stop. */
	ck_assert_int_eq(mds_check_name("a\0b", 3, 0), -EINVAL);
	ck_assert_int_eq(mds_check_name("a\0", 2, 0), -EINVAL);
	ck_assert_int_eq(mds_check_name("\0", 1, MDS_NAME_DOTS), -EINVAL);
	ck_assert_int_eq(mds_check_name("a/b", 3, 0), -EINVAL);
	ck_assert_int_eq(mds_check_name("/", 1, MDS_NAME_DOTS), -EINVAL);
	/* Only the given length counts: "a/" cut to "a" is fine. */
	ck_assert_int_eq(mds_check_name("a/", 1, 0), 0);
	ck_assert_int_eq(mds_check_name(".", 1, 0), -EINVAL);
	ck_assert_int_eq(mds_check_name("..", 2, 0), -EINVAL);
	ck_assert_int_eq(mds_check_name(".", 1, MDS_NAME_DOTS), 0);
	ck_assert_int_eq(mds_check_name("..", 2, MDS_NAME_DOTS), 0);
	ck_assert_int_eq(mds_check_name("...", 3, 0), 0);
	memset(big, 'x', sizeof(big));
	ck_assert_int_eq(mds_check_name(big, 255, 0), 0);
	ck_assert_int_eq(mds_check_name(big, 256, 0), -ENAMETOOLONG);
	big[10] = '\0';
	ck_assert_int_eq(mds_check_name(big, 256, 0), -EINVAL);
}
END_TEST

/* What the RPC handlers do with a `bytes` name field. */
START_TEST(test_rpc_name)
{
	char out[MDS_NAME_MAX + 1], big[300];
	ProtobufCBinaryData b;

	memset(out, '#', sizeof(out));
	b = (ProtobufCBinaryData){ 3, (uint8_t *)"a\0b" };
	ck_assert_int_eq(mds_rpc_name(&b, out), -EINVAL);
	ck_assert_int_eq(out[0], '#');		/* untouched on failure */
	b = (ProtobufCBinaryData){ 0, NULL };
	ck_assert_int_eq(mds_rpc_name(&b, out), -EINVAL);
	b = (ProtobufCBinaryData){ 3, (uint8_t *)"a/b" };
	ck_assert_int_eq(mds_rpc_name(&b, out), -EINVAL);
	memset(big, 'x', sizeof(big));
	b = (ProtobufCBinaryData){ 256, (uint8_t *)big };
	ck_assert_int_eq(mds_rpc_name(&b, out), -ENAMETOOLONG);
	b.len = 255;
	ck_assert_int_eq(mds_rpc_name(&b, out), 0);
	ck_assert_uint_eq(strlen(out), 255);
	/* "." and ".." are left to the namespace layer. */
	b = (ProtobufCBinaryData){ 2, (uint8_t *)".." };
	ck_assert_int_eq(mds_rpc_name(&b, out), 0);
	ck_assert_str_eq(out, "..");
	b = gn_rpc_str("abc");
	ck_assert_int_eq(mds_rpc_name(&b, out), 0);
	ck_assert_str_eq(out, "abc");

	/* Other text: a NUL is EINVAL, the length limit the caller's errno. */
	b = (ProtobufCBinaryData){ 8, (uint8_t *)"user.k\0x" };
	ck_assert_int_eq(mds_rpc_text(&b, MDS_XATTR_NAME_MAX, -ERANGE, out), -EINVAL);
	b = (ProtobufCBinaryData){ 256, (uint8_t *)big };
	ck_assert_int_eq(mds_rpc_text(&b, MDS_XATTR_NAME_MAX, -ERANGE, out), -ERANGE);
	b = (ProtobufCBinaryData){ 0, NULL };
	ck_assert_int_eq(mds_rpc_text(&b, MDS_XATTR_NAME_MAX, -ERANGE, out), 0);
	ck_assert_str_eq(out, "");
	b = gn_rpc_str("a/b/c");
	ck_assert_int_eq(mds_rpc_text(&b, MDS_XATTR_NAME_MAX, -ERANGE, out), 0);
	ck_assert_str_eq(out, "a/b/c");
}
END_TEST

START_TEST(test_create_lookup)
{
	struct db_inode n;
	uint64_t d = mkdir_as(&root, 1, "d", 0755), f, x;

	ck_assert_uint_eq(attr(1).nlink, 3);
	ck_assert_uint_eq(attr(d).nlink, 2);
	ck_assert(S_ISDIR(attr(d).mode));
	f = mkfile_as(&root, d, "f", 0644);
	ck_assert_int_eq(lookup(d, "f", &x), 0);
	ck_assert_uint_eq(x, f);
	ck_assert_int_eq(lookup(d, "nope", &x), -ENOENT);
	ck_assert_int_eq(lookup(f, "x", &x), -ENOTDIR);
	ck_assert_int_eq(lookup(d, "..", &x), 0);
	ck_assert_uint_eq(x, 1);
	ck_assert_int_eq(mds_ns_mknod(m, &root, d, "f", S_IFREG | 0644, 0, 0, &n, NULL), -EEXIST);
	ck_assert_int_eq(mds_ns_mkdir(m, &root, d, "f", 0755, 0, &n, NULL), -EEXIST);
	ck_assert_int_eq(mds_ns_mknod(m, &root, f, "x", S_IFREG | 0644, 0, 0, &n, NULL), -ENOTDIR);
	/* umask */
	ck_assert_int_eq(mds_ns_mknod(m, &root, d, "u", S_IFREG | 0666, 0, 022, &n, NULL), 0);
	ck_assert_uint_eq(n.mode, S_IFREG | 0644);
	ck_assert_uint_eq(n.nlink, 1);
}
END_TEST

START_TEST(test_mknod_types)
{
	struct db_inode n;

	chmod_root(1, 0777);
	ck_assert_int_eq(mds_ns_mknod(m, &u1, 1, "fifo", S_IFIFO | 0644, 0, 0, &n, NULL), 0);
	ck_assert(S_ISFIFO(n.mode));
	ck_assert_int_eq(mds_ns_mknod(m, &u1, 1, "sock", S_IFSOCK | 0644, 0, 0, &n, NULL), 0);
	ck_assert_int_eq(mds_ns_mknod(m, &u1, 1, "chr", S_IFCHR | 0644, 0x0103, 0, &n, NULL), -EPERM);
	ck_assert_int_eq(mds_ns_mknod(m, &root, 1, "chr", S_IFCHR | 0644, 0x0103, 0, &n, NULL), 0);
	ck_assert_uint_eq(n.rdev, 0x0103);
	ck_assert_int_eq(mds_ns_mknod(m, &root, 1, "dir", S_IFDIR | 0755, 0, 0, &n, NULL), -EPERM);
	ck_assert_int_eq(mds_ns_mknod(m, &root, 1, "bad", 0170000, 0, 0, &n, NULL), -EINVAL);
	ck_assert_uint_eq(attr(lookup(1, "fifo", NULL) == 0 ? 1 : 0).ino, 1);
}
END_TEST

START_TEST(test_unlink_rmdir)
{
	uint64_t d = mkdir_as(&root, 1, "d", 0755), sub, f, x;

	sub = mkdir_as(&root, d, "sub", 0755);
	f = mkfile_as(&root, d, "f", 0644);
	ck_assert_uint_eq(attr(d).nlink, 3);
	ck_assert_int_eq(mds_ns_rmdir(m, &root, 1, "d", NULL), -ENOTEMPTY);
	ck_assert_int_eq(mds_ns_unlink(m, &root, d, "sub", NULL), -EISDIR);
	ck_assert_int_eq(mds_ns_rmdir(m, &root, d, "f", NULL), -ENOTDIR);
	ck_assert_int_eq(mds_ns_rmdir(m, &root, d, ".", NULL), -EINVAL);
	ck_assert_int_eq(mds_ns_rmdir(m, &root, d, "..", NULL), -ENOTEMPTY);
	ck_assert_int_eq(mds_ns_unlink(m, &root, d, "missing", NULL), -ENOENT);
	ck_assert_int_eq(mds_ns_rmdir(m, &root, d, "sub", NULL), 0);
	ck_assert_uint_eq(attr(d).nlink, 2);
	ck_assert_int_eq(lookup(d, "sub", &x), -ENOENT);
	ck_assert_int_eq(mds_ns_getattr(m, sub, &(struct db_inode){ 0 }), -ENOENT);
	ck_assert_int_eq(mds_ns_unlink(m, &root, d, "f", NULL), 0);
	ck_assert_int_eq(mds_ns_getattr(m, f, &(struct db_inode){ 0 }), -ENOENT);
	ck_assert_int_eq(mds_ns_rmdir(m, &root, 1, "d", NULL), 0);
	ck_assert_uint_eq(attr(1).nlink, 2);
	ck_assert_int_eq(check_store(), 0);
}
END_TEST

START_TEST(test_link_symlink)
{
	uint64_t d = mkdir_as(&root, 1, "d", 0755), f = mkfile_as(&root, d, "f", 0644);
	struct db_inode n;
	char *t = NULL;
	char big[5000];

	ck_assert_int_eq(mds_ns_link(m, &root, f, 1, "f2", &n, NULL), 0);
	ck_assert_uint_eq(n.nlink, 2);
	ck_assert_int_eq(mds_ns_link(m, &root, f, 1, "f2", &n, NULL), -EEXIST);
	ck_assert_int_eq(mds_ns_link(m, &root, d, 1, "d2", &n, NULL), -EPERM);
	ck_assert_int_eq(mds_ns_link(m, &root, 4242, 1, "x", &n, NULL), -ENOENT);
	ck_assert_int_eq(mds_ns_unlink(m, &root, d, "f", NULL), 0);
	ck_assert_uint_eq(attr(f).nlink, 1);

	ck_assert_int_eq(mds_ns_symlink(m, &root, 1, "s", "d/f", &n, NULL), 0);
	ck_assert(S_ISLNK(n.mode));
	ck_assert_uint_eq(n.size, 3);
	ck_assert_int_eq(mds_ns_readlink(m, &root, n.ino, &t), 0);
	ck_assert_str_eq(t, "d/f");
	free(t);
	ck_assert_int_eq(mds_ns_readlink(m, &root, f, &t), -EINVAL);
	ck_assert_int_eq(mds_ns_symlink(m, &root, 1, "e", "", &n, NULL), -ENOENT);
	memset(big, 'a', 4096);
	big[4096] = '\0';
	ck_assert_int_eq(mds_ns_symlink(m, &root, 1, "e", big, &n, NULL), -ENAMETOOLONG);
	ck_assert_int_eq(check_store(), 0);
}
END_TEST

START_TEST(test_permissions)
{
	struct db_inode n;
	uint64_t d, p, f, x, st;

	/* root-owned 0755: others may not create. */
	ck_assert_int_eq(mds_ns_mkdir(m, &u1, 1, "x", 0755, 0, &n, NULL), -EACCES);
	chmod_root(1, 0777);
	d = mkdir_as(&u1, 1, "u1", 0700);
	ck_assert_uint_eq(attr(d).uid, 1000);
	f = mkfile_as(&u1, d, "f", 0644);
	/* u2 cannot search u1's 0700 directory. */
	ck_assert_int_eq(mds_ns_lookup(m, &u2, d, "f", &n), -EACCES);
	ck_assert_int_eq(mds_ns_lookup(m, &root, d, "f", &n), 0);
	/* Supplementary group gives group permission. */
	p = mkdir_as(&root, 1, "grp", 0770);
	chown_root(p, 0, 1500);
	ck_assert_int_eq(mds_ns_mknod(m, &u1, p, "g", S_IFREG | 0644, 0, 0, &n, NULL), 0);
	ck_assert_int_eq(mds_ns_mknod(m, &u2, p, "g2", S_IFREG | 0644, 0, 0, &n, NULL), -EACCES);
	/* Unlink needs write on the parent. */
	chmod_root(d, 0755);
	ck_assert_int_eq(mds_ns_unlink(m, &u2, d, "f", NULL), -EACCES);
	/* Sticky: others may not remove or rename what is not theirs. */
	st = mkdir_as(&root, 1, "tmp", 01777);
	x = mkfile_as(&u1, st, "mine", 0644);
	ck_assert_int_eq(mds_ns_unlink(m, &u2, st, "mine", NULL), -EPERM);
	ck_assert_int_eq(mds_ns_rename(m, &u2, st, "mine", st, "other", 0, NULL), -EPERM);
	ck_assert_int_eq(mds_ns_unlink(m, &u1, st, "mine", NULL), 0);
	(void)x;
	/* Root: no rwx checks, but exec needs some x bit on a file. */
	n = attr(f);
	n.mode = S_IFREG | 0644;
	ck_assert_int_eq(mds_access(&root, &n, 4 | 2), 0);
	ck_assert_int_eq(mds_access(&root, &n, 1), -EACCES);
	n.mode = S_IFREG | 0010;
	ck_assert_int_eq(mds_access(&root, &n, 1), 0);
	n.mode = S_IFDIR | 0000;
	ck_assert_int_eq(mds_access(&root, &n, 1), 0);
	/* Owner bits apply even when group/other would allow. */
	n.mode = S_IFREG | 0077;
	n.uid = 1000;
	ck_assert_int_eq(mds_access(&u1, &n, 4), -EACCES);
}
END_TEST

/* Directory permission matrix: for each caller class (owner, group via a
 * supplementary group, other) and each rwx combination, lookup needs x,
 * readdir r, create and unlink w+x. */
START_TEST(test_permission_matrix)
{
	const struct mds_cred owner = { 1000, 1000, 0, { 0 } };
	const struct mds_cred member = { 3000, 3000, 2, { 7, 1500 } };
	const struct mds_cred other = { 2000, 2000, 0, { 0 } };
	const struct mds_cred *who[3] = { &owner, &member, &other };
	uint64_t d = mkdir_as(&root, 1, "m", 0755);

	chown_root(d, 1000, 1500);
	for (int c = 0; c < 3; c++) {
		for (uint32_t b = 0; b < 8; b++) {
			uint32_t mode = b << (6 - 3 * c);
			const struct mds_cred *cr = who[c];
			struct db_inode n;
			struct mds_dirent *e = NULL;
			size_t cnt;
			bool eof;
			int want;

			chmod_root(d, 0);
			mds_ns_unlink(m, &root, d, "new", NULL);
			mds_ns_unlink(m, &root, d, "f", NULL);
			mkfile_as(&root, d, "f", 0644);
			chmod_root(d, mode);

			want = (b & 1) ? 0 : -EACCES;
			ck_assert_msg(mds_ns_lookup(m, cr, d, "f", &n) == want,
				      "lookup class=%d bits=%o", c, b);
			want = (b & 4) ? 0 : -EACCES;
			ck_assert_msg(mds_ns_readdir(m, cr, d, 0, 10, false, &e, &cnt, &eof) == want,
				      "readdir class=%d bits=%o", c, b);
			free(e);
			want = (b & 3) == 3 ? 0 : -EACCES;
			ck_assert_msg(mds_ns_mknod(m, cr, d, "new", S_IFREG | 0644, 0, 0, &n, NULL) == want,
				      "create class=%d bits=%o", c, b);
			ck_assert_msg(mds_ns_unlink(m, cr, d, "f", NULL) == want,
				      "unlink class=%d bits=%o", c, b);
			/* Root ignores the bits. */
			ck_assert_int_eq(mds_ns_lookup(m, &root, d, "new", &n), want ? -ENOENT : 0);
		}
	}
	ck_assert_int_eq(check_store(), 0);
}
END_TEST

START_TEST(test_setgid_dir)
{
	struct db_inode n;
	uint64_t d;

	chmod_root(1, 0777);
	d = mkdir_as(&root, 1, "sg", 0777);
	chown_root(d, 0, 4242);
	chmod_root(d, 02777);
	ck_assert_int_eq(mds_ns_mkdir(m, &u1, d, "sub", 0755, 0, &n, NULL), 0);
	ck_assert_uint_eq(n.gid, 4242);
	ck_assert(n.mode & S_ISGID);
	ck_assert_int_eq(mds_ns_mknod(m, &u1, d, "f", S_IFREG | 02755, 0, 0, &n, NULL), 0);
	ck_assert_uint_eq(n.gid, 4242);
	/* u1 is not in 4242: the file's setgid bit is dropped. */
	ck_assert(!(n.mode & S_ISGID));
}
END_TEST

START_TEST(test_setattr)
{
	struct mds_setattr sa = { 0 };
	struct db_inode n;
	uint64_t f;

	chmod_root(1, 0777);
	f = mkfile_as(&u1, 1, "f", 0644);
	/* chmod by non-owner */
	sa.valid = MDS_SET_MODE;
	sa.mode = 0600;
	ck_assert_int_eq(mds_ns_setattr(m, &u2, f, &sa, &n, NULL), -EPERM);
	ck_assert_int_eq(mds_ns_setattr(m, &u1, f, &sa, &n, NULL), 0);
	ck_assert_uint_eq(n.mode, S_IFREG | 0600);
	/* setgid dropped when the owner is not in the file's group */
	chown_root(f, 1000, 4242);
	sa.mode = 02755;
	ck_assert_int_eq(mds_ns_setattr(m, &u1, f, &sa, &n, NULL), 0);
	ck_assert_uint_eq(n.mode, S_IFREG | 0755);
	/* chown: only root; owner may chgrp to his group */
	sa.valid = MDS_SET_UID;
	sa.uid = 2000;
	ck_assert_int_eq(mds_ns_setattr(m, &u1, f, &sa, &n, NULL), -EPERM);
	sa.valid = MDS_SET_GID;
	sa.gid = 1500;
	ck_assert_int_eq(mds_ns_setattr(m, &u1, f, &sa, &n, NULL), 0);
	ck_assert_uint_eq(n.gid, 1500);
	sa.gid = 7777;
	ck_assert_int_eq(mds_ns_setattr(m, &u1, f, &sa, &n, NULL), -EPERM);
	ck_assert_int_eq(mds_ns_setattr(m, &u2, f, &sa, &n, NULL), -EPERM);
	/* set-id bits cleared by chown */
	chmod_root(f, 06755);
	sa.valid = MDS_SET_GID;
	sa.gid = 1000;
	ck_assert_int_eq(mds_ns_setattr(m, &u1, f, &sa, &n, NULL), 0);
	ck_assert_uint_eq(n.mode & 07777, 0755);
	/* times: NOW needs write permission, explicit needs ownership */
	chmod_root(f, 0646);
	sa.valid = MDS_SET_ATIME_NOW | MDS_SET_MTIME_NOW;
	ck_assert_int_eq(mds_ns_setattr(m, &u2, f, &sa, &n, NULL), 0);
	sa.valid = MDS_SET_MTIME;
	sa.mtime = 1000000000LL * 42;
	ck_assert_int_eq(mds_ns_setattr(m, &u2, f, &sa, &n, NULL), -EPERM);
	ck_assert_int_eq(mds_ns_setattr(m, &u1, f, &sa, &n, NULL), 0);
	ck_assert_int_eq(n.mtime, 1000000000LL * 42);
	chmod_root(f, 0644);
	sa.valid = MDS_SET_ATIME_NOW | MDS_SET_MTIME_NOW;
	ck_assert_int_eq(mds_ns_setattr(m, &u2, f, &sa, &n, NULL), -EACCES);
	/* size */
	sa.valid = MDS_SET_SIZE;
	sa.size = 12345;
	ck_assert_int_eq(mds_ns_setattr(m, &u2, f, &sa, &n, NULL), -EACCES);
	ck_assert_int_eq(mds_ns_setattr(m, &u1, f, &sa, &n, NULL), 0);
	ck_assert_uint_eq(n.size, 12345);
	ck_assert_int_eq(mds_ns_setattr(m, &root, 1, &sa, &n, NULL), -EISDIR);
	ck_assert_int_eq(mds_ns_setattr(m, &root, 999, &sa, &n, NULL), -ENOENT);
	/* ctime moves on every change */
	{
		int64_t before = attr(f).ctime;
		usleep(2000);
		chmod_root(f, 0600);
		ck_assert_int_gt(attr(f).ctime, before);
	}
}
END_TEST

START_TEST(test_rename)
{
	uint64_t a = mkdir_as(&root, 1, "a", 0755), b = mkdir_as(&root, 1, "b", 0755);
	uint64_t f = mkfile_as(&root, a, "f", 0644), g = mkfile_as(&root, b, "g", 0644);
	uint64_t sub = mkdir_as(&root, a, "sub", 0755), e = mkdir_as(&root, b, "e", 0755);
	uint64_t x;

	/* over an existing file: g goes away */
	ck_assert_int_eq(mds_ns_rename(m, &root, a, "f", b, "g", 0, NULL), 0);
	ck_assert_int_eq(lookup(b, "g", &x), 0);
	ck_assert_uint_eq(x, f);
	ck_assert_int_eq(lookup(a, "f", &x), -ENOENT);
	ck_assert_int_eq(mds_ns_getattr(m, g, &(struct db_inode){ 0 }), -ENOENT);
	/* flags */
	g = mkfile_as(&root, a, "f2", 0644);
	ck_assert_int_eq(mds_ns_rename(m, &root, a, "f2", b, "g", MDS_RENAME_NOREPLACE, NULL), -EEXIST);
	ck_assert_int_eq(mds_ns_rename(m, &root, a, "f2", b, "g", 3, NULL), -EINVAL);
	ck_assert_int_eq(mds_ns_rename(m, &root, a, "f2", b, "g", 8, NULL), -EINVAL);
	ck_assert_int_eq(mds_ns_rename(m, &root, a, "f2", b, "none", MDS_RENAME_EXCHANGE, NULL), -ENOENT);
	ck_assert_int_eq(mds_ns_rename(m, &root, a, "f2", b, "g", MDS_RENAME_EXCHANGE, NULL), 0);
	ck_assert_int_eq(lookup(b, "g", &x), 0);
	ck_assert_uint_eq(x, g);
	ck_assert_int_eq(lookup(a, "f2", &x), 0);
	ck_assert_uint_eq(x, f);
	/* type mismatches */
	ck_assert_int_eq(mds_ns_rename(m, &root, a, "sub", b, "g", 0, NULL), -ENOTDIR);
	ck_assert_int_eq(mds_ns_rename(m, &root, b, "g", a, "sub", 0, NULL), -EISDIR);
	/* into its own subtree */
	ck_assert_int_eq(mds_ns_rename(m, &root, 1, "a", sub, "x", 0, NULL), -EINVAL);
	ck_assert_int_eq(mds_ns_rename(m, &root, 1, "a", a, "x", 0, NULL), -EINVAL);
	/* over a non-empty directory */
	mkfile_as(&root, e, "in", 0644);
	ck_assert_int_eq(mds_ns_rename(m, &root, a, "sub", b, "e", 0, NULL), -ENOTEMPTY);
	ck_assert_int_eq(mds_ns_unlink(m, &root, e, "in", NULL), 0);
	/* over an empty directory, across parents: link counts move */
	ck_assert_uint_eq(attr(a).nlink, 3);
	ck_assert_uint_eq(attr(b).nlink, 3);
	ck_assert_int_eq(mds_ns_rename(m, &root, a, "sub", b, "e", 0, NULL), 0);
	ck_assert_uint_eq(attr(a).nlink, 2);
	ck_assert_uint_eq(attr(b).nlink, 3);
	ck_assert_uint_eq(attr(sub).parent, b);
	ck_assert_int_eq(mds_ns_getattr(m, e, &(struct db_inode){ 0 }), -ENOENT);
	ck_assert_int_eq(lookup(sub, "..", &x), 0);
	ck_assert_uint_eq(x, b);
	/* a name onto itself, hard links of one file: no-op */
	ck_assert_int_eq(mds_ns_rename(m, &root, a, "f2", a, "f2", 0, NULL), 0);
	ck_assert_int_eq(mds_ns_link(m, &root, f, a, "hl", &(struct db_inode){ 0 }, NULL), 0);
	ck_assert_int_eq(mds_ns_rename(m, &root, a, "f2", a, "hl", 0, NULL), 0);
	ck_assert_int_eq(lookup(a, "f2", &x), 0);
	ck_assert_uint_eq(attr(f).nlink, 2);
	/* exchange a file and a directory across parents */
	ck_assert_int_eq(mds_ns_rename(m, &root, a, "f2", b, "e", MDS_RENAME_EXCHANGE, NULL), 0);
	ck_assert_uint_eq(attr(a).nlink, 3);
	ck_assert_uint_eq(attr(b).nlink, 2);
	ck_assert_int_eq(mds_ns_rename(m, &root, a, "missing", b, "x", 0, NULL), -ENOENT);
	ck_assert_int_eq(check_store(), 0);
}
END_TEST

/* Entries present throughout a listing come exactly once, whatever is
 * inserted and removed meanwhile. */
START_TEST(test_readdir_cursor)
{
	uint64_t d = mkdir_as(&root, 1, "d", 0755), cookie = 0;
	int seen[200] = { 0 }, round = 0;
	bool eof = false;
	char name[32];

	for (int i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "keep%03d", i);
		mkfile_as(&root, d, name, 0644);
	}
	for (int i = 0; i < 50; i++) {
		snprintf(name, sizeof(name), "gone%03d", i);
		mkfile_as(&root, d, name, 0644);
	}
	while (!eof) {
		struct mds_dirent *e;
		size_t n;
		ck_assert_int_eq(mds_ns_readdir(m, &root, d, cookie, 7, round % 2, &e, &n, &eof), 0);
		for (size_t i = 0; i < n; i++) {
			int k;
			if (sscanf(e[i].name, "keep%d", &k) == 1)
				seen[k]++;
			if (round % 2)
				ck_assert_uint_eq(e[i].attr.ino, e[i].ino);
			cookie = e[i].cookie;
		}
		free(e);
		/* Change the directory between pages. */
		snprintf(name, sizeof(name), "new%03d", round);
		mkfile_as(&root, d, name, 0644);
		if (round < 50) {
			snprintf(name, sizeof(name), "gone%03d", round);
			ck_assert_int_eq(mds_ns_unlink(m, &root, d, name, NULL), 0);
		}
		ck_assert_int_lt(++round, 1000);
	}
	for (int i = 0; i < 100; i++)
		ck_assert_int_eq(seen[i], 1);
	ck_assert_int_eq(mds_ns_readdir(m, &root, d, 0, 0, false, &(struct mds_dirent *){ 0 },
					&(size_t){ 0 }, &eof), -EINVAL);
	{
		struct mds_dirent *e = NULL;
		size_t n = 0;
		/* 0755 root: others may list it, not a 0700 directory */
		ck_assert_int_eq(mds_ns_readdir(m, &u2, 1, 0, 10, false, &e, &n, &eof), 0);
		ck_assert_uint_eq(n, 1);
		free(e);
		chmod_root(d, 0700);
		ck_assert_int_eq(mds_ns_readdir(m, &u2, d, 0, 10, false, &e, &n, &eof), -EACCES);
	}
}
END_TEST

START_TEST(test_xattr)
{
	uint64_t f = mkfile_as(&root, 1, "f", 0644);
	char big[MDS_XATTR_VALUE_MAX + 2], lname[300];
	void *v = NULL;
	char *names = NULL;
	size_t len, cnt;

	ck_assert_int_eq(mds_ns_setxattr(m, &root, f, "user.a", "1", 1, MDS_XATTR_REPLACE, NULL), -ENODATA);
	ck_assert_int_eq(mds_ns_setxattr(m, &root, f, "user.a", "1", 1, MDS_XATTR_CREATE, NULL), 0);
	ck_assert_int_eq(mds_ns_setxattr(m, &root, f, "user.a", "2", 1, MDS_XATTR_CREATE, NULL), -EEXIST);
	ck_assert_int_eq(mds_ns_setxattr(m, &root, f, "user.a", "22", 2, MDS_XATTR_REPLACE, NULL), 0);
	ck_assert_int_eq(mds_ns_getxattr(m, &root, f, "user.a", &v, &len), 0);
	ck_assert_uint_eq(len, 2);
	ck_assert(!memcmp(v, "22", 2));
	free(v);
	ck_assert_int_eq(mds_ns_getxattr(m, &root, f, "user.none", &v, &len), -ENODATA);
	ck_assert_int_eq(mds_ns_setxattr(m, &root, f, "trusted.x", "1", 1, 0, NULL), -EOPNOTSUPP);
	ck_assert_int_eq(mds_ns_setxattr(m, &root, f, "user.", "1", 1, 0, NULL), -EINVAL);
	memset(big, 'v', sizeof(big));
	ck_assert_int_eq(mds_ns_setxattr(m, &root, f, "user.big", big, MDS_XATTR_VALUE_MAX + 1, 0, NULL), -E2BIG);
	ck_assert_int_eq(mds_ns_setxattr(m, &root, f, "user.big", big, MDS_XATTR_VALUE_MAX, 0, NULL), 0);
	memset(lname, 'n', sizeof(lname));
	memcpy(lname, "user.", 5);
	lname[256] = '\0';
	ck_assert_int_eq(mds_ns_setxattr(m, &root, f, lname, "1", 1, 0, NULL), -ERANGE);
	ck_assert_int_eq(mds_ns_setxattr(m, &u2, f, "user.b", "1", 1, 0, NULL), -EACCES);
	ck_assert_int_eq(mds_ns_listxattr(m, &root, f, &names, &len, &cnt), 0);
	ck_assert_uint_eq(cnt, 2);
	ck_assert_str_eq(names, "user.a");
	ck_assert_str_eq(names + 7, "user.big");
	free(names);
	ck_assert_int_eq(mds_ns_removexattr(m, &root, f, "user.a", NULL), 0);
	ck_assert_int_eq(mds_ns_removexattr(m, &root, f, "user.a", NULL), -ENODATA);
	ck_assert_int_eq(mds_ns_setxattr(m, &root, 999, "user.a", "1", 1, 0, NULL), -ENOENT);
}
END_TEST

/* A registered session of client name (handles need one). */
static uint64_t new_session(const char *client)
{
	uint64_t id, root_ino;

	ck_assert_int_eq(mds_session_open(m, &root, client, "p", "", 0, &id, &root_ino), 0);
	return id;
}

static uint32_t add_ds(const char *uuid, const char *addr)
{
	struct mds_ds_info in = { .capacity = 1 << 30, .free = 1 << 29 };
	uint32_t id;
	snprintf(in.uuid, sizeof(in.uuid), "%s", uuid);
	snprintf(in.addr, sizeof(in.addr), "%s", addr);
	ck_assert_int_eq(mds_ds_register(m, &in, &id), 0);
	return id;
}

static void commit_chunk(uint64_t ino, uint64_t h, uint64_t index, uint32_t len,
			 struct mds_chunk *got)
{
	struct mds_chunk *a = NULL;
	struct db_inode n;
	struct mds_commit cw = { 0 };

	ck_assert_int_eq(mds_ns_allocate(m, &root, 0, ino, h, &index, NULL, 1, &a), 0);
	a[0].c.length = len;
	cw.chunks = a;
	cw.n = 1;
	ck_assert_int_eq(mds_ns_commit(m, &root, 0, ino, h, &cw, &n, NULL), 0);
	if (got)
		*got = a[0];
	free(a);
}

/* With no data server up, an allocation is refused with EAGAIN (the
 * client retries until its deadline), not ENOSPC: nothing is full. */
START_TEST(test_allocate_no_ds)
{
	struct mds_chunk *a = NULL;
	struct mds_open o;
	uint64_t idx = 0, s7 = new_session("c7");

	ck_assert_int_eq(mds_ns_create(m, &root, s7, 1, "f", 0644, 0, O_RDWR | O_CREAT, &o, NULL), 0);
	ck_assert_int_eq(mds_ns_allocate(m, &root, s7, o.attr.ino, o.handle, &idx, NULL, 1, &a), -EAGAIN);
	ck_assert_ptr_null(a);
	add_ds("uuid-nd", "127.0.0.1:1");
	add_ds("uuid-nd2", "127.0.0.1:2");
	ck_assert_int_eq(mds_ns_allocate(m, &root, s7, o.attr.ino, o.handle, &idx, NULL, 1, &a), 0);
	free(a);
	mds_open_release(&o);
}
END_TEST

/* A chunk written twice before its first commit keeps its id when the
 * client names its uncommitted version; a wrong or foreign one is ignored. */
START_TEST(test_allocate_pending)
{
	struct mds_chunk *a = NULL, *b = NULL, *c = NULL;
	uint64_t idx = 3, pend[2], s7 = new_session("c7");
	struct mds_commit cw = { 0 };
	struct mds_open o, o2;
	struct db_inode n;

	add_ds("uuid-p1", "127.0.0.1:1");
	add_ds("uuid-p2", "127.0.0.1:2");
	ck_assert_int_eq(mds_ns_create(m, &root, s7, 1, "p", 0644, 0, O_RDWR | O_CREAT, &o, NULL), 0);
	ck_assert_int_eq(mds_ns_create(m, &root, s7, 1, "q", 0644, 0, O_RDWR | O_CREAT, &o2, NULL), 0);
	ck_assert_int_eq(mds_ns_allocate(m, &root, s7, o.attr.ino, o.handle, &idx, NULL, 1, &a), 0);
	pend[0] = a[0].c.chunk_id;
	pend[1] = a[0].c.version;
	ck_assert_int_eq(mds_ns_allocate(m, &root, s7, o.attr.ino, o.handle, &idx, pend, 1, &b), 0);
	ck_assert_uint_eq(b[0].c.chunk_id, a[0].c.chunk_id);
	ck_assert_uint_gt(b[0].c.version, a[0].c.version);
	ck_assert_uint_eq(b[0].c.replicas[0], a[0].c.replicas[0]);
	ck_assert_uint_eq(b[0].base_version, 0);	/* nothing committed under it */
	free(c);
	/* Another session, another file, another index, an unknown version:
	 * a new chunk id each time. */
	ck_assert_int_eq(mds_ns_allocate(m, &root, 8, o.attr.ino, 0, &idx, pend, 1, &c), 0);
	ck_assert_uint_ne(c[0].c.chunk_id, a[0].c.chunk_id);
	free(c);
	ck_assert_int_eq(mds_ns_allocate(m, &root, s7, o2.attr.ino, o2.handle, &idx, pend, 1, &c), 0);
	ck_assert_uint_ne(c[0].c.chunk_id, a[0].c.chunk_id);
	free(c);
	idx = 4;
	ck_assert_int_eq(mds_ns_allocate(m, &root, s7, o.attr.ino, o.handle, &idx, pend, 1, &c), 0);
	ck_assert_uint_ne(c[0].c.chunk_id, a[0].c.chunk_id);
	free(c);
	idx = 3;
	pend[1] += 1000;
	ck_assert_int_eq(mds_ns_allocate(m, &root, s7, o.attr.ino, o.handle, &idx, pend, 1, &c), 0);
	ck_assert_uint_ne(c[0].c.chunk_id, a[0].c.chunk_id);
	free(c);
	/* The newer one commits; the chunk map holds it. */
	b[0].c.length = 1000;
	cw.chunks = b;
	cw.n = 1;
	ck_assert_int_eq(mds_ns_commit(m, &root, s7, o.attr.ino, o.handle, &cw, &n, NULL), 0);
	ck_assert_uint_eq(n.size, 3ull * GN_CHUNK_SIZE + 1000);
	{
		struct mds_chunk *cs = NULL;
		size_t cnt;
		uint64_t size;

		ck_assert_int_eq(mds_ns_getchunks(m, &root, o.attr.ino, 3, 1, &cs, &cnt, &size), 0);
		ck_assert_uint_eq(cnt, 1);
		ck_assert_uint_eq(cs[0].c.chunk_id, a[0].c.chunk_id);
		ck_assert_uint_eq(cs[0].c.version, b[0].c.version);
		free(cs);
	}
	free(a);
	free(b);
	mds_ns_close(m, s7, o.attr.ino, o.handle);
	mds_ns_close(m, s7, o2.attr.ino, o2.handle);
	mds_open_release(&o);
	mds_open_release(&o2);
}
END_TEST

/* readdir plus and lookup hand out chunk 0 of files held whole in it, as
 * of the call: none for empty files, larger files, directories, or
 * readdir without plus. */
START_TEST(test_readdir_first_chunk)
{
	struct mds_open small, big, empty;
	struct mds_chunk c0, c0b;
	struct mds_dirent *e = NULL;
	size_t n;
	struct db_inode dn;
	bool eof;

	add_ds("uuid-1", "127.0.0.1:1");
	add_ds("uuid-2", "127.0.0.1:2");
	ck_assert_int_eq(mds_ns_mkdir(m, &root, 1, "d", 0755, 0, &dn, NULL), 0);
	ck_assert_int_eq(mds_ns_create(m, &root, 0, 1, "big", 0644, 0, O_RDWR | O_CREAT, &big, NULL), 0);
	ck_assert_int_eq(mds_ns_create(m, &root, 0, 1, "empty", 0644, 0, O_RDWR | O_CREAT, &empty, NULL), 0);
	ck_assert_int_eq(mds_ns_create(m, &root, 0, 1, "small", 0644, 0, O_RDWR | O_CREAT, &small, NULL), 0);
	commit_chunk(small.attr.ino, small.handle, 0, 100000, &c0);
	commit_chunk(big.attr.ino, big.handle, 0, GN_CHUNK_SIZE, NULL);
	commit_chunk(big.attr.ino, big.handle, 1, 10, NULL);

	ck_assert_int_eq(mds_ns_readdir(m, &root, 1, 0, 10, true, &e, &n, &eof), 0);
	ck_assert_uint_eq(n, 4);
	for (size_t i = 0; i < n; i++) {
		if (strcmp(e[i].name, "small")) {
			ck_assert_msg(e[i].first.c.version == 0, "%s has a hint", e[i].name);
			continue;
		}
		ck_assert_uint_eq(e[i].first.index, 0);
		ck_assert_uint_eq(e[i].first.c.chunk_id, c0.c.chunk_id);
		ck_assert_uint_eq(e[i].first.c.version, c0.c.version);
		ck_assert_uint_eq(e[i].first.c.length, 100000);
		ck_assert_uint_eq(e[i].first.c.nreplicas, 2);
	}
	free(e);
	/* A rewrite is what the next listing gives; plain readdir gives none. */
	commit_chunk(small.attr.ino, small.handle, 0, 200000, &c0b);
	ck_assert_int_eq(mds_ns_readdir(m, &root, 1, 0, 10, true, &e, &n, &eof), 0);
	for (size_t i = 0; i < n; i++)
		if (!strcmp(e[i].name, "small"))
			ck_assert_uint_eq(e[i].first.c.version, c0b.c.version);
	free(e);
	ck_assert_int_eq(mds_ns_readdir(m, &root, 1, 0, 10, false, &e, &n, &eof), 0);
	for (size_t i = 0; i < n; i++)
		ck_assert_uint_eq(e[i].first.c.version, 0);
	free(e);
	/* Lookup gives the same. */
	ck_assert_int_eq(mds_ns_lookup_first(m, &root, 1, "small", &dn, &c0), 0);
	ck_assert_uint_eq(c0.c.version, c0b.c.version);
	ck_assert_uint_eq(c0.c.length, 200000);
	ck_assert_int_eq(mds_ns_lookup_first(m, &root, 1, "big", &dn, &c0), 0);
	ck_assert_uint_eq(c0.c.version, 0);
	ck_assert_int_eq(mds_ns_lookup_first(m, &root, 1, "d", &dn, &c0), 0);
	ck_assert_uint_eq(c0.c.version, 0);
	mds_open_release(&small);
	mds_open_release(&big);
	mds_open_release(&empty);
}
END_TEST

START_TEST(test_chunks)
{
	uint32_t d1 = add_ds("uuid-1", "127.0.0.1:1"), d2 = add_ds("uuid-2", "127.0.0.1:2");
	struct mds_open o;
	struct mds_chunk c0, c0b, c1, *cs = NULL;
	struct mds_ds_work w;
	struct mds_ds_info hb = { 0 };
	struct db_inode n;
	struct mds_setattr sa = { .valid = MDS_SET_SIZE };
	size_t cnt;
	uint64_t size;
	uint64_t idx = MDS_MAX_CHUNK_INDEX + 1;

	ck_assert_uint_eq(d1, 1);
	ck_assert_uint_eq(d2, 2);
	ck_assert_uint_eq(add_ds("uuid-1", "127.0.0.1:9"), 1);	/* persistent id */
	ck_assert_int_eq(mds_ns_create(m, &root, 0, 1, "f", 0644, 0, O_RDWR | O_CREAT, &o, NULL), 0);
	ck_assert_uint_eq(o.replicas, 2);
	commit_chunk(o.attr.ino, o.handle, 0, GN_CHUNK_SIZE, &c0);
	ck_assert_uint_eq(c0.c.nreplicas, 2);
	ck_assert_uint_eq(c0.base_version, 0);
	commit_chunk(o.attr.ino, o.handle, 1, 1000, &c1);
	ck_assert_uint_eq(attr(o.attr.ino).size, GN_CHUNK_SIZE + 1000);
	/* rewrite chunk 0: same id, new version, old one queued for deletion */
	commit_chunk(o.attr.ino, o.handle, 0, GN_CHUNK_SIZE, &c0b);
	ck_assert_uint_eq(c0b.c.chunk_id, c0.c.chunk_id);
	ck_assert_uint_eq(c0b.base_version, c0.c.version);
	ck_assert_uint_gt(c0b.c.version, c0.c.version);
	hb.id = d1;
	snprintf(hb.uuid, sizeof(hb.uuid), "uuid-1");
	ck_assert_int_eq(mds_ds_heartbeat(m, &hb, &w), 0);
	ck_assert_uint_eq(w.ndel, 1);
	ck_assert_uint_eq(w.del[0].chunk_id, c0.c.chunk_id);
	ck_assert_uint_eq(w.del[0].version, c0.c.version);
	mds_ds_work_release(&w);
	ck_assert_int_eq(mds_ds_heartbeat(m, &hb, &w), 0);
	ck_assert_uint_eq(w.ndel, 0);
	mds_ds_work_release(&w);
	hb.id = 77;
	ck_assert_int_eq(mds_ds_heartbeat(m, &hb, &w), 0);
	ck_assert(w.unknown);
	/* commit of a version never allocated */
	{
		struct mds_commit cw = { .chunks = &c0, .n = 1 };
		ck_assert_int_eq(mds_ns_commit(m, &root, 0, o.attr.ino, o.handle, &cw, &n, NULL), -ESTALE);
	}
	ck_assert_int_eq(mds_ns_allocate(m, &root, 0, o.attr.ino, o.handle, &idx, NULL, 1, &cs), -EFBIG);
	/* shrink: chunk 1 dropped, chunk 0 shortened */
	sa.size = 100;
	ck_assert_int_eq(mds_ns_setattr(m, &root, o.attr.ino, &sa, &n, NULL), 0);
	ck_assert_int_eq(mds_ns_getchunks(m, &root, o.attr.ino, 0, 0, &cs, &cnt, &size), 0);
	ck_assert_uint_eq(cnt, 1);
	ck_assert_uint_eq(cs[0].c.length, 100);
	ck_assert_uint_eq(size, 100);
	free(cs);
	/* grow: a hole, no chunk */
	sa.size = 3 * (uint64_t)GN_CHUNK_SIZE;
	ck_assert_int_eq(mds_ns_setattr(m, &root, o.attr.ino, &sa, &n, NULL), 0);
	ck_assert_int_eq(mds_ns_getchunks(m, &root, o.attr.ino, 0, 0, &cs, &cnt, &size), 0);
	ck_assert_uint_eq(cnt, 1);
	ck_assert_uint_eq(size, 3 * (uint64_t)GN_CHUNK_SIZE);
	free(cs);
	ck_assert_int_eq(mds_ns_close(m, 0, o.attr.ino, o.handle), 0);
	mds_open_release(&o);
	/* policy */
	ck_assert_int_eq(mds_ns_setpolicy(m, &root, 1, 1, 1), 0);
	ck_assert_int_eq(mds_ns_setpolicy(m, &u1, 1, 1, 0), -EPERM);
	ck_assert_int_eq(mds_ns_setpolicy(m, &root, 1, 9, 0), -EINVAL);
	ck_assert_int_eq(mds_ns_create(m, &root, 0, 1, "g", 0644, 0, O_RDWR | O_CREAT, &o, NULL), 0);
	ck_assert_uint_eq(o.replicas, 1);
	ck_assert_uint_eq(o.compression, 1);
	ck_assert_int_eq(mds_ns_setpolicy(m, &root, o.attr.ino, 1, 0), -ENOTDIR);
	ck_assert_int_eq(mds_ns_close(m, 0, o.attr.ino, o.handle), 0);
	mds_open_release(&o);
	ck_assert_int_eq(check_store(), 0);
}
END_TEST

START_TEST(test_open_unlinked)
{
	struct mds_open o, o2;
	struct db_inode n;

	add_ds("u1", "127.0.0.1:1");
	ck_assert_int_eq(mds_ns_create(m, &root, 0, 1, "f", 0644, 0, O_RDWR | O_CREAT | O_EXCL, &o, NULL), 0);
	ck_assert_int_eq(mds_ns_create(m, &root, 0, 1, "f", 0644, 0, O_RDWR | O_CREAT | O_EXCL, &o2, NULL), -EEXIST);
	commit_chunk(o.attr.ino, o.handle, 0, 10, NULL);
	ck_assert_int_eq(mds_ns_unlink(m, &root, 1, "f", NULL), 0);
	ck_assert_int_eq(mds_ns_getattr(m, o.attr.ino, &n), 0);
	ck_assert_uint_eq(n.nlink, 0);
	ck_assert_int_eq(check_store(), 0);
	ck_assert_int_eq(mds_ns_close(m, 0, o.attr.ino, o.handle), 0);
	ck_assert_int_eq(mds_ns_getattr(m, o.attr.ino, &n), -ENOENT);
	mds_open_release(&o);
	/* O_TRUNC and access checks at open */
	chmod_root(1, 0777);
	ck_assert_int_eq(mds_ns_create(m, &u1, 0, 1, "g", 0600, 0, O_WRONLY | O_CREAT, &o, NULL), 0);
	ck_assert_int_eq(mds_ns_open(m, &u2, 0, o.attr.ino, O_RDONLY, &o2, NULL), -EACCES);
	ck_assert_int_eq(mds_ns_open(m, &root, 0, 1, O_WRONLY, &o2, NULL), -EISDIR);
	mds_ns_close(m, 0, o.attr.ino, o.handle);
	mds_open_release(&o);
	ck_assert_int_eq(check_store(), 0);
}
END_TEST

/* A handle serves only the session that opened it: handle ids are
 * guessable, and another session's must neither close the file (an
 * unlinked one would be reclaimed under its reader) nor stand in for write
 * permission. */
START_TEST(test_handle_foreign_session)
{
	struct mds_setattr sa = { .valid = MDS_SET_SIZE, .size = 0 };
	struct mds_commit cw = { 0 };
	struct mds_chunk *a = NULL;
	struct mds_open o, o2;
	struct db_inode n;
	uint64_t idx = 0, s7 = new_session("c7"), s8 = new_session("c8");

	add_ds("uuid-fs", "127.0.0.1:1");
	chmod_root(1, 0777);
	ck_assert_int_eq(mds_ns_create(m, &u1, s7, 1, "f", 0600, 0, O_WRONLY | O_CREAT, &o, NULL), 0);
	/* u2 has no write permission on f: session 8 naming 7's handle. */
	ck_assert_int_eq(mds_ns_allocate(m, &u2, s8, o.attr.ino, o.handle, &idx, NULL, 1, &a), -EBADF);
	ck_assert_ptr_null(a);
	ck_assert_int_eq(mds_ns_commit(m, &u2, s8, o.attr.ino, o.handle, &cw, &n, NULL), -EBADF);
	sa.handle = o.handle;
	sa.session = s8;
	ck_assert_int_eq(mds_ns_setattr(m, &u2, o.attr.ino, &sa, &n, NULL), -EACCES);
	ck_assert_int_eq(mds_ns_close(m, s8, o.attr.ino, o.handle), -EBADF);
	/* The owner's handle still works, and still holds the unlinked file. */
	ck_assert_int_eq(mds_ns_allocate(m, &u1, s7, o.attr.ino, o.handle, &idx, NULL, 1, &a), 0);
	a[0].c.length = 10;
	cw.chunks = a;
	cw.n = 1;
	ck_assert_int_eq(mds_ns_commit(m, &u1, s7, o.attr.ino, o.handle, &cw, &n, NULL), 0);
	free(a);
	ck_assert_int_eq(mds_ns_unlink(m, &u1, 1, "f", NULL), 0);
	ck_assert_int_eq(mds_ns_close(m, s8, o.attr.ino, o.handle), -EBADF);
	ck_assert_int_eq(mds_ns_getattr(m, o.attr.ino, &n), 0);
	ck_assert_uint_eq(n.size, 10);
	ck_assert_int_eq(mds_ns_close(m, s7, o.attr.ino, o.handle), 0);
	ck_assert_int_eq(mds_ns_getattr(m, o.attr.ino, &n), -ENOENT);
	mds_open_release(&o);
	/* A session that ended (here between the call's check and the open)
	 * gets no handle: nothing would ever close it. */
	ck_assert_int_eq(mds_ns_create(m, &u1, s8, 1, "g", 0600, 0, O_WRONLY | O_CREAT, &o, NULL), 0);
	ck_assert_int_eq(mds_session_close(m, s8), 0);
	ck_assert_int_eq(mds_open_count(m, o.attr.ino), 0);
	ck_assert_int_eq(mds_ns_open(m, &u1, s8, o.attr.ino, O_RDONLY, &o2, NULL), -EUNATCH);
	ck_assert_int_eq(mds_ns_create(m, &u1, s8, 1, "g", 0600, 0, O_RDWR | O_CREAT, &o2, NULL), -EUNATCH);
	ck_assert_int_eq(mds_open_count(m, o.attr.ino), 0);
	ck_assert_int_eq(mds_ns_unlink(m, &u1, 1, "g", NULL), 0);
	ck_assert_int_eq(mds_ns_getattr(m, o.attr.ino, &n), -ENOENT);
	mds_open_release(&o);
	ck_assert_int_eq(check_store(), 0);
}
END_TEST

START_TEST(test_sessions)
{
	uint64_t s1, s2, r, seq;
	struct mds_inval *inv;
	struct mds_open o;
	size_t n;
	uint64_t d = mkdir_as(&root, 1, "sub", 0755);

	mds_free(m);
	{
		struct mds_opts opt = { .data_dir = dir, .group_commit = true,
					.lease_ms = 2000, .session_timeout_ms = 1000,
					.default_replicas = 1, .no_ticker = true };
		ck_assert_int_eq(mds_new(&opt, &m), 0);
	}
	ck_assert_int_eq(mds_session_open(m, &root, "c1", "p", "/sub", 0, &s1, &r), 0);
	ck_assert_uint_eq(r, d);
	ck_assert_int_eq(mds_session_open(m, &root, "c1", "p", "/nope", 0, &s2, &r), -ENOENT);
	ck_assert_int_eq(mds_session_open(m, &root, "c2", "p", "", 0, &s2, &r), 0);
	ck_assert_uint_eq(r, 1);
	/* s1 caches d's attributes; s2 changes them: s1 gets a recall. */
	mds_lease_grant(m, s1, d, false);
	{
		struct mds_changes ch = { 0 };
		struct mds_setattr sa = { .valid = MDS_SET_MODE, .mode = 0700 };
		struct db_inode a;
		ck_assert_int_eq(mds_ns_setattr(m, &root, d, &sa, &a, &ch), 0);
		/* No ack comes: the recall waits out the lease (bounded). */
		mds_lease_recall(m, s2, &ch);
	}
	ck_assert_int_eq(mds_session_heartbeat(m, s1, 0, 0, &inv, &n, &seq), 0);
	ck_assert_uint_ge(n, 1);
	ck_assert_int_eq(inv[0].kind, MDS_INV_ATTR);
	ck_assert_uint_eq(inv[0].ino, d);
	free(inv);
	ck_assert_int_eq(mds_session_heartbeat(m, s1, seq, 0, &inv, &n, &seq), 0);
	ck_assert_uint_eq(n, 0);
	free(inv);
	/* open-unlinked file held by s2; s2 expires: reclaimed */
	ck_assert_int_eq(mds_ns_create(m, &root, s2, 1, "f", 0644, 0, O_RDWR | O_CREAT, &o, NULL), 0);
	ck_assert_int_eq(mds_ns_unlink(m, &root, 1, "f", NULL), 0);
	ck_assert_int_eq(mds_ns_getattr(m, o.attr.ino, &(struct db_inode){ 0 }), 0);
	/* restart: s2 and its orphan survive until the timeout */
	mds_free(m);
	{
		struct mds_opts opt = { .data_dir = dir, .group_commit = true,
					.lease_ms = 2000, .session_timeout_ms = 300,
					.default_replicas = 1, .no_ticker = true };
		ck_assert_int_eq(mds_new(&opt, &m), 0);
	}
	ck_assert_int_eq(mds_ns_getattr(m, o.attr.ino, &(struct db_inode){ 0 }), 0);
	ck_assert(mds_session_known(m, s2));
	usleep(400 * 1000);
	mds_tick(m);
	ck_assert(!mds_session_known(m, s2));
	ck_assert_int_eq(mds_ns_getattr(m, o.attr.ino, &(struct db_inode){ 0 }), -ENOENT);
	ck_assert_int_eq(mds_session_heartbeat(m, s2, 0, 0, &inv, &n, &seq), -EUNATCH);
	mds_open_release(&o);
	ck_assert_int_eq(check_store(), 0);
}
END_TEST

struct par_arg {
	int id;
	int fails;
};

static void *par_creates(void *p)
{
	struct par_arg *a = p;
	char name[32];

	for (int i = 0; i < 100; i++) {
		struct db_inode n;
		snprintf(name, sizeof(name), "t%d-%d", a->id, i);
		if (mds_ns_mknod(m, &root, 1, name, S_IFREG | 0644, 0, 0, &n, NULL))
			a->fails++;
		if (i % 10 == 0 && mds_ns_unlink(m, &root, 1, name, NULL))
			a->fails++;
	}
	return NULL;
}

START_TEST(test_group_commit)
{
	pthread_t th[8];
	struct par_arg args[8];
	struct db_stats st;
	bool eof = false;
	uint64_t cookie = 0;
	size_t total = 0;

	for (int i = 0; i < 8; i++) {
		args[i] = (struct par_arg){ .id = i };
		pthread_create(&th[i], NULL, par_creates, &args[i]);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(th[i], NULL);
		ck_assert_int_eq(args[i].fails, 0);
	}
	while (!eof) {
		struct mds_dirent *e;
		size_t n;
		ck_assert_int_eq(mds_ns_readdir(m, &root, 1, cookie, 100, false, &e, &n, &eof), 0);
		total += n;
		if (n)
			cookie = e[n - 1].cookie;
		free(e);
	}
	ck_assert_uint_eq(total, 8 * 90);
	db_get_stats(mds_db(m), &st);
	/* Batching happened: fewer commits than operations. */
	ck_assert_uint_lt(st.commits, st.ops);
	ck_assert_int_eq(check_store(), 0);
}
END_TEST

START_TEST(test_enospc)
{
	static char big[MDS_XATTR_VALUE_MAX];
	struct db_inode n;
	uint64_t f0;
	char name[64];
	int ret = 0, i;

	mds_free(m);
	m = open_mds(2 << 20, true);	/* at most 2 MiB */
	f0 = mkfile_as(&root, 1, "first", 0644);
	/* Fill most of the map with large xattrs (few commits, each synced:
	 * fast even on a busy disk), then the rest with entries, so that it
	 * fills the way a namespace does (a map filled to the last page by
	 * one big value leaves no room even for a delete's copied pages). */
	memset(big, 'x', sizeof(big));
	for (i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "user.fill%04d", i);
		ck_assert_int_eq(mds_ns_setxattr(m, &root, f0, name, big,
						 sizeof(big), 0, NULL), 0);
	}
	ret = 0;
	for (i = 0; i < 100000 && ret == 0; i++) {
		snprintf(name, sizeof(name), "a-rather-long-file-name-to-fill-pages-%06d", i);
		ret = mds_ns_mknod(m, &root, 1, name, S_IFREG | 0644, 0, 0, &n, NULL);
	}
	ck_assert_int_eq(ret, -ENOSPC);
	ck_assert_int_eq(lookup(1, name, NULL), -ENOENT);
	ck_assert_int_eq(check_store(), 0);
	/* Removing frees room again. */
	ck_assert_int_eq(mds_ns_removexattr(m, &root, f0, "user.fill0000", NULL), 0);
	ck_assert_int_eq(mds_ns_mknod(m, &root, 1, name, S_IFREG | 0644, 0, 0, &n, NULL), 0);
}
END_TEST

START_TEST(test_restart_and_check)
{
	uint64_t d = mkdir_as(&root, 1, "keep", 0750), x;

	mkfile_as(&root, d, "f", 0600);
	mds_free(m);
	m = open_mds(0, false);
	ck_assert_int_eq(lookup(d, "f", &x), 0);
	ck_assert_uint_eq(attr(d).mode, S_IFDIR | 0750);
	ck_assert_int_eq(check_store(), 0);
}
END_TEST

/* An MDS whose session timeout (100 ms) lets pending collection run
 * within a test; one data server "uuid-gc" registered, its id returned. */
static uint32_t open_gc_mds(struct mds_ds_info *hb)
{
	struct mds_opts opt = { .data_dir = dir, .group_commit = true,
				.session_timeout_ms = 100, .ds_timeout_ms = 60000,
				.default_replicas = 1, .no_ticker = true };

	mds_free(m);
	ck_assert_int_eq(mds_new(&opt, &m), 0);
	memset(hb, 0, sizeof(*hb));
	hb->id = add_ds("uuid-gc", "127.0.0.1:1");
	snprintf(hb->uuid, sizeof(hb->uuid), "uuid-gc");
	return hb->id;
}

/* Deletions the data server of hb is handed now: count, and the first. */
static size_t gc_deletions(struct mds_ds_info *hb, uint64_t *id, uint64_t *ver)
{
	struct mds_ds_work w;
	size_t n;

	ck_assert_int_eq(mds_ds_heartbeat(m, hb, &w), 0);
	n = w.ndel;
	if (n) {
		*id = w.del[0].chunk_id;
		*ver = w.del[0].version;
	}
	mds_ds_work_release(&w);
	return n;
}

/* Versions allocated but never committed, without a session (or whose
 * session ended), are queued for deletion. */
START_TEST(test_pending_gc)
{
	struct mds_ds_info hb;
	struct mds_chunk *a = NULL;
	struct mds_ds_work w;
	struct mds_open o;
	uint64_t idx = 0;
	uint32_t d = open_gc_mds(&hb);

	ck_assert_int_eq(mds_ns_create(m, &root, 0, 1, "f", 0644, 0, O_RDWR | O_CREAT, &o, NULL), 0);
	ck_assert_int_eq(mds_ns_allocate(m, &root, 0, o.attr.ino, o.handle, &idx, NULL, 1, &a), 0);
	ck_assert_uint_eq(a[0].c.replicas[0], d);
	usleep(1100 * 1000);
	mds_tick(m);
	ck_assert_int_eq(mds_ds_heartbeat(m, &hb, &w), 0);
	ck_assert_uint_eq(w.ndel, 1);
	ck_assert_uint_eq(w.del[0].chunk_id, a[0].c.chunk_id);
	ck_assert_uint_eq(w.del[0].version, a[0].c.version);
	mds_ds_work_release(&w);
	/* A commit of the collected allocation is refused. */
	{
		struct mds_commit cw = { .chunks = a, .n = 1 };
		struct db_inode n;
		ck_assert_int_eq(mds_ns_commit(m, &root, 0, o.attr.ino, o.handle, &cw, &n, NULL), -ESTALE);
	}
	free(a);
	mds_ns_close(m, 0, o.attr.ino, o.handle);
	mds_open_release(&o);
}
END_TEST

/* A live session keeps its uncommitted versions however long it takes
 * to commit them (a writer slower than twice the session timeout); the
 * versions its commit supersedes go at that commit; the rest go when the
 * session ends. */
START_TEST(test_pending_session)
{
	struct mds_ds_info hb;
	struct mds_chunk *v1 = NULL, *v2 = NULL, *c1 = NULL, *e = NULL;
	struct mds_inval *inv = NULL;
	struct mds_open o;
	struct db_inode n;
	uint64_t sid, r, seq, id = 0, ver = 0, idx0 = 0, idx1 = 1, idx2 = 2, pend[2];
	size_t ninv;

	open_gc_mds(&hb);
	add_ds("uuid-gc2", "127.0.0.1:2");	/* the root asks for 2 replicas */
	ck_assert_int_eq(mds_session_open(m, &root, "c", "p", "", 0, &sid, &r), 0);
	ck_assert_int_eq(mds_ns_create(m, &root, sid, 1, "f", 0644, 0, O_RDWR | O_CREAT, &o, NULL), 0);
	ck_assert_int_eq(mds_ns_allocate(m, &root, sid, o.attr.ino, o.handle, &idx0, NULL, 1, &v1), 0);
	pend[0] = v1[0].c.chunk_id;
	pend[1] = v1[0].c.version;
	ck_assert_int_eq(mds_ns_allocate(m, &root, sid, o.attr.ino, o.handle, &idx0, pend, 1, &v2), 0);
	ck_assert_uint_eq(v2[0].c.chunk_id, v1[0].c.chunk_id);
	ck_assert_int_eq(mds_ns_allocate(m, &root, sid, o.attr.ino, o.handle, &idx1, NULL, 1, &c1), 0);

	/* Older than twice the session timeout, the session alive: kept. */
	usleep(1100 * 1000);
	ck_assert_int_eq(mds_session_heartbeat(m, sid, 0, 0, &inv, &ninv, &seq), 0);
	free(inv);
	mds_tick(m);
	ck_assert_uint_eq(gc_deletions(&hb, &id, &ver), 0);

	/* Committing v2 drops v1, which it superseded. */
	{
		struct mds_commit cw = { .chunks = v2, .n = 1 };
		ck_assert_int_eq(mds_ns_commit(m, &root, sid, o.attr.ino, o.handle, &cw, &n, NULL), 0);
	}
	ck_assert_uint_eq(gc_deletions(&hb, &id, &ver), 1);
	ck_assert_uint_eq(id, v1[0].c.chunk_id);
	ck_assert_uint_eq(ver, v1[0].c.version);
	{
		struct mds_commit cw = { .chunks = c1, .n = 1 };
		ck_assert_int_eq(mds_ns_commit(m, &root, sid, o.attr.ino, o.handle, &cw, &n, NULL), 0);
	}
	ck_assert_uint_eq(gc_deletions(&hb, &id, &ver), 0);

	/* The session ends: its one uncommitted version goes. */
	ck_assert_int_eq(mds_ns_allocate(m, &root, sid, o.attr.ino, o.handle, &idx2, NULL, 1, &e), 0);
	ck_assert_int_eq(mds_session_close(m, sid), 0);
	usleep(1100 * 1000);
	mds_tick(m);
	ck_assert_uint_eq(gc_deletions(&hb, &id, &ver), 1);
	ck_assert_uint_eq(id, e[0].c.chunk_id);
	ck_assert_uint_eq(ver, e[0].c.version);
	ck_assert_int_eq(check_store(), 0);
	free(v1);
	free(v2);
	free(c1);
	free(e);
	mds_open_release(&o);
}
END_TEST

static int corrupt_fn(struct db_txn *t, void *p)
{
	uint8_t key[8];
	struct db_inode n;
	const void *v;
	size_t vl;
	int ret;

	/* Drop inode *p (leaving its entry) and bump the root's nlink. */
	db_be64(key, *(uint64_t *)p);
	ret = db_del(t, DB_INODE, key, sizeof(key));
	if (ret)
		return ret;
	db_be64(key, 1);
	ret = db_get(t, DB_INODE, key, sizeof(key), &v, &vl);
	if (ret)
		return ret;
	memcpy(&n, v, sizeof(n));
	n.nlink += 5;
	return db_put(t, DB_INODE, key, sizeof(key), &n, sizeof(n), 0);
}

START_TEST(test_check_finds_problems)
{
	uint64_t f = mkfile_as(&root, 1, "f", 0644);
	char buf[4096] = "";
	FILE *out = fmemopen(buf, sizeof(buf) - 1, "w");

	ck_assert_int_eq(check_store(), 0);
	ck_assert_int_eq(db_write(mds_db(m), corrupt_fn, &f), 0);
	ck_assert_int_eq(mds_check_store(mds_db(m), out), 2);
	fclose(out);
	ck_assert_ptr_nonnull(strstr(buf, "dangling"));
	ck_assert_ptr_nonnull(strstr(buf, "directory 1: nlink 7, expected 2"));
}
END_TEST

/* ---- degraded chunks (ListDegraded) ---- */

/* Commit chunks [first, first + n) of an open file, 256 per allocation. */
static void commit_chunks(uint64_t ino, uint64_t h, uint64_t first, uint64_t n)
{
	uint64_t idx[MDS_MAX_ALLOC];

	for (uint64_t done = 0; done < n;) {
		size_t k = (size_t)GN_MIN(n - done, (uint64_t)MDS_MAX_ALLOC);
		struct mds_commit cw = { 0 };
		struct mds_chunk *a = NULL;
		struct db_inode attr_out;

		for (size_t i = 0; i < k; i++)
			idx[i] = first + done + i;
		ck_assert_int_eq(mds_ns_allocate(m, &root, 0, ino, h, idx, NULL, k, &a), 0);
		for (size_t i = 0; i < k; i++)
			a[i].c.length = 1000;
		cw.chunks = a;
		cw.n = k;
		ck_assert_int_eq(mds_ns_commit(m, &root, 0, ino, h, &cw, &attr_out, NULL), 0);
		free(a);
		done += k;
	}
}

/* A file with n chunks under parent; returns its inode. */
static uint64_t chunked_file(uint64_t parent, const char *name, uint64_t n)
{
	struct mds_open o;
	uint64_t ino;

	ck_assert_int_eq(mds_ns_create(m, &root, 0, parent, name, 0644, 0,
				       O_RDWR | O_CREAT, &o, NULL), 0);
	ino = o.attr.ino;
	commit_chunks(ino, o.handle, 0, n);
	ck_assert_int_eq(mds_ns_close(m, 0, ino, o.handle), 0);
	mds_open_release(&o);
	return ino;
}

static struct mds_chunk *chunks_of(uint64_t ino, size_t *n)
{
	struct mds_chunk *cs = NULL;
	uint64_t size;

	ck_assert_int_eq(mds_ns_getchunks(m, &root, ino, 0, 0, &cs, n, &size), 0);
	return cs;
}

static bool has_replica(const struct db_chunk *c, uint32_t id)
{
	for (uint32_t i = 0; i < c->nreplicas; i++)
		if (c->replicas[i] == id)
			return true;
	return false;
}

/* The MDS restarted: every server is down until it heartbeats. */
static void restart_with_up(const uint32_t *up, size_t n)
{
	mds_free(m);
	m = open_mds(0, true);
	for (size_t i = 0; i < n; i++) {
		struct mds_ds_info hb = { .id = up[i] };
		struct mds_ds_work w;

		snprintf(hb.uuid, sizeof(hb.uuid), "uuid-%u", up[i]);
		ck_assert_int_eq(mds_ds_heartbeat(m, &hb, &w), 0);
		ck_assert(!w.unknown);
		mds_ds_work_release(&w);
	}
}

/* Every degraded chunk, page by page (max per page, scan rows per call);
 * asserts the cursor moves forward and the whole list ascends. */
static struct mds_degraded *list_all(uint32_t max, uint32_t scan, size_t *n,
				     size_t *pages)
{
	struct mds_degraded *all = NULL;
	uint64_t ino = 0, index = 0;
	size_t cnt = 0, np = 0;

	for (;;) {
		struct mds_degraded_page pg;
		bool eof;

		ck_assert_int_eq(mds_ns_list_degraded(m, ino, index, max, scan, &pg), 0);
		ck_assert_uint_le(pg.n, max);
		all = xrealloc(all, (cnt + pg.n + 1) * sizeof(*all));
		if (pg.n)
			memcpy(all + cnt, pg.v, pg.n * sizeof(*all));
		cnt += pg.n;
		np++;
		eof = pg.eof;
		if (!eof) {
			ck_assert(pg.next_ino > ino ||
				  (pg.next_ino == ino && pg.next_index > index));
			ino = pg.next_ino;
			index = pg.next_index;
		}
		mds_degraded_page_release(&pg);
		if (eof)
			break;
		ck_assert_uint_lt(np, 1000000);
	}
	for (size_t i = 1; i < cnt; i++)
		ck_assert(all[i].ino > all[i - 1].ino ||
			  (all[i].ino == all[i - 1].ino && all[i].index > all[i - 1].index));
	*n = cnt;
	if (pages)
		*pages = np;
	return all;
}

static const struct mds_degraded *find_degraded(const struct mds_degraded *v, size_t n,
						uint64_t ino, uint64_t index)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].ino == ino && v[i].index == index)
			return &v[i];
	return NULL;
}

START_TEST(test_degraded)
{
	uint32_t ids[3] = { add_ds("uuid-1", "127.0.0.1:1"), add_ds("uuid-2", "127.0.0.1:2"),
			    add_ds("uuid-3", "127.0.0.1:3") };
	uint64_t d1 = mkdir_as(&root, 1, "r1", 0755), f, g;
	struct mds_chunk *fc, *gc;
	struct mds_degraded *l;
	struct mds_degraded_page pg;
	struct mds_status st;
	size_t nf, ng, n, want_f = 0, want_g = 0;
	uint32_t x, up[2], k = 0;

	ck_assert_uint_eq(ids[2], 3);
	ck_assert_int_eq(mds_ns_setpolicy(m, &root, d1, 1, 0), 0);
	f = chunked_file(1, "f", 12);		/* replicas 2 */
	g = chunked_file(d1, "g", 12);		/* replicas 1 */
	ck_assert_int_eq(mds_ns_list_degraded(m, 0, 0, 0, 0, &pg), -EINVAL);
	ck_assert_int_eq(mds_ns_list_degraded(m, 0, 0, MDS_DEGRADED_MAX + 1, 0, &pg), -EINVAL);

	/* Healthy: nothing listed, nothing counted. */
	l = list_all(MDS_DEGRADED_MAX, 0, &n, NULL);
	ck_assert_uint_eq(n, 0);
	free(l);

	/* The server of f's chunk 0 is down (the MDS restarted and only the
	 * others came back): f's chunks there are degraded, g's damaged. */
	fc = chunks_of(f, &nf);
	gc = chunks_of(g, &ng);
	ck_assert_uint_eq(nf, 12);
	ck_assert_uint_eq(fc[0].c.nreplicas, 2);
	x = fc[0].c.replicas[0];
	for (size_t i = 0; i < 3; i++)
		if (ids[i] != x)
			up[k++] = ids[i];
	restart_with_up(up, 2);
	l = list_all(MDS_DEGRADED_MAX, 0, &n, NULL);
	for (size_t i = 0; i < nf; i++) {
		const struct mds_degraded *d = find_degraded(l, n, f, fc[i].index);

		ck_assert(!!d == has_replica(&fc[i].c, x));
		if (!d)
			continue;
		want_f++;
		ck_assert_uint_eq(d->c.chunk_id, fc[i].c.chunk_id);
		ck_assert_uint_eq(d->c.version, fc[i].c.version);
		ck_assert_uint_eq(d->want, 2);
		ck_assert_uint_eq(d->live, 1);
		ck_assert_uint_eq(d->ndown, 1);
		ck_assert_uint_eq(d->down[0], x);
		ck_assert_uint_eq(d->bad, 0);
		ck_assert(!d->damaged);
	}
	for (size_t i = 0; i < ng; i++) {
		const struct mds_degraded *d = find_degraded(l, n, g, gc[i].index);

		ck_assert_uint_eq(gc[i].c.nreplicas, 1);
		ck_assert(!!d == (gc[i].c.replicas[0] == x));
		if (!d)
			continue;
		want_g++;
		ck_assert_uint_eq(d->want, 1);
		ck_assert_uint_eq(d->live, 0);
		ck_assert_uint_eq(d->down[0], x);
		ck_assert(d->damaged);
	}
	ck_assert_uint_eq(n, want_f + want_g);
	/* The background scan counts by the same test. */
	mds_tick(m);
	ck_assert_int_eq(mds_get_status(m, &st), 0);
	ck_assert_uint_eq(st.degraded, n);
	ck_assert_uint_eq(st.damaged, want_g);
	free(l);

	/* The server returns: healthy again. */
	{
		struct mds_ds_info hb = { .id = x };
		struct mds_ds_work w;

		snprintf(hb.uuid, sizeof(hb.uuid), "uuid-%u", x);
		ck_assert_int_eq(mds_ds_heartbeat(m, &hb, &w), 0);
		mds_ds_work_release(&w);
	}
	l = list_all(MDS_DEGRADED_MAX, 0, &n, NULL);
	ck_assert_uint_eq(n, 0);
	free(l);

	/* A replica reported bad leaves the map: the chunk is degraded and
	 * names the bad server; its other replica is still a source. */
	ck_assert_int_eq(mds_ns_report_bad(m, fc[3].c.chunk_id, fc[3].c.version,
					   fc[3].c.replicas[1]), 0);
	l = list_all(MDS_DEGRADED_MAX, 0, &n, NULL);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(l[0].ino, f);
	ck_assert_uint_eq(l[0].index, 3);
	ck_assert_uint_eq(l[0].c.nreplicas, 1);
	ck_assert_uint_eq(l[0].c.replicas[0], fc[3].c.replicas[0]);
	ck_assert_uint_eq(l[0].live, 1);
	ck_assert_uint_eq(l[0].ndown, 0);
	ck_assert_uint_eq(l[0].bad, fc[3].c.replicas[1]);
	ck_assert(!l[0].damaged);
	free(l);
	/* ... until the copy is confirmed. */
	{
		uint32_t third = 6 - fc[3].c.replicas[0] - fc[3].c.replicas[1];

		ck_assert_int_eq(mds_ds_replicated(m, third, fc[3].c.chunk_id,
						   fc[3].c.version), 0);
	}
	l = list_all(MDS_DEGRADED_MAX, 0, &n, NULL);
	ck_assert_uint_eq(n, 0);
	free(l);
	free(fc);
	free(gc);
	ck_assert_int_eq(check_store(), 0);
}
END_TEST

/* Paging over many chunks: every degraded chunk exactly once, in key
 * order, whatever the page size and however few rows one call examines. */
START_TEST(test_degraded_paging)
{
	uint32_t up[1];
	struct mds_degraded *all, *paged, *bounded;
	size_t n_all, n_paged, n_bounded, pages, nc, expect = 0;
	uint64_t big;
	struct mds_chunk *cs;
	struct mds_status st;

	add_ds("uuid-1", "127.0.0.1:1");
	add_ds("uuid-2", "127.0.0.1:2");
	add_ds("uuid-3", "127.0.0.1:3");
	chunked_file(1, "a", 3);
	big = chunked_file(1, "big", 700);
	chunked_file(1, "z", 5);
	cs = chunks_of(big, &nc);
	ck_assert_uint_eq(nc, 700);
	free(cs);

	/* Only server 1 up: chunks without a replica there are damaged, the
	 * others degraded; every chunk is listed. */
	up[0] = 1;
	restart_with_up(up, 1);
	all = list_all(MDS_DEGRADED_MAX, 0, &n_all, &pages);
	ck_assert_uint_eq(n_all, 708);
	ck_assert_uint_eq(pages, 1);
	for (size_t i = 0; i < n_all; i++) {
		ck_assert_uint_eq(all[i].live, has_replica(&all[i].c, 1) ? 1 : 0);
		ck_assert(all[i].damaged == !has_replica(&all[i].c, 1));
		expect += all[i].damaged;
	}
	mds_tick(m);
	ck_assert_int_eq(mds_get_status(m, &st), 0);
	ck_assert_uint_eq(st.degraded, 708);
	ck_assert_uint_eq(st.damaged, expect);

	/* Pages of 7 chunks: the same list. */
	paged = list_all(7, 0, &n_paged, &pages);
	ck_assert_uint_eq(n_paged, n_all);
	ck_assert_uint_eq(pages, (708 + 6) / 7);
	for (size_t i = 0; i < n_all; i++) {
		ck_assert_uint_eq(paged[i].ino, all[i].ino);
		ck_assert_uint_eq(paged[i].index, all[i].index);
		ck_assert_uint_eq(paged[i].c.chunk_id, all[i].c.chunk_id);
	}
	free(paged);

	/* Servers 1 and 2 up: only the chunks on (3, x) remain, and calls
	 * that look at 13 rows each return short (often empty) pages. */
	{
		uint32_t both[2] = { 1, 2 };

		restart_with_up(both, 2);
	}
	bounded = list_all(MDS_DEGRADED_MAX, 13, &n_bounded, &pages);
	ck_assert_uint_ge(pages, 708 / 13);
	expect = 0;
	for (size_t i = 0; i < n_all; i++)
		expect += has_replica(&all[i].c, 3);
	ck_assert_uint_eq(n_bounded, expect);
	for (size_t i = 0; i < n_bounded; i++) {
		ck_assert(has_replica(&bounded[i].c, 3));
		ck_assert_uint_eq(bounded[i].live, 1);
		ck_assert_uint_eq(bounded[i].ndown, 1);
		ck_assert_uint_eq(bounded[i].down[0], 3);
		ck_assert(!bounded[i].damaged);
	}
	paged = list_all(5, 13, &n_paged, NULL);
	ck_assert_uint_eq(n_paged, n_bounded);
	for (size_t i = 0; i < n_paged; i++)
		ck_assert_uint_eq(paged[i].c.chunk_id, bounded[i].c.chunk_id);
	/* A start past the last chunk: eof at once. */
	{
		struct mds_degraded_page pg;

		ck_assert_int_eq(mds_ns_list_degraded(m, UINT64_MAX, 0, 10, 0, &pg), 0);
		ck_assert_uint_eq(pg.n, 0);
		ck_assert(pg.eof);
		mds_degraded_page_release(&pg);
	}
	free(paged);
	free(bounded);
	free(all);
}
END_TEST

static Suite *mds_suite(void)
{
	Suite *s = suite_create("mds_ns");
	TCase *tc = tcase_create("ns");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_names);
	tcase_add_test(tc, test_check_name);
	tcase_add_test(tc, test_rpc_name);
	tcase_add_test(tc, test_create_lookup);
	tcase_add_test(tc, test_mknod_types);
	tcase_add_test(tc, test_unlink_rmdir);
	tcase_add_test(tc, test_link_symlink);
	tcase_add_test(tc, test_permissions);
	tcase_add_test(tc, test_setgid_dir);
	tcase_add_test(tc, test_permission_matrix);
	tcase_add_test(tc, test_setattr);
	tcase_add_test(tc, test_rename);
	tcase_add_test(tc, test_readdir_cursor);
	tcase_add_test(tc, test_xattr);
	tcase_add_test(tc, test_chunks);
	tcase_add_test(tc, test_readdir_first_chunk);
	tcase_add_test(tc, test_allocate_pending);
	tcase_add_test(tc, test_open_unlinked);
	tcase_add_test(tc, test_handle_foreign_session);
	tcase_add_test(tc, test_sessions);
	tcase_add_test(tc, test_group_commit);
	tcase_add_test(tc, test_enospc);
	tcase_add_test(tc, test_restart_and_check);
	tcase_add_test(tc, test_check_finds_problems);
	tcase_add_test(tc, test_pending_gc);
	tcase_add_test(tc, test_allocate_no_ds);
	tcase_add_test(tc, test_pending_session);
	tcase_add_test(tc, test_degraded);
	tcase_add_test(tc, test_degraded_paging);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	gn_log_init("check_mds", GN_LOG_ERR);
	return gn_unit_run(mds_suite());
}
