/* ns_file.c - Open, Create, Close, GetChunks, AllocateChunks, CommitWrite,
 * policies, bad replicas */
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

void mds_open_release(struct mds_open *o)
{
	if (!o)
		return;
	free(o->chunks);
	o->chunks = NULL;
	o->nchunks = 0;
}

/* Read chunks of ino with first <= index < end into a malloc'ed array. */
static int ns_load_chunks(struct db_txn *t, uint64_t ino, uint64_t first,
			  uint64_t end, struct mds_chunk **out, size_t *n)
{
	struct db_cursor *c = NULL;
	struct mds_chunk *v = NULL;
	size_t cnt = 0, cap = 0;
	uint8_t key[16];
	const void *k, *val;
	size_t kl, vl;
	int ret;

	ret = db_cursor_open(t, DB_CHUNK, &c);
	if (ret)
		return ret;
	ns_chunk_key(key, ino, first);
	ret = db_cursor_seek(c, key, sizeof(key), &k, &kl, &val, &vl);
	while (ret == 0 && kl == 16 && db_get_be64(k) == ino) {
		uint64_t index = db_get_be64((const uint8_t *)k + 8);
		if (index >= end)
			break;
		if (cnt == cap) {
			cap = cap ? cap * 2 : 16;
			v = xrealloc(v, cap * sizeof(*v));
		}
		ret = ns_chunk_row(index, val, vl, &v[cnt]);
		if (ret)
			goto out;
		cnt++;
		ret = db_cursor_next(c, &k, &kl, &val, &vl);
	}
	if (ret && ret != -ENOENT)
		goto out;
	*out = v;
	v = NULL;
	*n = cnt;
	ret = 0;
out:
	free(v);
	db_cursor_close(c);
	return ret;
}

static int open_access(const struct mds_cred *c, const struct db_inode *n,
		       uint32_t flags, bool created)
{
	int acc = flags & O_ACCMODE, mask = 0;

	if (S_ISLNK(n->mode))
		return -ELOOP;
	if (S_ISDIR(n->mode) && (acc != O_RDONLY || (flags & O_TRUNC)))
		return -EISDIR;
	if (created)
		return 0;	/* creating grants the requested access */
	if (acc == O_RDONLY || acc == O_RDWR)
		mask |= 4;
	if (acc == O_WRONLY || acc == O_RDWR || (flags & O_TRUNC))
		mask |= 2;
	return mds_access(c, n, mask);
}

static bool ns_is_orphan(struct db_txn *t, uint64_t ino)
{
	uint8_t key[8];

	ns_u64_key(key, ino);
	return db_get(t, DB_ORPHAN, key, sizeof(key), NULL, NULL) == 0;
}

struct open_args {
	struct mds *m;
	const struct mds_cred *c;
	uint64_t session;
	uint64_t ino, parent;
	const char *name;
	uint32_t mode, umask, flags;
	bool create;
	uint64_t handle;
	struct db_inode out;
};

static int open_truncate(struct db_txn *t, const struct mds_cred *c,
			 struct db_inode *n)
{
	int64_t now = gn_now_ns();
	int ret = ns_truncate(t, n, 0);

	if (ret)
		return ret;
	n->mtime = n->ctime = now;
	if (c->uid != 0) {
		n->mode &= ~(uint32_t)S_ISUID;
		if (n->mode & S_IXGRP)
			n->mode &= ~(uint32_t)S_ISGID;
	}
	return ns_put_inode(t, n);
}

