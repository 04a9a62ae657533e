/* ns_dir.c - Mknod, Mkdir, Symlink, Link, Unlink, Rmdir, Readlink, ReadDir */
#include "config.h"
#include "mds/mds_i.h"
#include "common/cksum.h"
#include "common/log.h"
#include "common/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct mkent_args {
	struct mds *m;
	const struct mds_cred *c;
	uint64_t parent;
	const char *name;
	uint32_t mode;		/* final: type | permissions */
	uint64_t rdev;
	const char *target;	/* symlinks */
	struct db_inode out;
};

/* Check that c may add `name` to dir (already read).  Lookup order as
 * Linux: search permission, existence, then write permission. */
static int ns_may_create(struct db_txn *t, const struct mds_cred *c,
			 const struct db_inode *dir, const char *name)
{
	struct db_dirent de;
	int ret;

	ret = mds_access(c, dir, 1);
	if (ret)
		return ret;
	ret = ns_get_dirent(t, dir->ino, name, &de);
	if (ret == 0)
		return -EEXIST;
	if (ret != -ENOENT)
		return ret;
	if (dir->nlink == 0)
		return -ENOENT;		/* removed directory */
	return mds_access(c, dir, 3);
}

static int mkent_fn(struct db_txn *t, void *p)
{
	struct mkent_args *a = p;
	struct db_inode dir, n;
	int64_t now = gn_now_ns();
	uint8_t key[8];
	int ret;

	ret = ns_get_dir(t, a->parent, &dir);
	if (ret)
		return ret;
	ret = ns_may_create(t, a->c, &dir, a->name);
	if (ret)
		return ret;
	if (S_ISDIR(a->mode) && dir.nlink >= MDS_LINK_MAX)
		return -EMLINK;
	ret = ns_new_inode(t, a->m, a->c, &dir, a->mode, &n);
	if (ret)
		return ret;
	n.rdev = a->rdev;
	if (a->target) {
		n.size = strlen(a->target);
		ns_u64_key(key, n.ino);
		ret = db_put(t, DB_SYMLINK, key, sizeof(key), a->target, n.size, 0);
		if (ret)
			return ret;
	}
	ret = ns_put_inode(t, &n);
	if (ret)
		return ret;
	ret = ns_add_dirent(t, &dir, a->name, n.ino, n.mode);
	if (ret)
		return ret;
	if (S_ISDIR(n.mode))
		dir.nlink++;
	dir.mtime = dir.ctime = now;
	ret = ns_put_inode(t, &dir);
	if (ret == 0)
		a->out = n;
	return ret;
}

static int ns_mkent(struct mds *m, struct mkent_args *a, struct db_inode *out,
		    struct mds_changes *ch)
{
	int ret = mds_check_name(a->name, strlen(a->name), 0);

	if (ret)
		return ret;
	ret = db_write(m->db, mkent_fn, a);
	if (ret)
		return ret;
	ns_change(ch, MDS_INV_ENTRY, a->parent, a->name);
	ns_change(ch, MDS_INV_ATTR, a->parent, NULL);
	*out = a->out;
	return 0;
}

int mds_ns_mknod(struct mds *m, const struct mds_cred *c, uint64_t parent,
		 const char *name, uint32_t mode, uint64_t rdev, uint32_t umask,
		 struct db_inode *out, struct mds_changes *ch)
{
	struct mkent_args a = { .m = m, .c = c, .parent = parent, .name = name };
	uint32_t type = mode & S_IFMT;

	switch (type) {
	case 0:
		type = S_IFREG;
		/* fall through */
	case S_IFREG:
	case S_IFIFO:
	case S_IFSOCK:
		rdev = 0;
		break;
	case S_IFCHR:
	case S_IFBLK:
		if (c->uid != 0)
			return -EPERM;
		break;
	case S_IFDIR:
		return -EPERM;
	default:
		return -EINVAL;
	}
	a.mode = type | (mode & 07777 & ~umask);
	a.rdev = rdev;
	return ns_mkent(m, &a, out, ch);
}

int mds_ns_mkdir(struct mds *m, const struct mds_cred *c, uint64_t parent,
		 const char *name, uint32_t mode, uint32_t umask,
		 struct db_inode *out, struct mds_changes *ch)
{
	struct mkent_args a = { .m = m, .c = c, .parent = parent, .name = name };

	a.mode = S_IFDIR | (mode & 07777 & ~umask);
	return ns_mkent(m, &a, out, ch);
}

