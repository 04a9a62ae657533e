/* ns_inode.c - inode records, names, permissions, GetAttr, Lookup, SetAttr */
#include "config.h"
#include "mds/mds_i.h"
#include "common/cksum.h"
#include "common/log.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void ns_u64_key(uint8_t key[8], uint64_t v)
{
	db_be64(key, v);
}

void ns_chunk_key(uint8_t key[16], uint64_t ino, uint64_t index)
{
	db_be64(key, ino);
	db_be64(key + 8, index);
}

int ns_chunk_row(uint64_t index, const void *v, size_t vl,
		 struct mds_chunk *out)
{
	if (vl != sizeof(struct db_chunk))
		return -EIO;
	memset(out, 0, sizeof(*out));
	out->index = index;
	memcpy(&out->c, v, sizeof(out->c));
	return 0;
}

int ns_get_chunk(struct db_txn *t, uint64_t ino, uint64_t index,
		 struct mds_chunk *out)
{
	uint8_t key[16];
	const void *v;
	size_t vl;
	int ret;

	ns_chunk_key(key, ino, index);
	ret = db_get(t, DB_CHUNK, key, sizeof(key), &v, &vl);
	return ret ? ret : ns_chunk_row(index, v, vl, out);
}

void ns_first_chunk(struct db_txn *t, const struct db_inode *n,
		    struct mds_chunk *first)
{
	if (!S_ISREG(n->mode) || !n->size || n->size > GN_CHUNK_SIZE ||
	    ns_get_chunk(t, n->ino, 0, first))
		first->c.version = 0;
}

void ns_change(struct mds_changes *ch, enum mds_inval_kind kind,
	       uint64_t ino, const char *name)
{
	struct mds_inval *v;

	if (!ch || ch->n >= MDS_MAX_CHANGES)
		return;
	v = &ch->v[ch->n++];
	memset(v, 0, sizeof(*v));
	v->kind = kind;
	v->ino = ino;
	if (name)
		snprintf(v->name, sizeof(v->name), "%s", name);
}

int mds_check_name(const char *name, size_t len, enum mds_name_flags flags)
{
	if (!name || len == 0)
		return -EINVAL;
	if (memchr(name, '\0', len) || memchr(name, '/', len))
		return -EINVAL;
	if (!(flags & MDS_NAME_DOTS) &&
	    ((len == 1 && name[0] == '.') ||
	     (len == 2 && name[0] == '.' && name[1] == '.')))
		return -EINVAL;
	if (len > MDS_NAME_MAX)
		return -ENAMETOOLONG;
	return 0;
}

bool mds_cred_in_group(const struct mds_cred *c, uint32_t gid)
{
	if (c->gid == gid)
		return true;
	for (uint32_t i = 0; i < c->ngroups && i < MDS_MAX_GROUPS; i++)
		if (c->groups[i] == gid)
			return true;
	return false;
}

int mds_access(const struct mds_cred *c, const struct db_inode *ino, int mask)
{
	uint32_t bits;

	if (c->uid == 0) {
		/* Root may execute only what someone may execute. */
		if ((mask & 1) && !S_ISDIR(ino->mode) && !(ino->mode & 0111))
			return -EACCES;
		return 0;
	}
	if (c->uid == ino->uid)
		bits = ino->mode >> 6;
	else if (mds_cred_in_group(c, ino->gid))
		bits = ino->mode >> 3;
	else
		bits = ino->mode;
	return ((int)(bits & 7) & mask) == mask ? 0 : -EACCES;
}

/* In a sticky directory only root, the directory's owner and the
 * victim's owner may remove or rename the victim. */
int ns_sticky_ok(const struct mds_cred *c, const struct db_inode *dir,
		 const struct db_inode *victim)
{
	if (!(dir->mode & S_ISVTX) || c->uid == 0)
		return 0;
	if (c->uid == dir->uid || c->uid == victim->uid)
		return 0;
	return -EPERM;
}