static int open_fn(struct db_txn *t, void *p)
{
	struct open_args *a = p;
	struct db_inode n, dir;
	bool created = false;
	int ret;

	if (a->create) {
		struct db_dirent de;

		ret = ns_get_dir(t, a->parent, &dir);
		if (ret)
			return ret;
		ret = mds_access(a->c, &dir, 1);
		if (ret)
			return ret;
		ret = ns_get_dirent(t, a->parent, a->name, &de);
		if (ret == 0) {
			if (a->flags & O_EXCL)
				return -EEXIST;
			a->ino = de.ino;
		} else if (ret == -ENOENT) {
			if (dir.nlink == 0)
				return -ENOENT;
			ret = mds_access(a->c, &dir, 3);
			if (ret)
				return ret;
			ret = ns_new_inode(t, a->m, a->c, &dir,
					   S_IFREG | (a->mode & 07777 & ~a->umask), &n);
			if (ret)
				return ret;
			ret = ns_add_dirent(t, &dir, a->name, n.ino, n.mode);
			if (ret)
				return ret;
			dir.mtime = dir.ctime = n.ctime;
			ret = ns_put_inode(t, &dir);
			if (ret)
				return ret;
			a->ino = n.ino;
			created = true;
		} else {
			return ret;
		}
	}
	if (!created) {
		ret = ns_get_inode(t, a->ino, &n);
		if (ret)
			return ret;
		if (n.nlink == 0 && !ns_is_orphan(t, n.ino))
			return -ENOENT;
		ret = open_access(a->c, &n, a->flags, false);
		if (ret)
			return ret;
		if ((a->flags & O_TRUNC) && S_ISREG(n.mode)) {
			ret = open_truncate(t, a->c, &n);
			if (ret)
				return ret;
		}
	}
	/* Registered before the commit so that a concurrent unlink sees the
	 * file open; removed again by the caller if the commit fails. */
	a->out = n;
	/* The store runs fn again when a batch did not commit: one handle. */
	if (a->handle) {
		mds_handle_del(a->m, a->handle);
		a->handle = 0;
	}
	return mds_handle_add(a->m, a->session, n.ino, a->flags, &a->handle);
}

static int ns_fill_open(struct mds *m, uint64_t ino, struct mds_open *out)
{
	struct db_txn *t;
	struct db_inode n;
	int ret = db_read_begin(m->db, &t);

	if (ret)
		return ret;
	ret = ns_get_inode(t, ino, &n);
	if (ret == 0)
		ret = ns_load_chunks(t, ino, 0, UINT64_MAX, &out->chunks, &out->nchunks);
	db_txn_end(t);
	if (ret)
		return ret;
	out->attr = n;
	out->replicas = n.replicas;
	out->compression = n.compression;
	return 0;
}

static int ns_do_open(struct mds *m, struct open_args *a, struct mds_open *out,
		      struct mds_changes *ch)
{
	struct mds_open o = { 0 };
	int ret;

	if (!a->create && !(a->flags & O_TRUNC)) {
		/* Read-only path: register first, then read (see open_fn). */
		struct db_inode n;
		struct db_txn *t;

		ret = mds_handle_add(m, a->session, a->ino, a->flags, &a->handle);
		if (ret == 0)
			ret = db_read_begin(m->db, &t);
		if (ret == 0) {
			ret = ns_get_inode(t, a->ino, &n);
			if (ret == 0 && n.nlink == 0 && !ns_is_orphan(t, n.ino))
				ret = -ENOENT;
			if (ret == 0)
				ret = open_access(a->c, &n, a->flags, false);
			db_txn_end(t);
		}
	} else {
		ret = db_write(m->db, open_fn, a);
	}
	if (ret == 0)
		ret = ns_fill_open(m, a->ino, &o);
	if (ret) {
		if (a->handle)
			mds_handle_del(m, a->handle);
		mds_open_release(&o);
		return ret;
	}
	o.handle = a->handle;
	if (a->create) {
		ns_change(ch, MDS_INV_ENTRY, a->parent, a->name);
		ns_change(ch, MDS_INV_ATTR, a->parent, NULL);
	}
	if (a->flags & O_TRUNC) {
		ns_change(ch, MDS_INV_ATTR, a->ino, NULL);
		ns_change(ch, MDS_INV_DATA, a->ino, NULL);
	}
	*out = o;
	return 0;
}

int mds_ns_open(struct mds *m, const struct mds_cred *c, uint64_t session,
		uint64_t ino, uint32_t flags, struct mds_open *out,
		struct mds_changes *ch)
{
	struct open_args a = { .m = m, .c = c, .session = session, .ino = ino,
			       .flags = flags };

	return ns_do_open(m, &a, out, ch);
}

int mds_ns_create(struct mds *m, const struct mds_cred *c, uint64_t session,
		  uint64_t parent, const char *name, uint32_t mode,
		  uint32_t umask, uint32_t flags, struct mds_open *out,
		  struct mds_changes *ch)
{
	struct open_args a = { .m = m, .c = c, .session = session,
			       .parent = parent, .name = name, .mode = mode,
			       .umask = umask, .flags = flags, .create = true };
	int ret = mds_check_name(name, strlen(name), 0);