int mds_ns_symlink(struct mds *m, const struct mds_cred *c, uint64_t parent,
		   const char *name, const char *target, struct db_inode *out,
		   struct mds_changes *ch)
{
	struct mkent_args a = { .m = m, .c = c, .parent = parent, .name = name,
				.target = target };
	size_t len = strlen(target);

	if (len == 0)
		return -ENOENT;
	if (len > MDS_SYMLINK_MAX)
		return -ENAMETOOLONG;
	a.mode = S_IFLNK | 0777;
	return ns_mkent(m, &a, out, ch);
}

/* ---- Link ---- */

struct link_args {
	struct mds *m;
	const struct mds_cred *c;
	uint64_t ino, parent;
	const char *name;
	struct db_inode out;
};

static int link_fn(struct db_txn *t, void *p)
{
	struct link_args *a = p;
	struct db_inode dir, n;
	int64_t now = gn_now_ns();
	int ret;

	ret = ns_get_inode(t, a->ino, &n);
	if (ret)
		return ret;
	ret = ns_get_dir(t, a->parent, &dir);
	if (ret)
		return ret;
	ret = ns_may_create(t, a->c, &dir, a->name);
	if (ret)
		return ret;
	if (S_ISDIR(n.mode))
		return -EPERM;
	if (n.nlink == 0)
		return -ENOENT;
	if (n.nlink >= MDS_LINK_MAX)
		return -EMLINK;
	ret = ns_add_dirent(t, &dir, a->name, n.ino, n.mode);
	if (ret)
		return ret;
	n.nlink++;
	n.ctime = now;
	dir.mtime = dir.ctime = now;
	ret = ns_put_inode(t, &n);
	if (ret == 0)
		ret = ns_put_inode(t, &dir);
	if (ret == 0)
		a->out = n;
	return ret;
}

int mds_ns_link(struct mds *m, const struct mds_cred *c, uint64_t ino,
		uint64_t new_parent, const char *new_name, struct db_inode *out,
		struct mds_changes *ch)
{
	struct link_args a = { .m = m, .c = c, .ino = ino, .parent = new_parent,
			       .name = new_name };
	int ret = mds_check_name(new_name, strlen(new_name), 0);

	if (ret)
		return ret;
	ret = db_write(m->db, link_fn, &a);
	if (ret)
		return ret;
	ns_change(ch, MDS_INV_ENTRY, new_parent, new_name);
	ns_change(ch, MDS_INV_ATTR, new_parent, NULL);
	ns_change(ch, MDS_INV_ATTR, ino, NULL);
	*out = a.out;
	return 0;
}

/* ---- Unlink, Rmdir ---- */

struct unlink_args {
	struct mds *m;
	const struct mds_cred *c;
	uint64_t parent;
	const char *name;
	bool dir;
	uint64_t victim;
};

static int unlink_fn(struct db_txn *t, void *p)
{
	struct unlink_args *a = p;
	struct db_inode dir, n;
	struct db_dirent de;
	int64_t now = gn_now_ns();
	int ret;

	ret = ns_get_dir(t, a->parent, &dir);
	if (ret)
		return ret;
	ret = mds_access(a->c, &dir, 1);
	if (ret)
		return ret;
	ret = ns_get_dirent(t, a->parent, a->name, &de);
	if (ret)
		return ret;
	ret = ns_get_inode(t, de.ino, &n);
	if (ret)
		return ret;
	ret = mds_access(a->c, &dir, 3);
	if (ret)
		return ret;
	ret = ns_sticky_ok(a->c, &dir, &n);
	if (ret)
		return ret;
	if (a->dir && !S_ISDIR(n.mode))
		return -ENOTDIR;
	if (!a->dir && S_ISDIR(n.mode))
		return -EISDIR;
	if (a->dir && !ns_dir_empty(t, n.ino))
		return -ENOTEMPTY;
	ret = ns_del_dirent(t, a->parent, a->name);
	if (ret)
		return ret;
	dir.mtime = dir.ctime = now;
	if (a->dir) {
		dir.nlink--;
		ret = ns_reclaim(t, n.ino);
	} else {
		ret = ns_drop_link(t, a->m, &n, now);
	}
	if (ret == 0)
		ret = ns_put_inode(t, &dir);
	a->victim = n.ino;
	return ret;
}