int ns_get_inode(struct db_txn *t, uint64_t ino, struct db_inode *out)
{
	uint8_t key[8];
	const void *v;
	size_t vl;
	int ret;

	if (ino == 0)
		return -ENOENT;
	ns_u64_key(key, ino);
	ret = db_get(t, DB_INODE, key, sizeof(key), &v, &vl);
	if (ret)
		return ret;
	if (vl != sizeof(*out)) {
		log_err("bad inode record ino=%" PRIu64 " len=%zu", ino, vl);
		return -EIO;
	}
	memcpy(out, v, sizeof(*out));
	return 0;
}

int ns_put_inode(struct db_txn *t, const struct db_inode *ino)
{
	uint8_t key[8];

	ns_u64_key(key, ino->ino);
	return db_put(t, DB_INODE, key, sizeof(key), ino, sizeof(*ino), 0);
}

int ns_get_dir(struct db_txn *t, uint64_t ino, struct db_inode *out)
{
	struct db_inode d;
	int ret = ns_get_inode(t, ino, &d);

	if (ret)
		return ret;
	if (!S_ISDIR(d.mode))
		return -ENOTDIR;
	*out = d;
	return 0;
}

static size_t ns_dirent_key(uint8_t *key, uint64_t parent, const char *name)
{
	size_t len = strlen(name);

	db_be64(key, parent);
	memcpy(key + 8, name, len);
	return 8 + len;
}

int ns_get_dirent(struct db_txn *t, uint64_t parent, const char *name,
		  struct db_dirent *out)
{
	uint8_t key[8 + MDS_NAME_MAX];
	const void *v;
	size_t vl;
	int ret;

	ret = db_get(t, DB_DIRENT, key, ns_dirent_key(key, parent, name), &v, &vl);
	if (ret)
		return ret;
	if (vl != sizeof(*out))
		return -EIO;
	memcpy(out, v, sizeof(*out));
	return 0;
}

/* Adds the entry; the caller stores dir (its dir_seq advanced). */
int ns_add_dirent(struct db_txn *t, struct db_inode *dir, const char *name,
		  uint64_t ino, uint32_t type)
{
	uint8_t key[8 + MDS_NAME_MAX], skey[16];
	uint8_t val[sizeof(struct db_dirent) + MDS_NAME_MAX];
	struct db_dirent de = { .ino = ino, .type = type & S_IFMT };
	size_t klen = ns_dirent_key(key, dir->ino, name), nlen = strlen(name);
	int ret;

	de.seq = ++dir->dir_seq;
	ret = db_put(t, DB_DIRENT, key, klen, &de, sizeof(de), DB_NOOVERWRITE);
	if (ret)
		return ret;
	db_be64(skey, dir->ino);
	db_be64(skey + 8, de.seq);
	memcpy(val, &de, sizeof(de));
	memcpy(val + sizeof(de), name, nlen);
	return db_put(t, DB_DIRSEQ, skey, sizeof(skey), val, sizeof(de) + nlen, 0);
}

int ns_del_dirent(struct db_txn *t, uint64_t parent, const char *name)
{
	uint8_t key[8 + MDS_NAME_MAX], skey[16];
	struct db_dirent de;
	int ret;

	ret = ns_get_dirent(t, parent, name, &de);
	if (ret)
		return ret;
	db_be64(skey, parent);
	db_be64(skey + 8, de.seq);
	ret = db_del(t, DB_DIRSEQ, skey, sizeof(skey));
	if (ret && ret != -ENOENT)
		return ret;
	return db_del(t, DB_DIRENT, key, ns_dirent_key(key, parent, name));
}

bool ns_dir_empty(struct db_txn *t, uint64_t dir)
{
	struct db_cursor *c;
	uint8_t key[16];
	const void *k;
	size_t kl;
	bool empty = true;

	db_be64(key, dir);
	db_be64(key + 8, 0);
	if (db_cursor_open(t, DB_DIRSEQ, &c))
		return false;
	if (db_cursor_seek(c, key, sizeof(key), &k, &kl, NULL, NULL) == 0 &&
	    kl >= 8 && db_get_be64(k) == dir)
		empty = false;
	db_cursor_close(c);
	return empty;
}