	if (ret)
		return ret;
	return ns_do_open(m, &a, out, ch);
}

int mds_ns_close(struct mds *m, uint64_t session, uint64_t ino, uint64_t handle)
{
	struct mds_handle *h;
	int ret;

	pthread_mutex_lock(&m->lock);
	ret = mds_handle_get_locked(m, session, handle, ino, &h);
	pthread_mutex_unlock(&m->lock);
	if (ret == -EBADF)
		return ret;
	if (!ret)
		mds_handle_del(m, handle);
	/* Unknown handle: opened before an MDS restart.  Still release this
	 * session's hold on an orphan. */
	return mds_orphan_release(m, ino, ret ? session : 0);
}

int mds_ns_getchunks(struct mds *m, const struct mds_cred *c, uint64_t ino,
		     uint64_t first, uint32_t count, struct mds_chunk **out,
		     size_t *n, uint64_t *size)
{
	struct db_inode node;
	struct db_txn *t;
	uint64_t end = count ? first + count : UINT64_MAX;
	int ret;

	if (end < first)
		end = UINT64_MAX;
	ret = db_read_begin(m->db, &t);
	if (ret)
		return ret;
	ret = ns_get_inode(t, ino, &node);
	if (ret == 0 && S_ISDIR(node.mode))
		ret = -EISDIR;
	if (ret == 0)
		ret = ns_load_chunks(t, ino, first, end, out, n);
	if (ret == 0)
		*size = node.size;
	db_txn_end(t);
	return ret;
}

/* ---- AllocateChunks ---- */

struct alloc_args {
	struct mds *m;
	uint64_t session, ino;
	const uint64_t *indexes;
	const uint64_t *pending;	/* 2 per index, or NULL */
	size_t n;
	struct mds_chunk *out;
};

/* Replicas all live and as many as the policy asks: reuse them. */
static bool reuse_replicas(struct alloc_args *a, const struct db_inode *n,
			   const uint32_t *reps, uint32_t nrep, struct mds_chunk *o)
{
	if (nrep == 0 || nrep < GN_MIN(n->replicas, DB_MAX_REPLICAS))
		return false;
	for (uint32_t i = 0; i < nrep && i < DB_MAX_REPLICAS; i++)
		if (!mds_ds_is_live(a->m, reps[i]))
			return false;
	o->c.nreplicas = nrep;
	memcpy(o->c.replicas, reps, sizeof(o->c.replicas));
	return true;
}

/*
 * A chunk never committed yet, of which this session wrote the
 * uncommitted version (id, version): the next version keeps its id (and
 * replicas), so the data servers build it from that one by its changed
 * blocks instead of the client sending the whole chunk again.
 */
static bool reuse_pending(struct db_txn *t, struct alloc_args *a,
			  const struct db_inode *n, uint64_t id, uint64_t version,
			  struct mds_chunk *o)
{
	struct db_pending pd;
	uint8_t pkey[16];
	const void *v;
	size_t vl;

	if (!id)
		return false;
	db_be64(pkey, id);
	db_be64(pkey + 8, version);
	if (db_get(t, DB_PENDING, pkey, sizeof(pkey), &v, &vl) || vl != sizeof(pd))
		return false;
	memcpy(&pd, v, sizeof(pd));
	if (pd.ino != n->ino || pd.index != o->index || pd.session != a->session ||
	    !reuse_replicas(a, n, pd.replicas, pd.nreplicas, o))
		return false;
	o->c.chunk_id = id;
	return true;
}

