/* db.c - LMDB store and group commit; see db.h */
#include "config.h"
#include "mds/db.h"
#include "common/log.h"
#include "common/util.h"

#include <errno.h>
#include <inttypes.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>

static const char *const table_names[DB__COUNT] = {
	"inode", "dirent", "dirseq", "symlink", "xattr", "chunk",
	"chunkidx", "session", "orphan", "ds", "dsuuid", "counter",
	"delq", "pending",
};

/* Most closures are a few puts; 512 of them stay far below LMDB's dirty
 * page limit, and a batch that does hit it is split (MDB_TXN_FULL). */
#define DB_MAX_BATCH 512

struct db_req {
	db_write_fn fn;
	void *arg;
	int ret;
	bool done;
	bool retry;		/* map or txn full: run again after growing */
	bool finished;		/* under db->lock: durable or failed */
	pthread_cond_t cond;	/* signalled when finished */
	struct db_req *next;
};

struct db {
	MDB_env *env;
	MDB_dbi dbi[DB__COUNT];
	char *dir;
	uint64_t map_size, max_map_size;
	bool group_commit;

	/* Readers hold it shared for the life of a read txn so that the
	 * committer can resize the map with no txn active (lmdb.h
	 * mdb_env_set_mapsize). */
	pthread_rwlock_t resize_lock;

	pthread_mutex_t lock;
	pthread_cond_t queue_cond;	/* committer: work or stop */
	struct db_req *head, **tail;
	int qlen;		/* requests in head */
	int target;		/* batch size to gather (see db_committer) */
	bool stop;
	pthread_t committer;
	bool committer_started;

	uint64_t commits, ops;
};

struct db_txn {
	MDB_txn *t;
	struct db *db;
	bool map_full;
	bool locked;		/* read txn holding resize_lock */
};

struct db_cursor {
	MDB_cursor *c;
	struct db_txn *txn;
};

/* The one LMDB rc -> errno table. */
static int db_err(struct db_txn *txn, int rc)
{
	switch (rc) {
	case MDB_SUCCESS: return 0;
	case MDB_NOTFOUND: return -ENOENT;
	case MDB_KEYEXIST: return -EEXIST;
	case MDB_MAP_FULL:
	case MDB_TXN_FULL:
		if (txn)
			txn->map_full = true;
		return -ENOSPC;
	case MDB_READERS_FULL: return -EAGAIN;
	case MDB_BAD_VALSIZE: return -EINVAL;
	case MDB_MAP_RESIZED: return -EAGAIN;
	case MDB_CORRUPTED:
	case MDB_PANIC:
	case MDB_VERSION_MISMATCH:
	case MDB_INVALID:
	case MDB_PAGE_NOTFOUND:
		return -EIO;
	default:
		return rc > 0 ? -rc : -EIO;
	}
}

static void db_stats_map(struct db *db, uint64_t *size, uint64_t *used)
{
	MDB_envinfo info;
	MDB_stat st;

	mdb_env_info(db->env, &info);
	mdb_env_stat(db->env, &st);
	*size = info.me_mapsize;
	*used = (uint64_t)(info.me_last_pgno + 1) * st.ms_psize;
}

/* Double the map (committer thread, no txn open).  -ENOSPC when the
 * configured limit or the disk leaves no room. */
static int db_grow(struct db *db)
{
	uint64_t size, used, want;
	struct statvfs vfs;
	int rc;

	db_stats_map(db, &size, &used);
	want = size * 2;
	if (db->max_map_size && want > db->max_map_size)
		want = db->max_map_size;
	if (want <= size)
		return -ENOSPC;
	if (!db->max_map_size && statvfs(db->dir, &vfs) == 0 &&
	    (uint64_t)vfs.f_bavail * vfs.f_frsize < (want - used) / 4) {
		log_warn("cannot grow store map dir='%s' size=%" PRIu64 ": disk almost full",
			 db->dir, size);
		return -ENOSPC;
	}
	pthread_rwlock_wrlock(&db->resize_lock);
	rc = mdb_env_set_mapsize(db->env, want);
	pthread_rwlock_unlock(&db->resize_lock);
	if (rc) {
		log_err("cannot grow store map to %" PRIu64 ": %s", want, mdb_strerror(rc));
		return db_err(NULL, rc);
	}
	db->map_size = want;
	log_info("store map grown size=%" PRIu64 " used=%" PRIu64, want, used);
	return 0;
}

/*
 * Run the not-yet-done requests of list in one write txn, each in a
 * nested txn.  Marks each done (ret set) or retry.  Returns the commit's
 * result.
 */