int ns_new_inode(struct db_txn *t, struct mds *m, const struct mds_cred *c,
		 const struct db_inode *parent, uint32_t mode,
		 struct db_inode *out)
{
	struct db_inode n = { 0 };
	int64_t now = gn_now_ns();
	uint64_t ino;
	int ret;

	ret = db_counter_next(t, "ino", &ino);
	if (ret)
		return ret;
	n.ino = ino;
	n.mode = mode;
	n.uid = c->uid;
	n.gid = c->gid;
	if (parent->mode & S_ISGID) {
		/* BSD group semantics for setgid directories. */
		n.gid = parent->gid;
		if (S_ISDIR(mode))
			n.mode |= S_ISGID;
	}
	if (!S_ISDIR(n.mode) && (n.mode & S_ISGID) && c->uid != 0 &&
	    !mds_cred_in_group(c, n.gid))
		n.mode &= ~(uint32_t)S_ISGID;
	n.nlink = S_ISDIR(mode) ? 2 : 1;
	n.atime = n.mtime = n.ctime = now;
	n.generation = 1;
	n.parent = S_ISDIR(mode) ? parent->ino : 0;
	n.replicas = parent->replicas;
	n.compression = parent->compression;
	ret = ns_put_inode(t, &n);
	if (ret == 0)
		*out = n;
	return ret;
}

int ns_queue_delete(struct db_txn *t, uint32_t ds, uint64_t chunk_id,
		    uint64_t version)
{
	uint8_t key[20];

	db_be32(key, ds);
	db_be64(key + 4, chunk_id);
	db_be64(key + 12, version);
	return db_put(t, DB_DELQ, key, sizeof(key), "", 0, 0);
}

int ns_pending_drop(struct db_txn *t, const uint8_t key[16],
		    const struct db_pending *pd)
{
	int ret;

	for (uint32_t r = 0; r < pd->nreplicas && r < DB_MAX_REPLICAS; r++) {
		ret = ns_queue_delete(t, pd->replicas[r], db_get_be64(key),
				      db_get_be64(key + 8));
		if (ret)
			return ret;
	}
	ret = db_del(t, DB_PENDING, key, 16);
	return ret == -ENOENT ? 0 : ret;
}

/* Queue every replica of a chunk version for deletion and forget it. */
static int ns_drop_chunk(struct db_txn *t, const struct db_chunk *ck)
{
	uint8_t key[8];
	int ret = 0;

	for (uint32_t i = 0; i < ck->nreplicas && i < DB_MAX_REPLICAS; i++) {
		ret = ns_queue_delete(t, ck->replicas[i], ck->chunk_id, ck->version);
		if (ret)
			return ret;
	}
	ns_u64_key(key, ck->chunk_id);
	ret = db_del(t, DB_CHUNKIDX, key, sizeof(key));
	return ret == -ENOENT ? 0 : ret;
}

static uint64_t ns_blocks(uint64_t bytes)
{
	return (bytes + 511) / 512;
}