static int alloc_one(struct db_txn *t, struct alloc_args *a,
		     const struct db_inode *n, struct mds_chunk *o,
		     const uint64_t *pend)
{
	struct db_pending pd = { 0 };
	uint8_t key[16], pkey[16];
	const void *v;
	size_t vl;
	bool reuse = false;
	int ret, got;

	ns_chunk_key(key, n->ino, o->index);
	ret = db_get(t, DB_CHUNK, key, sizeof(key), &v, &vl);
	if (ret == 0 && vl == sizeof(struct db_chunk)) {
		struct db_chunk cur;
		memcpy(&cur, v, sizeof(cur));
		o->c.chunk_id = cur.chunk_id;
		o->base_version = cur.version;
		reuse = reuse_replicas(a, n, cur.replicas, cur.nreplicas, o);
	} else if (ret && ret != -ENOENT) {
		return ret;
	} else if (pend && reuse_pending(t, a, n, pend[0], pend[1], o)) {
		reuse = true;
	} else {
		ret = db_counter_next(t, "chunk", &o->c.chunk_id);
		if (ret)
			return ret;
	}
	ret = db_counter_next(t, "version", &o->c.version);
	if (ret)
		return ret;
	if (!reuse) {
		got = mds_ds_choose(a->m, n->replicas, o->c.replicas);
		/* No data server is up (full ones still are: they refuse
		 * the write themselves, RESOURCE_EXHAUSTED).  Often brief
		 * (heartbeats late under load, a restart): the client retries
		 * until its op_timeout_ms, then fails with EIO. */
		if (got <= 0)
			return -EAGAIN;
		o->c.nreplicas = (uint32_t)got;
	}
	o->c.compression = n->compression;
	pd.ino = n->ino;
	pd.index = o->index;
	pd.session = a->session;
	pd.time_ns = gn_now_ns();
	pd.nreplicas = o->c.nreplicas;
	memcpy(pd.replicas, o->c.replicas, sizeof(pd.replicas));
	db_be64(pkey, o->c.chunk_id);
	db_be64(pkey + 8, o->c.version);
	return db_put(t, DB_PENDING, pkey, sizeof(pkey), &pd, sizeof(pd), 0);
}

static int alloc_fn(struct db_txn *t, void *p)
{
	struct alloc_args *a = p;
	struct db_inode n;
	int ret;

	ret = ns_get_inode(t, a->ino, &n);
	if (ret)
		return ret;
	if (S_ISDIR(n.mode))
		return -EISDIR;
	if (!S_ISREG(n.mode))
		return -EINVAL;
	for (size_t i = 0; i < a->n; i++) {
		memset(&a->out[i], 0, sizeof(a->out[i]));
		a->out[i].index = a->indexes[i];
		ret = alloc_one(t, a, &n, &a->out[i],
				a->pending ? a->pending + 2 * i : NULL);
		if (ret)
			return ret;
	}
	return 0;
}

/* May the caller write ino: a write handle of its session, or write
 * permission. */
static int ns_may_write(struct mds *m, const struct mds_cred *c, uint64_t session,
			uint64_t ino, uint64_t handle)
{
	struct mds_handle *h;
	struct db_inode n;
	int ret = -ENOENT;

	pthread_mutex_lock(&m->lock);
	if (handle)
		ret = mds_handle_get_locked(m, session, handle, ino, &h);
	if (!ret && (h->flags & O_ACCMODE) == O_RDONLY)
		ret = -EBADF;
	pthread_mutex_unlock(&m->lock);
	if (ret != -ENOENT)
		return ret;
	/* No handle, or one from before an MDS restart: check the mode. */
	ret = mds_ns_getattr(m, ino, &n);
	if (ret)
		return ret;
	return mds_access(c, &n, 2);
}

int mds_ns_allocate(struct mds *m, const struct mds_cred *c, uint64_t session,
		    uint64_t ino, uint64_t handle, const uint64_t *indexes,
		    const uint64_t *pending, size_t n, struct mds_chunk **out)
{
	struct alloc_args a = { .m = m, .session = session, .ino = ino,
				.indexes = indexes, .pending = pending, .n = n };
	int ret;

	if (n == 0 || n > MDS_MAX_ALLOC)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (indexes[i] > MDS_MAX_CHUNK_INDEX)
			return -EFBIG;
		for (size_t j = 0; j < i; j++)
			if (indexes[j] == indexes[i])
				return -EINVAL;
	}
	ret = ns_may_write(m, c, session, ino, handle);
	if (ret)
		return ret;
	a.out = xcalloc(n, sizeof(*a.out));
	ret = db_write(m->db, alloc_fn, &a);
	if (ret) {
		free(a.out);
		return ret;
	}
	*out = a.out;
	return 0;
}

/* ---- CommitWrite ---- */