static int db_run_batch(struct db *db, struct db_req *list, int max)
{
	struct db_txn parent = { .db = db };
	int rc, n = 0;

	rc = mdb_txn_begin(db->env, NULL, 0, &parent.t);
	if (rc)
		return db_err(NULL, rc);
	for (struct db_req *r = list; r && n < max; r = r->next) {
		struct db_txn child = { .db = db };
		int ret;

		if (r->done)
			continue;
		n++;
		r->retry = false;
		rc = mdb_txn_begin(db->env, parent.t, 0, &child.t);
		if (rc) {
			r->ret = db_err(&child, rc);
			r->retry = child.map_full;
			r->done = !r->retry;
			continue;
		}
		ret = r->fn(&child, r->arg);
		db->ops++;
		if (ret < 0 || child.map_full) {
			mdb_txn_abort(child.t);
			r->retry = child.map_full;
			r->ret = ret < 0 ? ret : -ENOSPC;
			r->done = !r->retry;
			continue;
		}
		rc = mdb_txn_commit(child.t);
		if (rc) {
			r->ret = db_err(&child, rc);
			r->retry = child.map_full;
			r->done = !r->retry;
			continue;
		}
		r->ret = ret;
		r->done = true;
	}
	rc = mdb_txn_commit(parent.t);
	if (rc) {
		/* Nothing of this batch is stored: run it all again. */
		int err = db_err(&parent, rc);
		for (struct db_req *r = list; r; r = r->next) {
			if (r->done && !r->retry) {
				r->done = false;
				r->retry = true;
			}
		}
		return err;
	}
	db->commits++;
	return 0;
}

/* Run every request of list to completion (ret set, done). */
static void db_process(struct db *db, struct db_req *list)
{
	int max = db->group_commit ? DB_MAX_BATCH : 1;
	int tries = 0;

	for (;;) {
		bool pending = false, full = false;
		int rc;

		rc = db_run_batch(db, list, max);
		for (struct db_req *r = list; r; r = r->next) {
			if (!r->done)
				pending = true;
			if (r->retry)
				full = true;
		}
		if (!pending)
			break;
		if (rc && rc != -ENOSPC) {
			for (struct db_req *r = list; r; r = r->next)
				if (!r->done) {
					r->ret = rc;
					r->done = true;
				}
			log_err("store commit failed: %s", strerror(-rc));
			break;
		}
		if (full) {
			/* A txn-full batch needs no growth, only a smaller
			 * batch; a map-full one needs a bigger map. */
			uint64_t size, used;
			db_stats_map(db, &size, &used);
			if (max > 1 && used < size / 2) {
				max = max / 2 > 0 ? max / 2 : 1;
				continue;
			}
			if (++tries > 8 || db_grow(db) < 0) {
				for (struct db_req *r = list; r; r = r->next)
					if (!r->done) {
						r->ret = -ENOSPC;
						r->done = true;
					}
				break;
			}
		}
	}
	/* Grow ahead of need so that ordinary writes never see a full map. */
	uint64_t size, used;
	db_stats_map(db, &size, &used);
	if (used > size / 4 * 3)
		db_grow(db);
}

/* How long the committer waits for callers of the previous batch to come
 * back before committing a smaller batch.  Shorter than one sync. */
#define DB_GATHER_NS 500000

/* Wait (db->lock held) until target requests are queued or the gather
 * time is over.  Without this, concurrent callers split into two groups
 * that alternate (one queued while the other is being committed), and each
 * sync carries only half of them. */
static void db_gather(struct db *db)
{
	struct timespec ts;

	if (!db->group_commit || db->qlen >= db->target)
		return;
	ts = gn_mono_after_ns(DB_GATHER_NS);
	while (db->qlen < db->target && !db->stop)
		if (pthread_cond_timedwait(&db->queue_cond, &db->lock, &ts) == ETIMEDOUT)
			break;
}

static void *db_committer(void *p)
{
	struct db *db = p;

	pthread_mutex_lock(&db->lock);
	for (;;) {
		struct db_req *list;
		int n;

		while (!db->head && !db->stop)
			pthread_cond_wait(&db->queue_cond, &db->lock);
		if (!db->head)
			break;
		db_gather(db);
		list = db->head;
		n = db->qlen;
		db->head = NULL;
		db->tail = &db->head;
		db->qlen = 0;
		pthread_mutex_unlock(&db->lock);

		if (db->group_commit) {
			db_process(db, list);
		} else {
			for (struct db_req *r = list, *next; r; r = next) {
				next = r->next;
				r->next = NULL;
				db_process(db, r);
				r->next = next;
			}
		}

		pthread_mutex_lock(&db->lock);
		/* Wake exactly the callers of this batch (a broadcast would
		 * also wake every queued caller for nothing). */
		for (struct db_req *r = list; r; r = r->next) {
			r->finished = true;
			pthread_cond_signal(&r->cond);
		}
		/* The callers just answered will likely come back: gather
		 * them with those already queued. */
		db->target = GN_MIN(n + db->qlen, DB_MAX_BATCH);
	}
	pthread_mutex_unlock(&db->lock);
	return NULL;
}

