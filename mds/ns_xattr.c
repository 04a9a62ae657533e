/* ns_xattr.c - user.* extended attributes, and StatFs */
#include "config.h"
#include "mds/mds_i.h"
#include "common/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Only "user." names exist; the suffix may not be empty. */
static int xattr_check_name(const char *name)
{
	size_t len = strlen(name);

	if (len == 0)
		return -EINVAL;
	if (len > MDS_XATTR_NAME_MAX)
		return -ERANGE;
	if (strncmp(name, "user.", 5))
		return -EOPNOTSUPP;
	if (len == 5)
		return -EINVAL;
	return 0;
}

static size_t xattr_key(uint8_t *key, uint64_t ino, const char *name)
{
	size_t len = strlen(name);

	db_be64(key, ino);
	memcpy(key + 8, name, len);
	return 8 + len;
}

/* As Linux: user.* only on regular files and directories; writing needs
 * write permission, and in a sticky directory ownership. */
static int xattr_may(const struct mds_cred *c, const struct db_inode *n, bool write)
{
	if (!S_ISREG(n->mode) && !S_ISDIR(n->mode))
		return write ? -EPERM : -ENODATA;
	if (write && S_ISDIR(n->mode) && (n->mode & S_ISVTX) && c->uid != 0 &&
	    c->uid != n->uid)
		return -EPERM;
	return mds_access(c, n, write ? 2 : 4);
}

struct setx_args {
	const struct mds_cred *c;
	uint64_t ino;
	const char *name;
	const void *value;
	size_t len;
	uint32_t flags;
	bool remove;
};

static int setx_fn(struct db_txn *t, void *p)
{
	struct setx_args *a = p;
	uint8_t key[8 + MDS_XATTR_NAME_MAX];
	size_t klen = xattr_key(key, a->ino, a->name);
	struct db_inode n;
	bool exists;
	int ret;

	ret = ns_get_inode(t, a->ino, &n);
	if (ret)
		return ret;
	ret = xattr_may(a->c, &n, true);
	if (ret)
		return ret;
	ret = db_get(t, DB_XATTR, key, klen, NULL, NULL);
	if (ret && ret != -ENOENT)
		return ret;
	exists = ret == 0;
	if (a->remove) {
		if (!exists)
			return -ENODATA;
		ret = db_del(t, DB_XATTR, key, klen);
	} else {
		if ((a->flags & MDS_XATTR_CREATE) && exists)
			return -EEXIST;
		if ((a->flags & MDS_XATTR_REPLACE) && !exists)
			return -ENODATA;
		ret = db_put(t, DB_XATTR, key, klen, a->value, a->len, 0);
	}
	if (ret)
		return ret;
	n.ctime = gn_now_ns();
	return ns_put_inode(t, &n);
}

int mds_ns_setxattr(struct mds *m, const struct mds_cred *c, uint64_t ino,
		    const char *name, const void *value, size_t len,
		    uint32_t flags, struct mds_changes *ch)
{
	struct setx_args a = { .c = c, .ino = ino, .name = name, .value = value,
			       .len = len, .flags = flags };
	int ret = xattr_check_name(name);

	if (ret)
		return ret;
	if (flags & ~(uint32_t)(MDS_XATTR_CREATE | MDS_XATTR_REPLACE))
		return -EINVAL;
	if (len > MDS_XATTR_VALUE_MAX)
		return -E2BIG;
	ret = db_write(m->db, setx_fn, &a);
	if (ret == 0)
		ns_change(ch, MDS_INV_ATTR, ino, NULL);
	return ret;
}

int mds_ns_removexattr(struct mds *m, const struct mds_cred *c, uint64_t ino,
		       const char *name, struct mds_changes *ch)
{
	struct setx_args a = { .c = c, .ino = ino, .name = name, .remove = true };
	int ret = xattr_check_name(name);

	if (ret)
		return ret;
	ret = db_write(m->db, setx_fn, &a);
	if (ret == 0)
		ns_change(ch, MDS_INV_ATTR, ino, NULL);
	return ret;
}

int mds_ns_getxattr(struct mds *m, const struct mds_cred *c, uint64_t ino,
		    const char *name, void **value, size_t *len)
{
	uint8_t key[8 + MDS_XATTR_NAME_MAX];
	struct db_inode n;
	struct db_txn *t;
	const void *v;
	size_t vl;
	int ret = xattr_check_name(name);

	if (ret)
		return ret == -EOPNOTSUPP ? -ENODATA : ret;
	ret = db_read_begin(m->db, &t);
	if (ret)
		return ret;
	ret = ns_get_inode(t, ino, &n);
	if (ret == 0)
		ret = xattr_may(c, &n, false);
	if (ret == 0)
		ret = db_get(t, DB_XATTR, key, xattr_key(key, ino, name), &v, &vl);
	if (ret == -ENOENT)
		ret = -ENODATA;
	if (ret == 0) {
		*value = xmalloc(vl ? vl : 1);
		memcpy(*value, v, vl);
		*len = vl;
	}
	db_txn_end(t);
	return ret;
}

int mds_ns_listxattr(struct mds *m, const struct mds_cred *c, uint64_t ino,
		     char **names, size_t *len, size_t *count)
{
	struct db_cursor *cur = NULL;
	struct db_inode n;
	struct db_txn *t;
	uint8_t key[8];
	const void *k;
	size_t kl, used = 0, cap = 256, cnt = 0;
	char *buf = NULL;
	int ret = db_read_begin(m->db, &t);

	if (ret)
		return ret;
	ret = ns_get_inode(t, ino, &n);
	if (ret)
		goto out;
	buf = xmalloc(cap);
	if (!S_ISREG(n.mode) && !S_ISDIR(n.mode))
		goto done;
	ret = db_cursor_open(t, DB_XATTR, &cur);
	if (ret)
		goto out;
	db_be64(key, ino);
	ret = db_cursor_seek(cur, key, 8, &k, &kl, NULL, NULL);
	while (ret == 0 && kl > 8 && db_get_be64(k) == ino) {
		size_t nl = kl - 8;
		if (used + nl + 1 > cap) {
			cap = (used + nl + 1) * 2;
			buf = xrealloc(buf, cap);
		}
		memcpy(buf + used, (const char *)k + 8, nl);
		buf[used + nl] = '\0';
		used += nl + 1;
		cnt++;
		ret = db_cursor_next(cur, &k, &kl, NULL, NULL);
	}
	if (ret && ret != -ENOENT)
		goto out;
done:
	*names = buf;
	buf = NULL;
	*len = used;
	*count = cnt;
	ret = 0;
out:
	free(buf);
	db_cursor_close(cur);
	db_txn_end(t);
	return ret;
}

int mds_ns_statfs(struct mds *m, struct mds_statfs *out)
{
	struct mds_statfs s = { 0 };
	struct db_txn *t;
	int ret;

	pthread_mutex_lock(&m->lock);
	for (size_t i = 0; i < MDS_MAX_DS; i++) {
		struct mds_ds *d = m->ds[i];
		if (!d || !d->up || d->admin == MDS_DS_REMOVED)
			continue;
		s.total += d->info.capacity;
		s.free += d->info.free;
	}
	pthread_mutex_unlock(&m->lock);
	ret = db_read_begin(m->db, &t);
	if (ret)
		return ret;
	s.files = db_count(t, DB_INODE);
	db_txn_end(t);
	s.max_files = (uint64_t)1 << 40;
	*out = s;
	return 0;
}