struct commit_args {
	struct mds *m;
	const struct mds_cred *c;
	uint64_t ino;
	const struct mds_commit *cw;
	struct db_inode out;
};

/*
 * The committing session's own uncommitted versions that the version
 * being committed (pkey, pd) supersedes: older versions of the same chunk
 * id, file and index (a client builds each upload of a chunk on the one
 * before).  Dropped now rather than when the session ends, so a mount
 * that rewrites an open file for days does not pile them up.  Another
 * session's versions stay: its own commit decides their fate.
 */
static int drop_superseded(struct db_txn *t, const uint8_t pkey[16],
			   const struct db_pending *pd)
{
	struct old { uint8_t key[16]; struct db_pending pd; } *old = NULL;
	size_t n = 0, cap = 0;
	struct db_cursor *c;
	const void *k, *v;
	size_t kl, vl;
	uint8_t start[16] = { 0 };
	int ret, r;

	memcpy(start, pkey, 8);
	ret = db_cursor_open(t, DB_PENDING, &c);
	if (ret)
		return ret;
	for (r = db_cursor_seek(c, start, sizeof(start), &k, &kl, &v, &vl); r == 0;
	     r = db_cursor_next(c, &k, &kl, &v, &vl)) {
		/* Big-endian keys: same id and older sort just before pkey. */
		if (kl != 16 || memcmp(k, pkey, 16) >= 0 || memcmp(k, pkey, 8))
			break;
		struct db_pending o;

		if (vl != sizeof(o))
			continue;
		memcpy(&o, v, sizeof(o));
		if (o.session != pd->session || o.ino != pd->ino || o.index != pd->index)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 4;
			old = xrealloc(old, cap * sizeof(*old));
		}
		memcpy(old[n].key, k, 16);
		old[n++].pd = o;
	}
	db_cursor_close(c);
	if (r && r != -ENOENT)
		ret = r;
	for (size_t i = 0; !ret && i < n; i++)
		ret = ns_pending_drop(t, old[i].key, &old[i].pd);
	free(old);
	return ret;
}

static int commit_one(struct db_txn *t, struct commit_args *a,
		      struct db_inode *n, const struct mds_chunk *in)
{
	uint8_t key[16], pkey[16], ikey[8], ival[16];
	struct db_chunk cur, nc = in->c;
	struct db_pending pd;
	const void *v;
	size_t vl;
	bool have_cur = false, pending = false;
	int ret;

	ns_chunk_key(key, n->ino, in->index);
	ret = db_get(t, DB_CHUNK, key, sizeof(key), &v, &vl);
	if (ret == 0 && vl == sizeof(cur)) {
		memcpy(&cur, v, sizeof(cur));
		have_cur = true;
	} else if (ret && ret != -ENOENT) {
		return ret;
	}
	db_be64(pkey, nc.chunk_id);
	db_be64(pkey + 8, nc.version);
	ret = db_get(t, DB_PENDING, pkey, sizeof(pkey), &v, &vl);
	if (ret == 0 && vl == sizeof(pd)) {
		memcpy(&pd, v, sizeof(pd));
		if (pd.ino != n->ino || pd.index != in->index)
			return -EINVAL;
		pending = true;
	} else if (ret && ret != -ENOENT) {
		return ret;
	}
	if (!pending) {
		/* A retried commit that already went through is fine. */
		if (have_cur && cur.chunk_id == nc.chunk_id && cur.version == nc.version)
			return 0;
		return -ESTALE;
	}
	/* The new version keeps bytes of base_version: if another writer
	 * committed a different version since, publishing this one would
	 * silently drop that writer's bytes.  Refuse; the client reports
	 * the failure at close/fsync. */
	if (in->base_version && (!have_cur || cur.version != in->base_version)) {
		log_warn("commit refused: chunk changed since the write's base ino=%llu index=%llu base=%llu current=%llu new=%llu",
			 (unsigned long long)n->ino, (unsigned long long)in->index,
			 (unsigned long long)in->base_version,
			 (unsigned long long)(have_cur ? cur.version : 0),
			 (unsigned long long)nc.version);
		return -ESTALE;
	}
	if (nc.nreplicas == 0) {
		nc.nreplicas = pd.nreplicas;
		memcpy(nc.replicas, pd.replicas, sizeof(nc.replicas));
	}
	for (uint32_t i = nc.nreplicas; i < DB_MAX_REPLICAS; i++)
		nc.replicas[i] = 0;
	if (have_cur) {
		n->blocks -= GN_MIN(n->blocks, (cur.length + 511) / 512);
		for (uint32_t i = 0; i < cur.nreplicas && i < DB_MAX_REPLICAS; i++) {
			ret = ns_queue_delete(t, cur.replicas[i], cur.chunk_id, cur.version);
			if (ret)
				return ret;
		}
		if (cur.chunk_id != nc.chunk_id) {
			ns_u64_key(ikey, cur.chunk_id);
			db_del(t, DB_CHUNKIDX, ikey, sizeof(ikey));
		}
	}
	n->blocks += (nc.length + 511) / 512;
	ret = db_put(t, DB_CHUNK, key, sizeof(key), &nc, sizeof(nc), 0);
	if (ret)
		return ret;
	ns_u64_key(ikey, nc.chunk_id);
	memcpy(ival, key, sizeof(ival));
	ret = db_put(t, DB_CHUNKIDX, ikey, sizeof(ikey), ival, sizeof(ival), 0);
	if (!ret)
		ret = drop_superseded(t, pkey, &pd);
	if (ret)
		return ret;
	return db_del(t, DB_PENDING, pkey, sizeof(pkey));
}