int ns_truncate(struct db_txn *t, struct db_inode *ino, uint64_t size)
{
	struct db_cursor *c = NULL;
	uint8_t key[16];
	const void *k, *v;
	size_t kl, vl;
	uint64_t first = size / GN_CHUNK_SIZE;
	int ret;

	if (size >= ino->size) {
		ino->size = size;
		return 0;
	}
	ret = db_cursor_open(t, DB_CHUNK, &c);
	if (ret)
		return ret;
	ns_chunk_key(key, ino->ino, first);
	ret = db_cursor_seek(c, key, sizeof(key), &k, &kl, &v, &vl);
	while (ret == 0 && kl == 16 && db_get_be64(k) == ino->ino) {
		uint64_t index = db_get_be64((const uint8_t *)k + 8);
		uint64_t keep = size > index * GN_CHUNK_SIZE ?
			size - index * GN_CHUNK_SIZE : 0;
		struct db_chunk ck;

		if (vl != sizeof(ck)) {
			ret = -EIO;
			goto out;
		}
		memcpy(&ck, v, sizeof(ck));
		if (keep == 0) {
			ino->blocks -= GN_MIN(ino->blocks, ns_blocks(ck.length));
			ret = ns_drop_chunk(t, &ck);
			if (ret == 0)
				ret = db_cursor_del(c);
			if (ret)
				goto out;
		} else if (ck.length > keep) {
			uint8_t ck_key[16];
			ino->blocks -= GN_MIN(ino->blocks, ns_blocks(ck.length) -
					      ns_blocks(keep));
			ck.length = (uint32_t)keep;
			memcpy(ck_key, k, sizeof(ck_key));
			ret = db_put(t, DB_CHUNK, ck_key, sizeof(ck_key), &ck, sizeof(ck), 0);
			if (ret)
				goto out;
			/* The put may move the cursor's page: seek again. */
			ret = db_cursor_seek(c, ck_key, sizeof(ck_key), &k, &kl, &v, &vl);
			if (ret)
				break;
		}
		ret = db_cursor_next(c, &k, &kl, &v, &vl);
	}
	if (ret == -ENOENT || ret == 0)
		ret = 0;
	ino->size = size;
out:
	db_cursor_close(c);
	return ret;
}

int ns_reclaim(struct db_txn *t, uint64_t ino)
{
	struct db_cursor *c = NULL;
	uint8_t key[16];
	const void *k, *v;
	size_t kl, vl;
	int ret;

	/* Chunks. */
	ret = db_cursor_open(t, DB_CHUNK, &c);
	if (ret)
		return ret;
	ns_chunk_key(key, ino, 0);
	ret = db_cursor_seek(c, key, sizeof(key), &k, &kl, &v, &vl);
	while (ret == 0 && kl == 16 && db_get_be64(k) == ino) {
		struct db_chunk ck;
		if (vl != sizeof(ck)) {
			ret = -EIO;
			goto out;
		}
		memcpy(&ck, v, sizeof(ck));
		ret = ns_drop_chunk(t, &ck);
		if (ret == 0)
			ret = db_cursor_del(c);
		if (ret)
			goto out;
		ret = db_cursor_seek(c, key, sizeof(key), &k, &kl, &v, &vl);
	}
	db_cursor_close(c);
	c = NULL;
	if (ret && ret != -ENOENT)
		goto out;

	/* Xattrs. */
	ret = db_cursor_open(t, DB_XATTR, &c);
	if (ret)
		goto out;
	ns_u64_key(key, ino);
	ret = db_cursor_seek(c, key, 8, &k, &kl, NULL, NULL);
	while (ret == 0 && kl >= 8 && db_get_be64(k) == ino) {
		ret = db_cursor_del(c);
		if (ret)
			goto out;
		ret = db_cursor_seek(c, key, 8, &k, &kl, NULL, NULL);
	}
	if (ret && ret != -ENOENT)
		goto out;

	ns_u64_key(key, ino);
	ret = db_del(t, DB_SYMLINK, key, 8);
	if (ret && ret != -ENOENT)
		goto out;
	ret = db_del(t, DB_ORPHAN, key, 8);
	if (ret && ret != -ENOENT)
		goto out;
	ret = db_del(t, DB_INODE, key, 8);
out:
	db_cursor_close(c);
	return ret;
}