int db_write(struct db *db, db_write_fn fn, void *arg)
{
	struct db_req req = { .fn = fn, .arg = arg };

	pthread_cond_init(&req.cond, NULL);
	pthread_mutex_lock(&db->lock);
	*db->tail = &req;
	db->tail = &req.next;
	db->qlen++;
	pthread_cond_signal(&db->queue_cond);
	while (!req.finished)
		pthread_cond_wait(&req.cond, &db->lock);
	pthread_mutex_unlock(&db->lock);
	pthread_cond_destroy(&req.cond);
	return req.ret;
}

int db_read_begin(struct db *db, struct db_txn **out)
{
	struct db_txn *txn = xcalloc(1, sizeof(*txn));
	int rc;

	txn->db = db;
	pthread_rwlock_rdlock(&db->resize_lock);
	txn->locked = true;
	rc = mdb_txn_begin(db->env, NULL, MDB_RDONLY, &txn->t);
	if (rc) {
		pthread_rwlock_unlock(&db->resize_lock);
		free(txn);
		return db_err(NULL, rc);
	}
	*out = txn;
	return 0;
}

void db_txn_end(struct db_txn *txn)
{
	if (!txn)
		return;
	mdb_txn_abort(txn->t);
	if (txn->locked)
		pthread_rwlock_unlock(&txn->db->resize_lock);
	free(txn);
}

int db_get(struct db_txn *txn, enum db_table t, const void *key, size_t klen,
	   const void **val, size_t *vlen)
{
	MDB_val k = { klen, (void *)key }, v;
	int rc = mdb_get(txn->t, txn->db->dbi[t], &k, &v);

	if (rc)
		return db_err(txn, rc);
	if (val)
		*val = v.mv_data;
	if (vlen)
		*vlen = v.mv_size;
	return 0;
}

int db_put(struct db_txn *txn, enum db_table t, const void *key, size_t klen,
	   const void *val, size_t vlen, unsigned flags)
{
	MDB_val k = { klen, (void *)key }, v = { vlen, (void *)val };
	unsigned f = (flags & DB_NOOVERWRITE) ? MDB_NOOVERWRITE : 0;

	return db_err(txn, mdb_put(txn->t, txn->db->dbi[t], &k, &v, f));
}

int db_del(struct db_txn *txn, enum db_table t, const void *key, size_t klen)
{
	MDB_val k = { klen, (void *)key };

	return db_err(txn, mdb_del(txn->t, txn->db->dbi[t], &k, NULL));
}

uint64_t db_count(struct db_txn *txn, enum db_table t)
{
	MDB_stat st;

	if (mdb_stat(txn->t, txn->db->dbi[t], &st))
		return 0;
	return st.ms_entries;
}

int db_cursor_open(struct db_txn *txn, enum db_table t, struct db_cursor **out)
{
	struct db_cursor *c = xcalloc(1, sizeof(*c));
	int rc = mdb_cursor_open(txn->t, txn->db->dbi[t], &c->c);

	if (rc) {
		free(c);
		return db_err(txn, rc);
	}
	c->txn = txn;
	*out = c;
	return 0;
}

static int db_cursor_get(struct db_cursor *c, MDB_val *k, MDB_cursor_op op,
			 const void **kp, size_t *kl, const void **vp, size_t *vl)
{
	MDB_val v;
	int rc = mdb_cursor_get(c->c, k, &v, op);

	if (rc)
		return db_err(c->txn, rc);
	if (kp)
		*kp = k->mv_data;
	if (kl)
		*kl = k->mv_size;
	if (vp)
		*vp = v.mv_data;
	if (vl)
		*vl = v.mv_size;
	return 0;
}

int db_cursor_seek(struct db_cursor *c, const void *key, size_t klen,
		   const void **k, size_t *kl, const void **v, size_t *vl)
{
	MDB_val kv = { klen, (void *)key };

	if (!klen)
		return db_cursor_get(c, &kv, MDB_FIRST, k, kl, v, vl);
	return db_cursor_get(c, &kv, MDB_SET_RANGE, k, kl, v, vl);
}

int db_cursor_next(struct db_cursor *c, const void **k, size_t *kl,
		   const void **v, size_t *vl)
{
	MDB_val kv;

	return db_cursor_get(c, &kv, MDB_NEXT, k, kl, v, vl);
}