static int commit_fn(struct db_txn *t, void *p)
{
	struct commit_args *a = p;
	const struct mds_commit *cw = a->cw;
	int64_t now = gn_now_ns();
	struct db_inode n;
	uint64_t end = 0;
	int ret;

	ret = ns_get_inode(t, a->ino, &n);
	if (ret)
		return ret;
	if (!S_ISREG(n.mode))
		return S_ISDIR(n.mode) ? -EISDIR : -EINVAL;
	for (size_t i = 0; i < cw->n; i++) {
		const struct mds_chunk *in = &cw->chunks[i];
		ret = commit_one(t, a, &n, in);
		if (ret)
			return ret;
		end = GN_MAX(end, in->index * GN_CHUNK_SIZE + in->c.length);
	}
	if (cw->set_size) {
		if (cw->size < n.size) {
			ret = ns_truncate(t, &n, cw->size);
			if (ret)
				return ret;
		}
		n.size = cw->size;
	} else if (end > n.size) {
		n.size = end;
	}
	n.mtime = cw->mtime ? cw->mtime : now;
	n.ctime = now;
	/* As Linux: a write by anyone but root kills set-id bits. */
	if (a->c->uid != 0 && (n.mode & (S_ISUID | S_ISGID))) {
		n.mode &= ~(uint32_t)S_ISUID;
		if (n.mode & S_IXGRP)
			n.mode &= ~(uint32_t)S_ISGID;
	}
	ret = ns_put_inode(t, &n);
	if (ret == 0)
		a->out = n;
	return ret;
}

int mds_ns_commit(struct mds *m, const struct mds_cred *c, uint64_t session,
		  uint64_t ino, uint64_t handle, const struct mds_commit *cw,
		  struct db_inode *out, struct mds_changes *ch)
{
	struct commit_args a = { .m = m, .c = c, .ino = ino, .cw = cw };
	int ret;

	if (cw->n > MDS_MAX_COMMIT)
		return -EINVAL;
	for (size_t i = 0; i < cw->n; i++) {
		const struct mds_chunk *in = &cw->chunks[i];
		if (in->index > MDS_MAX_CHUNK_INDEX)
			return -EFBIG;
		if (in->c.length > GN_CHUNK_SIZE || in->c.version == 0 ||
		    in->c.chunk_id == 0 || in->c.nreplicas > DB_MAX_REPLICAS)
			return -EINVAL;
		for (uint32_t r = 0; r < in->c.nreplicas; r++) {
			struct mds_ds_info di;
			if (mds_ds_get(m, in->c.replicas[r], &di))
				return -EINVAL;
		}
	}
	if (cw->set_size && cw->size > (MDS_MAX_CHUNK_INDEX + 1) * GN_CHUNK_SIZE)
		return -EFBIG;
	ret = ns_may_write(m, c, session, ino, handle);
	if (ret)
		return ret;
	ret = db_write(m->db, commit_fn, &a);
	if (ret)
		return ret;
	ns_change(ch, MDS_INV_ATTR, ino, NULL);
	ns_change(ch, MDS_INV_DATA, ino, NULL);
	*out = a.out;
	return 0;
}