static int ns_remove(struct mds *m, const struct mds_cred *c, uint64_t parent,
		     const char *name, bool dir, struct mds_changes *ch)
{
	struct unlink_args a = { .m = m, .c = c, .parent = parent, .name = name,
				 .dir = dir };
	int ret;

	if (dir && !strcmp(name, ".."))
		return -ENOTEMPTY;
	ret = mds_check_name(name, strlen(name), 0);
	if (ret)
		return ret;
	ret = db_write(m->db, unlink_fn, &a);
	if (ret)
		return ret;
	ns_change(ch, MDS_INV_ENTRY, parent, name);
	ns_change(ch, MDS_INV_ATTR, parent, NULL);
	ns_change(ch, MDS_INV_ATTR, a.victim, NULL);
	return 0;
}

int mds_ns_unlink(struct mds *m, const struct mds_cred *c, uint64_t parent,
		  const char *name, struct mds_changes *ch)
{
	return ns_remove(m, c, parent, name, false, ch);
}

int mds_ns_rmdir(struct mds *m, const struct mds_cred *c, uint64_t parent,
		 const char *name, struct mds_changes *ch)
{
	return ns_remove(m, c, parent, name, true, ch);
}

/* ---- Readlink ---- */

int mds_ns_readlink(struct mds *m, const struct mds_cred *c, uint64_t ino,
		    char **target)
{
	struct db_inode n;
	struct db_txn *t;
	uint8_t key[8];
	const void *v;
	size_t vl;
	int ret = db_read_begin(m->db, &t);

	if (ret)
		return ret;
	ret = ns_get_inode(t, ino, &n);
	if (ret)
		goto out;
	if (!S_ISLNK(n.mode)) {
		ret = -EINVAL;
		goto out;
	}
	ns_u64_key(key, ino);
	ret = db_get(t, DB_SYMLINK, key, sizeof(key), &v, &vl);
	if (ret) {
		ret = ret == -ENOENT ? -EIO : ret;
		goto out;
	}
	*target = xmalloc(vl + 1);
	memcpy(*target, v, vl);
	(*target)[vl] = '\0';
out:
	db_txn_end(t);
	return ret;
}

/* ---- ReadDir ---- */

int mds_ns_readdir(struct mds *m, const struct mds_cred *c, uint64_t ino,
		   uint64_t cookie, uint32_t max, bool plus,
		   struct mds_dirent **ents, size_t *n, bool *eof)
{
	struct mds_dirent *e = NULL;
	struct db_cursor *cur = NULL;
	struct db_inode dir;
	struct db_txn *t;
	uint8_t key[16];
	const void *k, *v;
	size_t kl, vl, cnt = 0;
	bool end = false;
	int ret;

	if (max == 0 || max > 4096)
		return -EINVAL;
	ret = db_read_begin(m->db, &t);
	if (ret)
		return ret;
	ret = ns_get_dir(t, ino, &dir);
	if (ret)
		goto out;
	ret = mds_access(c, &dir, 4);
	if (ret)
		goto out;
	ret = db_cursor_open(t, DB_DIRSEQ, &cur);
	if (ret)
		goto out;
	e = xcalloc(max, sizeof(*e));
	db_be64(key, ino);
	db_be64(key + 8, cookie + 1);
	ret = db_cursor_seek(cur, key, sizeof(key), &k, &kl, &v, &vl);
	while (cnt < max) {
		struct db_dirent de;
		if (ret == -ENOENT || (ret == 0 && (kl != 16 || db_get_be64(k) != ino))) {
			end = true;
			break;
		}
		if (ret)
			goto out;
		if (vl < sizeof(de) || vl > sizeof(de) + MDS_NAME_MAX) {
			ret = -EIO;
			goto out;
		}
		memcpy(&de, v, sizeof(de));
		memcpy(e[cnt].name, (const char *)v + sizeof(de), vl - sizeof(de));
		e[cnt].name[vl - sizeof(de)] = '\0';
		e[cnt].ino = de.ino;
		e[cnt].type = de.type;
		e[cnt].cookie = db_get_be64((const uint8_t *)k + 8);
		if (plus && ns_get_inode(t, de.ino, &e[cnt].attr))
			e[cnt].attr.ino = 0;
		if (plus && e[cnt].attr.ino)
			ns_first_chunk(t, &e[cnt].attr, &e[cnt].first);
		cnt++;
		ret = db_cursor_next(cur, &k, &kl, &v, &vl);
	}
	if (!end) {
		/* Peek: is there anything after the last entry returned? */
		if (ret == -ENOENT || (ret == 0 && (kl != 16 || db_get_be64(k) != ino)))
			end = true;
	}
	*ents = e;
	e = NULL;
	*n = cnt;
	*eof = end;
	ret = 0;
out:
	free(e);
	db_cursor_close(cur);
	db_txn_end(t);
	return ret;
}