int db_cursor_del(struct db_cursor *c)
{
	return db_err(c->txn, mdb_cursor_del(c->c, 0));
}

void db_cursor_close(struct db_cursor *c)
{
	if (!c)
		return;
	mdb_cursor_close(c->c);
	free(c);
}

int db_counter_get(struct db_txn *txn, const char *name, uint64_t *out)
{
	const void *v = NULL;
	size_t vl = 0;
	uint64_t n = 0;
	int ret = db_get(txn, DB_COUNTER, name, strlen(name), &v, &vl);

	if (ret == -ENOENT)
		ret = 0;
	else if (ret == 0 && vl == sizeof(n))
		memcpy(&n, v, sizeof(n));
	else if (ret == 0)
		ret = -EIO;
	if (ret == 0)
		*out = n;
	return ret;
}

int db_counter_next(struct db_txn *txn, const char *name, uint64_t *out)
{
	uint64_t n;
	int ret = db_counter_get(txn, name, &n);

	if (ret)
		return ret;
	n++;
	ret = db_put(txn, DB_COUNTER, name, strlen(name), &n, sizeof(n), 0);
	if (ret == 0)
		*out = n;
	return ret;
}

void db_get_stats(struct db *db, struct db_stats *st)
{
	pthread_mutex_lock(&db->lock);
	st->commits = db->commits;
	st->ops = db->ops;
	pthread_mutex_unlock(&db->lock);
	db_stats_map(db, &st->map_size, &st->map_used);
}

static int db_open_tables(struct db *db)
{
	MDB_txn *t;
	int rc;

	rc = mdb_txn_begin(db->env, NULL, 0, &t);
	if (rc)
		return db_err(NULL, rc);
	for (int i = 0; i < DB__COUNT; i++) {
		rc = mdb_dbi_open(t, table_names[i], MDB_CREATE, &db->dbi[i]);
		if (rc) {
			mdb_txn_abort(t);
			return db_err(NULL, rc);
		}
	}
	return db_err(NULL, mdb_txn_commit(t));
}

int db_open(const struct db_opts *opts, struct db **out)
{
	struct db *db = xcalloc(1, sizeof(*db));
	pthread_rwlockattr_t ra;
	uint64_t size, used;
	int ret, rc;

	db->dir = xstrdup(opts->dir);
	db->map_size = opts->map_size ? opts->map_size : (uint64_t)1 << 30;
	db->max_map_size = opts->max_map_size;
	db->group_commit = opts->group_commit;
	db->tail = &db->head;
	pthread_mutex_init(&db->lock, NULL);
	{
		pthread_condattr_t ca;
		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&db->queue_cond, &ca);
		pthread_condattr_destroy(&ca);
	}
	pthread_rwlockattr_init(&ra);
	/* The resize must not starve behind a stream of readers. */
	pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&db->resize_lock, &ra);
	pthread_rwlockattr_destroy(&ra);

	rc = mdb_env_create(&db->env);
	if (rc) {
		ret = db_err(NULL, rc);
		goto out;
	}
	mdb_env_set_maxdbs(db->env, DB__COUNT + 2);
	mdb_env_set_maxreaders(db->env, 1024);
	mdb_env_set_mapsize(db->env, db->map_size);
	rc = mdb_env_open(db->env, db->dir, MDB_NOTLS, 0600);
	if (rc) {
		log_err("cannot open store dir='%s': %s", db->dir, mdb_strerror(rc));
		ret = db_err(NULL, rc);
		goto out;
	}
	/* An existing store may be larger than map_size: keep its size. */
	db_stats_map(db, &size, &used);
	db->map_size = size;
	ret = db_open_tables(db);
	if (ret)
		goto out;
	if (!opts->read_only) {
		if (pthread_create(&db->committer, NULL, db_committer, db)) {
			ret = -EAGAIN;
			goto out;
		}
		db->committer_started = true;
	}
	*out = db;
	db = NULL;
	ret = 0;
out:
	if (db)
		db_close(db);
	return ret;
}

void db_close(struct db *db)
{
	if (!db)
		return;
	if (db->committer_started) {
		pthread_mutex_lock(&db->lock);
		db->stop = true;
		pthread_cond_signal(&db->queue_cond);
		pthread_mutex_unlock(&db->lock);
		pthread_join(db->committer, NULL);
	}
	if (db->env) {
		if (db->commits)
			log_info("store closed commits=%" PRIu64 " ops=%" PRIu64,
				 db->commits, db->ops);
		mdb_env_close(db->env);
	}
	pthread_rwlock_destroy(&db->resize_lock);
	pthread_cond_destroy(&db->queue_cond);
	pthread_mutex_destroy(&db->lock);
	free(db->dir);
	free(db);
}