/* ---- policies ---- */

int mds_ns_getpolicy(struct mds *m, uint64_t ino, uint32_t *replicas,
		     uint32_t *compression)
{
	struct db_inode n;
	int ret = mds_ns_getattr(m, ino, &n);

	if (ret)
		return ret;
	*replicas = n.replicas;
	*compression = n.compression;
	return 0;
}

struct policy_args {
	const struct mds_cred *c;
	uint64_t ino;
	uint32_t replicas, compression;
};

static int policy_fn(struct db_txn *t, void *p)
{
	struct policy_args *a = p;
	struct db_inode n;
	int ret = ns_get_inode(t, a->ino, &n);

	if (ret)
		return ret;
	if (!S_ISDIR(n.mode))
		return -ENOTDIR;
	if (a->c->uid != 0 && a->c->uid != n.uid)
		return -EPERM;
	n.replicas = a->replicas;
	n.compression = a->compression;
	n.ctime = gn_now_ns();
	return ns_put_inode(t, &n);
}

int mds_ns_setpolicy(struct mds *m, const struct mds_cred *c, uint64_t ino,
		     uint32_t replicas, uint32_t compression)
{
	struct policy_args a = { .c = c, .ino = ino, .replicas = replicas,
				 .compression = compression };

	if (replicas < 1 || replicas > DB_MAX_REPLICAS || compression > 1)
		return -EINVAL;
	return db_write(m->db, policy_fn, &a);
}

/* ---- bad replicas ---- */

struct bad_args {
	uint64_t chunk_id, version;
	uint32_t ds;
};

static int bad_fn(struct db_txn *t, void *p)
{
	struct bad_args *a = p;
	uint8_t ikey[8], key[16];
	struct db_chunk ck;
	const void *v;
	size_t vl;
	uint32_t j = 0;
	bool found = false;
	int ret;

	ns_u64_key(ikey, a->chunk_id);
	ret = db_get(t, DB_CHUNKIDX, ikey, sizeof(ikey), &v, &vl);
	if (ret)
		return ret;
	if (vl != sizeof(key))
		return -EIO;
	memcpy(key, v, sizeof(key));
	ret = db_get(t, DB_CHUNK, key, sizeof(key), &v, &vl);
	if (ret)
		return ret == -ENOENT ? -EIO : ret;
	memcpy(&ck, v, sizeof(ck));
	if (ck.version != a->version)
		return 0;	/* an old version: its deletion is queued */
	for (uint32_t i = 0; i < ck.nreplicas; i++) {
		if (ck.replicas[i] == a->ds)
			found = true;
		else
			ck.replicas[j++] = ck.replicas[i];
	}
	if (!found)
		return 0;
	if (j == 0) {
		/* Keep the last known replica: it may still be partly
		 * readable, and re-replication has no other source. */
		log_warn("bad replica of chunk %016" PRIx64 " on ds=%u is the last one",
			 a->chunk_id, a->ds);
		return 0;
	}
	ck.nreplicas = j;
	for (; j < DB_MAX_REPLICAS; j++)
		ck.replicas[j] = 0;
	ret = db_put(t, DB_CHUNK, key, sizeof(key), &ck, sizeof(ck), 0);
	if (ret == 0)
		ret = ns_queue_delete(t, a->ds, a->chunk_id, a->version);
	return ret;
}

int mds_ns_report_bad(struct mds *m, uint64_t chunk_id, uint64_t version,
		      uint32_t ds_id)
{
	struct bad_args a = { .chunk_id = chunk_id, .version = version, .ds = ds_id };

	/* Its deletion is queued there: do not copy the chunk back to it. */
	pthread_mutex_lock(&m->lock);
	hmap_put(&m->bad_replica, chunk_id, (void *)(uintptr_t)(ds_id + 1));
	pthread_mutex_unlock(&m->lock);
	log_warn("bad replica reported chunk=%016" PRIx64 " version=%" PRIu64 " ds=%u",
		 chunk_id, version, ds_id);
	return db_write(m->db, bad_fn, &a);
}