int ns_drop_link(struct db_txn *t, struct mds *m, struct db_inode *ino,
		 int64_t now)
{
	uint64_t *sess = NULL;
	size_t n = 0;
	uint8_t key[8];
	int ret;

	if (ino->nlink > 0)
		ino->nlink--;
	ino->ctime = now;
	if (ino->nlink > 0)
		return ns_put_inode(t, ino);
	mds_open_sessions(m, ino->ino, &sess, &n);
	if (n == 0) {
		free(sess);
		return ns_reclaim(t, ino->ino);
	}
	/* Unlinked while open: keep it until the last close (or the end of
	 * the sessions that hold it). */
	ns_u64_key(key, ino->ino);
	ret = db_put(t, DB_ORPHAN, key, sizeof(key), sess, n * sizeof(*sess), 0);
	free(sess);
	if (ret == 0)
		ret = ns_put_inode(t, ino);
	return ret;
}

/* ---- GetAttr, Lookup ---- */

int mds_ns_getattr(struct mds *m, uint64_t ino, struct db_inode *out)
{
	struct db_txn *t;
	struct db_inode n;
	int ret = db_read_begin(m->db, &t);

	if (ret)
		return ret;
	ret = ns_get_inode(t, ino, &n);
	db_txn_end(t);
	if (ret == 0)
		*out = n;
	return ret;
}

int mds_ns_lookup(struct mds *m, const struct mds_cred *c, uint64_t parent,
		  const char *name, struct db_inode *out)
{
	return mds_ns_lookup_first(m, c, parent, name, out, NULL);
}

int mds_ns_lookup_first(struct mds *m, const struct mds_cred *c, uint64_t parent,
			const char *name, struct db_inode *out,
			struct mds_chunk *first)
{
	struct db_inode dir, n;
	struct db_dirent de;
	struct db_txn *t;
	int ret;

	ret = mds_check_name(name, strlen(name), MDS_NAME_DOTS);
	if (ret)
		return ret;
	ret = db_read_begin(m->db, &t);
	if (ret)
		return ret;
	ret = ns_get_dir(t, parent, &dir);
	if (ret)
		goto out;
	ret = mds_access(c, &dir, 1);
	if (ret)
		goto out;
	if (!strcmp(name, ".")) {
		n = dir;
	} else if (!strcmp(name, "..")) {
		ret = ns_get_inode(t, dir.parent ? dir.parent : dir.ino, &n);
	} else {
		ret = ns_get_dirent(t, parent, name, &de);
		if (ret == 0)
			ret = ns_get_inode(t, de.ino, &n);
	}
	if (ret == 0)
		*out = n;
	if (ret == 0 && first)
		ns_first_chunk(t, &n, first);
out:
	db_txn_end(t);
	return ret;
}

/* ---- SetAttr ---- */

struct setattr_args {
	struct mds *m;
	const struct mds_cred *c;
	uint64_t ino;
	const struct mds_setattr *sa;
	bool writable_handle;
	struct db_inode out;
};

static int setattr_check(const struct mds_cred *c, const struct db_inode *n,
			 const struct mds_setattr *sa, bool writable_handle)
{
	bool root = c->uid == 0, owner = c->uid == n->uid;
	uint32_t v = sa->valid;

	if (v & MDS_SET_SIZE) {
		if (S_ISDIR(n->mode))
			return -EISDIR;
		if (!S_ISREG(n->mode))
			return -EINVAL;
		if (!writable_handle && mds_access(c, n, 2))
			return -EACCES;
	}
	if ((v & MDS_SET_UID) && !root && !(owner && sa->uid == n->uid))
		return -EPERM;
	if ((v & MDS_SET_GID) && !root &&
	    !(owner && (sa->gid == n->gid || mds_cred_in_group(c, sa->gid))))
		return -EPERM;
	if ((v & MDS_SET_MODE) && !root && !owner)
		return -EPERM;
	if ((v & (MDS_SET_ATIME | MDS_SET_MTIME | MDS_SET_ATIME_NOW | MDS_SET_MTIME_NOW)) &&
	    !root && !owner) {
		bool explicit_time = ((v & MDS_SET_ATIME) && !(v & MDS_SET_ATIME_NOW)) ||
				     ((v & MDS_SET_MTIME) && !(v & MDS_SET_MTIME_NOW));
		if (explicit_time)
			return -EPERM;
		if (mds_access(c, n, 2))
			return -EACCES;
	}
	return 0;
}

static int setattr_fn(struct db_txn *t, void *p)
{
	struct setattr_args *a = p;
	const struct mds_setattr *sa = a->sa;
	const struct mds_cred *c = a->c;
	int64_t now = gn_now_ns();
	struct db_inode n;
	uint32_t v = sa->valid;
	int ret;

	ret = ns_get_inode(t, a->ino, &n);
	if (ret)
		return ret;
	ret = setattr_check(c, &n, sa, a->writable_handle);
	if (ret)
		return ret;
	if (v & (MDS_SET_UID | MDS_SET_GID)) {
		bool changed = false;
		if ((v & MDS_SET_UID) && sa->uid != n.uid)
			changed = true;
		if ((v & MDS_SET_GID) && sa->gid != n.gid)
			changed = true;
		if (v & MDS_SET_UID)
			n.uid = sa->uid;
		if (v & MDS_SET_GID)
			n.gid = sa->gid;
		/* As Linux: chown of a non-directory kills set-id bits. */
		if (!S_ISDIR(n.mode) && (changed || c->uid != 0)) {
			n.mode &= ~(uint32_t)S_ISUID;
			if (n.mode & S_IXGRP)
				n.mode &= ~(uint32_t)S_ISGID;
		}
	}
	if (v & MDS_SET_MODE) {
		uint32_t mode = sa->mode & 07777;
		if (c->uid != 0 && !mds_cred_in_group(c, n.gid))
			mode &= ~(uint32_t)S_ISGID;
		n.mode = (n.mode & S_IFMT) | mode;
	}
	if (v & MDS_SET_SIZE) {
		ret = ns_truncate(t, &n, sa->size);
		if (ret)
			return ret;
		n.mtime = now;
		if (c->uid != 0) {
			n.mode &= ~(uint32_t)S_ISUID;
			if (n.mode & S_IXGRP)
				n.mode &= ~(uint32_t)S_ISGID;
		}
	}
	if (v & MDS_SET_ATIME_NOW)
		n.atime = now;
	else if (v & MDS_SET_ATIME)
		n.atime = sa->atime;
	if (v & MDS_SET_MTIME_NOW)
		n.mtime = now;
	else if (v & MDS_SET_MTIME)
		n.mtime = sa->mtime;
	n.ctime = (v & MDS_SET_CTIME) ? sa->ctime : now;
	ret = ns_put_inode(t, &n);
	if (ret == 0)
		a->out = n;
	return ret;
}

/* Whether handle is a write handle of ino of this session (one of
 * another session grants nothing). */
static bool handle_writable(struct mds *m, uint64_t session, uint64_t handle,
			    uint64_t ino)
{
	struct mds_handle *h;
	bool ok;

	if (!handle)
		return false;
	pthread_mutex_lock(&m->lock);
	ok = !mds_handle_get_locked(m, session, handle, ino, &h) &&
	     (h->flags & O_ACCMODE) != O_RDONLY;
	pthread_mutex_unlock(&m->lock);
	return ok;
}

int mds_ns_setattr(struct mds *m, const struct mds_cred *c, uint64_t ino,
		   const struct mds_setattr *sa, struct db_inode *out,
		   struct mds_changes *ch)
{
	struct setattr_args a = { .m = m, .c = c, .ino = ino, .sa = sa };
	int ret;

	a.writable_handle = handle_writable(m, sa->session, sa->handle, ino);
	ret = db_write(m->db, setattr_fn, &a);
	if (ret)
		return ret;
	ns_change(ch, MDS_INV_ATTR, ino, NULL);
	if (sa->valid & MDS_SET_SIZE)
		ns_change(ch, MDS_INV_DATA, ino, NULL);
	*out = a.out;
	return 0;
}
