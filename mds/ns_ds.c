/* ns_ds.c - data-server registry, heartbeats, deletion queues, placement
 * and re-replication */
#include "config.h"
#include "mds/mds_i.h"
#include "common/log.h"
#include "common/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define MDS_DEL_BATCH 1024
#define MDS_REP_PER_SCAN 64
#define MDS_REP_TIMEOUT_MS 30000

static enum mds_ds_state ds_state(const struct mds_ds *d)
{
	if (d->admin == MDS_DS_REMOVED)
		return MDS_DS_REMOVED;
	if (!d->up)
		return MDS_DS_DOWN;
	if (d->admin == MDS_DS_DRAINING)
		return MDS_DS_DRAINING;
	return MDS_DS_UP;
}

static void ds_fill(const struct mds_ds *d, struct mds_ds_info *out)
{
	*out = d->info;
	out->state = ds_state(d);
}

/* A server new writes may go to. */
bool mds_ds_is_live(struct mds *m, uint32_t id)
{
	bool live = false;

	pthread_mutex_lock(&m->lock);
	if (id < MDS_MAX_DS && m->ds[id])
		live = ds_state(m->ds[id]) == MDS_DS_UP;
	pthread_mutex_unlock(&m->lock);
	return live;
}

/* Weighted random choice without replacement: weight grows with free
 * space, so full servers get fewer new chunks, and the randomness spreads
 * concurrent writers. */
static int ds_choose_locked(struct mds *m, uint32_t want, const uint32_t *avoid,
			    uint32_t navoid, uint32_t *out)
{
	uint32_t cand[MDS_MAX_DS < 256 ? MDS_MAX_DS : 256];
	double w[GN_ARRAY_SIZE(cand)];
	uint32_t nc = 0, got = 0;

	for (uint32_t id = 1; id < MDS_MAX_DS && nc < GN_ARRAY_SIZE(cand); id++) {
		struct mds_ds *d = m->ds[id];
		bool skip = false;
		if (!d || ds_state(d) != MDS_DS_UP)
			continue;
		for (uint32_t i = 0; i < navoid; i++)
			if (avoid[i] == id)
				skip = true;
		if (skip)
			continue;
		w[nc] = 1.0 + (double)(d->info.free >> 20);
		cand[nc++] = id;
	}
	if (want > DB_MAX_REPLICAS)
		want = DB_MAX_REPLICAS;
	while (got < want && nc > 0) {
		double total = 0, r;
		uint32_t i;
		for (i = 0; i < nc; i++)
			total += w[i];
		r = drand48() * total;
		for (i = 0; i + 1 < nc && r >= w[i]; i++)
			r -= w[i];
		out[got++] = cand[i];
		cand[i] = cand[nc - 1];
		w[i] = w[nc - 1];
		nc--;
	}
	return (int)got;
}

int mds_ds_choose(struct mds *m, uint32_t want, uint32_t *out)
{
	int n;

	pthread_mutex_lock(&m->lock);
	n = ds_choose_locked(m, want ? want : 1, NULL, 0, out);
	pthread_mutex_unlock(&m->lock);
	return n;
}

/* ---- persistence ---- */

static int ds_put(struct db_txn *t, const struct mds_ds_info *in, uint32_t admin)
{
	uint8_t key[4], val[sizeof(struct db_ds) + 128];
	struct db_ds r = { 0 };
	size_t al = GN_MIN(strlen(in->addr), 127);

	r.id = in->id;
	r.admin = admin;
	r.capacity = in->capacity;
	r.free = in->free;
	r.chunks = in->chunks;
	snprintf(r.uuid, sizeof(r.uuid), "%s", in->uuid);
	memcpy(val, &r, sizeof(r));
	memcpy(val + sizeof(r), in->addr, al);
	db_be32(key, in->id);
	return db_put(t, DB_DS, key, sizeof(key), val, sizeof(r) + al, 0);
}

int mds_ds_load(struct mds *m)
{
	struct db_cursor *c = NULL;
	struct db_txn *t;
	const void *k, *v;
	size_t kl, vl;
	int ret, r;

	ret = db_read_begin(m->db, &t);
	if (ret)
		return ret;
	ret = db_cursor_open(t, DB_DS, &c);
	if (ret)
		goto out;
	for (r = db_cursor_seek(c, NULL, 0, &k, &kl, &v, &vl); r == 0;
	     r = db_cursor_next(c, &k, &kl, &v, &vl)) {
		struct db_ds rec;
		struct mds_ds *d;
		size_t al;
		if (vl < sizeof(rec))
			continue;
		memcpy(&rec, v, sizeof(rec));
		if (rec.id == 0 || rec.id >= MDS_MAX_DS)
			continue;
		d = xcalloc(1, sizeof(*d));
		d->info.id = rec.id;
		d->admin = rec.admin;
		d->info.capacity = rec.capacity;
		d->info.free = rec.free;
		d->info.chunks = rec.chunks;
		snprintf(d->info.uuid, sizeof(d->info.uuid), "%s", rec.uuid);
		al = GN_MIN(vl - sizeof(rec), sizeof(d->info.addr) - 1);
		memcpy(d->info.addr, (const char *)v + sizeof(rec), al);
		pthread_mutex_lock(&m->lock);
		m->ds[rec.id] = d;
		pthread_mutex_unlock(&m->lock);
	}
out:
	db_cursor_close(c);
	db_txn_end(t);
	return ret;
}

/* ---- Register ---- */

struct reg_args {
	const struct mds_ds_info *in;
	uint32_t id, admin;
};

static int reg_fn(struct db_txn *t, void *p)
{
	struct reg_args *a = p;
	struct mds_ds_info info = *a->in;
	const void *v;
	size_t vl;
	int ret;

	ret = db_get(t, DB_DSUUID, info.uuid, strlen(info.uuid), &v, &vl);
	if (ret == 0 && vl == 4) {
		uint8_t key[4];
		a->id = db_get_be32(v);
		db_be32(key, a->id);
		if (db_get(t, DB_DS, key, sizeof(key), &v, &vl) == 0 &&
		    vl >= sizeof(struct db_ds)) {
			struct db_ds r;
			memcpy(&r, v, sizeof(r));
			a->admin = r.admin;
		}
	} else if (ret == -ENOENT) {
		uint64_t id;
		uint8_t val[4];
		ret = db_counter_next(t, "ds", &id);
		if (ret)
			return ret;
		if (id >= MDS_MAX_DS)
			return -ENOSPC;
		a->id = (uint32_t)id;
		db_be32(val, a->id);
		ret = db_put(t, DB_DSUUID, info.uuid, strlen(info.uuid), val, 4, 0);
		if (ret)
			return ret;
	} else {
		return ret ? ret : -EIO;
	}
	info.id = a->id;
	return ds_put(t, &info, a->admin);
}

int mds_ds_register(struct mds *m, const struct mds_ds_info *in, uint32_t *id)
{
	struct reg_args a = { .in = in };
	struct mds_ds *d;
	int ret;

	if (!in->uuid[0] || !in->addr[0])
		return -EINVAL;
	ret = db_write(m->db, reg_fn, &a);
	if (ret)
		return ret;
	pthread_mutex_lock(&m->lock);
	d = m->ds[a.id];
	if (!d) {
		d = xcalloc(1, sizeof(*d));
		m->ds[a.id] = d;
	}
	d->info = *in;
	d->info.id = a.id;
	d->admin = a.admin;
	d->up = true;
	d->last_hb_ms = gn_mono_ms();
	pthread_mutex_unlock(&m->lock);
	log_info("data server registered id=%u uuid=%s addr=%s", a.id, in->uuid, in->addr);
	*id = a.id;
	return 0;
}

/* ---- Heartbeat ---- */

struct delq_args {
	uint8_t (*keys)[20];
	size_t n;
};

static int delq_fn(struct db_txn *t, void *p)
{
	struct delq_args *a = p;

	for (size_t i = 0; i < a->n; i++) {
		int ret = db_del(t, DB_DELQ, a->keys[i], 20);
		if (ret && ret != -ENOENT)
			return ret;
	}
	return 0;
}

/* Take up to MDS_DEL_BATCH queued deletions of server id off the queue.
 * Delivered at most once: a lost heartbeat reply leaves garbage on the
 * server, which its own scrub of unknown chunks may remove. */
static int ds_take_deletions(struct mds *m, uint32_t id, struct mds_ds_work *out)
{
	struct delq_args a = { 0 };
	struct db_cursor *c = NULL;
	struct db_txn *t;
	uint8_t key[4];
	const void *k;
	size_t kl;
	int ret, r;

	ret = db_read_begin(m->db, &t);
	if (ret)
		return ret;
	ret = db_cursor_open(t, DB_DELQ, &c);
	if (ret)
		goto out;
	db_be32(key, id);
	a.keys = xmalloc(MDS_DEL_BATCH * sizeof(*a.keys));
	out->del = xmalloc(MDS_DEL_BATCH * sizeof(*out->del));
	for (r = db_cursor_seek(c, key, sizeof(key), &k, &kl, NULL, NULL);
	     r == 0 && kl == 20 && db_get_be32(k) == id && a.n < MDS_DEL_BATCH;
	     r = db_cursor_next(c, &k, &kl, NULL, NULL)) {
		memcpy(a.keys[a.n], k, 20);
		out->del[a.n].chunk_id = db_get_be64((const uint8_t *)k + 4);
		out->del[a.n].version = db_get_be64((const uint8_t *)k + 12);
		a.n++;
	}
out:
	db_cursor_close(c);
	db_txn_end(t);
	if (ret == 0 && a.n)
		ret = db_write(m->db, delq_fn, &a);
	if (ret == 0)
		out->ndel = a.n;
	free(a.keys);
	return ret;
}

int mds_ds_heartbeat(struct mds *m, const struct mds_ds_info *in,
		     struct mds_ds_work *out)
{
	struct mds_ds *d;
	bool was_up;
	int ret;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&m->lock);
	d = in->id < MDS_MAX_DS ? m->ds[in->id] : NULL;
	if (!d || (in->uuid[0] && strcmp(in->uuid, d->info.uuid))) {
		pthread_mutex_unlock(&m->lock);
		out->unknown = true;
		return 0;
	}
	was_up = d->up;
	d->up = true;
	d->last_hb_ms = gn_mono_ms();
	d->info.capacity = in->capacity;
	d->info.free = in->free;
	d->info.chunks = in->chunks;
	if (in->addr[0])
		snprintf(d->info.addr, sizeof(d->info.addr), "%s", in->addr);
	out->draining = d->admin == MDS_DS_DRAINING || d->admin == MDS_DS_REMOVED;
	if (d->norders) {
		out->rep = xcalloc(d->norders, sizeof(*out->rep));
		for (size_t i = 0; i < d->norders; i++) {
			struct mds_ds *src = m->ds[d->orders[i].source_id];
			out->rep[i].chunk_id = d->orders[i].chunk_id;
			out->rep[i].version = d->orders[i].version;
			out->rep[i].source_id = d->orders[i].source_id;
			if (src)
				snprintf(out->rep[i].source_addr,
					 sizeof(out->rep[i].source_addr), "%s",
					 src->info.addr);
		}
		out->nrep = d->norders;
		free(d->orders);
		d->orders = NULL;
		d->norders = 0;
	}
	pthread_mutex_unlock(&m->lock);
	if (!was_up)
		log_info("data server up id=%u addr=%s", in->id, in->addr);
	ret = ds_take_deletions(m, in->id, out);
	if (ret) {
		mds_ds_work_release(out);
		return ret;
	}
	return 0;
}

void mds_ds_work_release(struct mds_ds_work *w)
{
	free(w->del);
	free(w->rep);
	w->del = NULL;
	w->rep = NULL;
	w->ndel = w->nrep = 0;
}

/* ---- Replicated ---- */

struct repl_args {
	uint32_t ds;
	uint64_t chunk_id, version;
};

static int repl_fn(struct db_txn *t, void *p)
{
	struct repl_args *a = p;
	uint8_t ikey[8], key[16];
	struct db_chunk ck;
	const void *v;
	size_t vl;
	int ret;

	db_be64(ikey, a->chunk_id);
	ret = db_get(t, DB_CHUNKIDX, ikey, sizeof(ikey), &v, &vl);
	if (ret)
		return ret;
	if (vl != sizeof(key))
		return -EIO;
	memcpy(key, v, sizeof(key));
	ret = db_get(t, DB_CHUNK, key, sizeof(key), &v, &vl);
	if (ret || vl != sizeof(ck))
		return ret ? ret : -EIO;
	memcpy(&ck, v, sizeof(ck));
	if (ck.version != a->version)
		return ns_queue_delete(t, a->ds, a->chunk_id, a->version);
	for (uint32_t i = 0; i < ck.nreplicas; i++)
		if (ck.replicas[i] == a->ds)
			return 0;
	if (ck.nreplicas >= DB_MAX_REPLICAS)
		return ns_queue_delete(t, a->ds, a->chunk_id, a->version);
	ck.replicas[ck.nreplicas++] = a->ds;
	return db_put(t, DB_CHUNK, key, sizeof(key), &ck, sizeof(ck), 0);
}

int mds_ds_replicated(struct mds *m, uint32_t ds_id, uint64_t chunk_id,
		      uint64_t version)
{
	struct repl_args a = { .ds = ds_id, .chunk_id = chunk_id, .version = version };
	struct mds_ds_info info;
	int ret;

	if (mds_ds_get(m, ds_id, &info))
		return -ENOENT;
	ret = db_write(m->db, repl_fn, &a);
	pthread_mutex_lock(&m->lock);
	hmap_del(&m->replicating, chunk_id);
	hmap_del(&m->bad_replica, chunk_id);
	pthread_mutex_unlock(&m->lock);
	return ret;
}

/* ---- administration ---- */

struct admin_args {
	struct mds_ds_info info;
	uint32_t admin;
};

static int admin_fn(struct db_txn *t, void *p)
{
	struct admin_args *a = p;
	return ds_put(t, &a->info, a->admin);
}

int mds_ds_admin(struct mds *m, uint32_t id, int op)
{
	static const uint32_t admin_of[] = { MDS_DS_DRAINING, 0, MDS_DS_REMOVED };
	struct admin_args a;
	int ret;

	if (op < 0 || op > 2)
		return -EINVAL;
	pthread_mutex_lock(&m->lock);
	if (id >= MDS_MAX_DS || !m->ds[id]) {
		pthread_mutex_unlock(&m->lock);
		return -ENOENT;
	}
	a.info = m->ds[id]->info;
	pthread_mutex_unlock(&m->lock);
	a.admin = admin_of[op];
	ret = db_write(m->db, admin_fn, &a);
	if (ret)
		return ret;
	pthread_mutex_lock(&m->lock);
	if (m->ds[id])
		m->ds[id]->admin = a.admin;
	pthread_mutex_unlock(&m->lock);
	log_info("data server admin id=%u op=%s", id,
		 op == 0 ? "drain" : op == 1 ? "undrain" : "remove");
	return 0;
}

int mds_ds_list(struct mds *m, struct mds_ds_info **out, size_t *n)
{
	struct mds_ds_info *v;
	size_t cnt = 0;

	pthread_mutex_lock(&m->lock);
	for (uint32_t id = 1; id < MDS_MAX_DS; id++)
		if (m->ds[id])
			cnt++;
	v = xcalloc(cnt + 1, sizeof(*v));
	cnt = 0;
	for (uint32_t id = 1; id < MDS_MAX_DS; id++)
		if (m->ds[id])
			ds_fill(m->ds[id], &v[cnt++]);
	pthread_mutex_unlock(&m->lock);
	*out = v;
	*n = cnt;
	return 0;
}

int mds_ds_get(struct mds *m, uint32_t id, struct mds_ds_info *out)
{
	int ret = -ENOENT;

	pthread_mutex_lock(&m->lock);
	if (id < MDS_MAX_DS && m->ds[id]) {
		ds_fill(m->ds[id], out);
		ret = 0;
	}
	pthread_mutex_unlock(&m->lock);
	return ret;
}

int mds_ds_up_count(struct mds *m)
{
	int n = 0;

	pthread_mutex_lock(&m->lock);
	for (uint32_t id = 1; id < MDS_MAX_DS; id++)
		if (m->ds[id] && ds_state(m->ds[id]) == MDS_DS_UP)
			n++;
	pthread_mutex_unlock(&m->lock);
	return n;
}

/* ---- background: liveness, re-replication, stale allocations ---- */

/* Is replica id counted towards a chunk's policy? */
static bool ds_counts_locked(struct mds *m, uint32_t id)
{
	return id < MDS_MAX_DS && m->ds[id] && ds_state(m->ds[id]) == MDS_DS_UP;
}

static bool ds_source_locked(struct mds *m, uint32_t id)
{
	if (id >= MDS_MAX_DS || !m->ds[id])
		return false;
	return m->ds[id]->up && m->ds[id]->admin != MDS_DS_REMOVED;
}

static void ds_order_locked(struct mds *m, uint32_t target, uint64_t chunk_id,
			    uint64_t version, uint32_t source)
{
	struct mds_ds *d = m->ds[target];

	d->orders = xrealloc(d->orders, (d->norders + 1) * sizeof(*d->orders));
	d->orders[d->norders].chunk_id = chunk_id;
	d->orders[d->norders].version = version;
	d->orders[d->norders].source_id = source;
	d->norders++;
	hmap_put(&m->replicating, chunk_id,
		 (void *)(uintptr_t)(gn_mono_ms() + MDS_REP_TIMEOUT_MS));
}

/* A replica on a draining or removed server (or one the MDS no longer
 * knows) goes once the chunk has enough replicas elsewhere. */
static bool ds_leaving_locked(struct mds *m, uint32_t id)
{
	if (id >= MDS_MAX_DS || !m->ds[id])
		return true;
	return m->ds[id]->admin == MDS_DS_DRAINING || m->ds[id]->admin == MDS_DS_REMOVED;
}

#define MDS_TRIM_PER_SCAN 256

struct trim_args {
	struct mds *m;
	uint8_t (*keys)[16];
	size_t n;
};

static int trim_fn(struct db_txn *t, void *p)
{
	struct trim_args *a = p;
	struct mds *m = a->m;

	for (size_t i = 0; i < a->n; i++) {
		struct db_chunk ck;
		struct db_inode n;
		uint32_t keep[DB_MAX_REPLICAS], drop[DB_MAX_REPLICAS], nk = 0, nd = 0, live = 0;
		const void *v;
		size_t vl;
		int ret;

		if (db_get(t, DB_CHUNK, a->keys[i], 16, &v, &vl) || vl != sizeof(ck))
			continue;
		memcpy(&ck, v, sizeof(ck));
		if (ns_get_inode(t, db_get_be64(a->keys[i]), &n))
			continue;
		pthread_mutex_lock(&m->lock);
		for (uint32_t r = 0; r < ck.nreplicas && r < DB_MAX_REPLICAS; r++) {
			if (ds_leaving_locked(m, ck.replicas[r])) {
				drop[nd++] = ck.replicas[r];
			} else {
				keep[nk++] = ck.replicas[r];
				if (ds_counts_locked(m, ck.replicas[r]))
					live++;
			}
		}
		pthread_mutex_unlock(&m->lock);
		if (nd == 0 || live < n.replicas)
			continue;
		memset(ck.replicas, 0, sizeof(ck.replicas));
		memcpy(ck.replicas, keep, nk * sizeof(*keep));
		ck.nreplicas = nk;
		ret = db_put(t, DB_CHUNK, a->keys[i], 16, &ck, sizeof(ck), 0);
		for (uint32_t r = 0; r < nd && ret == 0; r++)
			ret = ns_queue_delete(t, drop[r], ck.chunk_id, ck.version);
		if (ret)
			return ret;
	}
	return 0;
}

/* ---- chunk health: the background scan and ListDegraded ---- */

/* How one chunk stands against its file's policy.  The one definition of
 * "degraded" and "damaged": the background scan counts and repairs by it,
 * ListDegraded lists by it. */
struct chunk_health {
	uint32_t live;			/* replicas that count (server up) */
	uint32_t source;		/* a replica to copy from; 0 none */
	uint32_t down[DB_MAX_REPLICAS];	/* replicas that do not count */
	uint32_t ndown;
	uint32_t bad;			/* server whose replica was reported
					   bad; 0 none */
	bool leaving;			/* a replica on a draining, removed
					   or unknown server */
	bool degraded;			/* live < the policy */
	bool damaged;			/* degraded, and nothing to copy from */
};

/* Under m->lock. */
static void chunk_judge_locked(struct mds *m, const struct db_chunk *ck,
			       uint32_t want, struct chunk_health *h)
{
	memset(h, 0, sizeof(*h));
	for (uint32_t i = 0; i < ck->nreplicas && i < DB_MAX_REPLICAS; i++) {
		uint32_t id = ck->replicas[i];

		if (ds_counts_locked(m, id))
			h->live++;
		else
			h->down[h->ndown++] = id;
		if (!h->source && ds_source_locked(m, id))
			h->source = id;
		if (ds_leaving_locked(m, id))
			h->leaving = true;
	}
	h->degraded = h->live < want;
	h->damaged = h->degraded && !h->source;
	if (h->degraded)
		h->bad = (uint32_t)((uintptr_t)hmap_get(&m->bad_replica, ck->chunk_id));
	if (h->bad)
		h->bad--;		/* stored as id + 1 */
}

/* A scan walks the chunk maps in key order, so a file's chunks come
 * together: its policy is read once per file. */
struct scan_policy {
	uint64_t ino;
	uint32_t want;
};

/* The chunk of one row and the replicas its file's policy asks for
 * (1 if the inode is gone); false for a malformed row. */
static bool scan_row(struct db_txn *t, struct scan_policy *p, const void *k,
		     size_t kl, const void *v, size_t vl, struct db_chunk *ck)
{
	uint64_t ino;

	if (kl != 16 || vl != sizeof(*ck))
		return false;
	memcpy(ck, v, sizeof(*ck));
	ino = db_get_be64(k);
	if (ino != p->ino) {
		struct db_inode n;

		p->want = ns_get_inode(t, ino, &n) == 0 ? n.replicas : 1;
		p->ino = ino;
	}
	return true;
}

/* Chunks looked at per tick: the scan never holds a read snapshot (which
 * keeps LMDB from reusing pages) for long, however big the store. */
#define MDS_SCAN_PER_TICK 20000

/* Part of a pass over the chunk maps: count degraded and damaged chunks,
 * order copies for a bounded number of them, and drop replicas on draining
 * or removed servers that are no longer needed.  The counts are published
 * at the end of each full pass. */
static void ds_scan(struct mds *m)
{
	struct db_cursor *c = NULL;
	struct db_txn *t;
	const void *k, *v;
	size_t kl, vl;
	uint64_t degraded = 0, damaged = 0;
	struct trim_args trim = { .m = m };
	struct scan_policy pol = { 0 };
	int orders = 0, r, seen = 0;
	bool done = false;

	if (db_read_begin(m->db, &t))
		return;
	if (db_cursor_open(t, DB_CHUNK, &c))
		goto out;
	for (r = db_cursor_seek(c, m->scan_key, sizeof(m->scan_key), &k, &kl, &v, &vl);
	     r == 0 && seen < MDS_SCAN_PER_TICK;
	     r = db_cursor_next(c, &k, &kl, &v, &vl), seen++) {
		struct chunk_health h;
		struct db_chunk ck;
		uint32_t target;

		if (!scan_row(t, &pol, k, kl, v, vl, &ck))
			continue;
		pthread_mutex_lock(&m->lock);
		chunk_judge_locked(m, &ck, pol.want, &h);
		if (h.leaving && !h.degraded && trim.n < MDS_TRIM_PER_SCAN) {
			if (!trim.keys)
				trim.keys = xmalloc(MDS_TRIM_PER_SCAN * sizeof(*trim.keys));
			memcpy(trim.keys[trim.n++], k, 16);
		}
		if (h.degraded) {
			uintptr_t until = (uintptr_t)hmap_get(&m->replicating, ck.chunk_id);
			uint32_t avoid[DB_MAX_REPLICAS + 1], navoid = 0;
			for (uint32_t i = 0; i < ck.nreplicas && i < DB_MAX_REPLICAS; i++)
				avoid[navoid++] = ck.replicas[i];
			if (h.bad)
				avoid[navoid++] = h.bad;
			degraded++;
			if (h.damaged)
				damaged++;
			/* The bad server only when no other one is left. */
			if (h.source && orders < MDS_REP_PER_SCAN &&
			    (int64_t)until < gn_mono_ms() &&
			    (ds_choose_locked(m, 1, avoid, navoid, &target) == 1 ||
			     ds_choose_locked(m, 1, avoid, ck.nreplicas, &target) == 1)) {
				ds_order_locked(m, target, ck.chunk_id, ck.version, h.source);
				orders++;
			}
		}
		pthread_mutex_unlock(&m->lock);
	}
	if (r == 0 && kl == 16) {
		memcpy(m->scan_key, k, 16);	/* next tick starts here */
	} else {
		memset(m->scan_key, 0, sizeof(m->scan_key));
		done = r == -ENOENT;
	}
out:
	db_cursor_close(c);
	db_txn_end(t);
	if (trim.n)
		db_write(m->db, trim_fn, &trim);
	free(trim.keys);
	m->scan_degraded += degraded;
	m->scan_damaged += damaged;
	if (done) {
		pthread_mutex_lock(&m->lock);
		m->degraded = m->scan_degraded;
		m->damaged = m->scan_damaged;
		pthread_mutex_unlock(&m->lock);
		m->scan_degraded = m->scan_damaged = 0;
	}
}

int mds_ns_list_degraded(struct mds *m, uint64_t ino, uint64_t index,
			 uint32_t max, uint32_t scan, struct mds_degraded_page *out)
{
	struct mds_degraded_page pg = { 0 };
	struct scan_policy pol = { 0 };
	struct db_cursor *c = NULL;
	struct db_txn *t;
	const void *k, *v;
	size_t kl, vl, cap = 0;
	uint8_t key[16];
	uint32_t seen = 0;
	int ret, r;

	if (max < 1 || max > MDS_DEGRADED_MAX)
		return -EINVAL;
	if (!scan)
		scan = MDS_DEGRADED_SCAN;
	ns_chunk_key(key, ino, index);
	ret = db_read_begin(m->db, &t);
	if (ret)
		return ret;
	ret = db_cursor_open(t, DB_CHUNK, &c);
	if (ret)
		goto out;
	for (r = db_cursor_seek(c, key, sizeof(key), &k, &kl, &v, &vl);
	     r == 0 && pg.n < max && seen < scan;
	     r = db_cursor_next(c, &k, &kl, &v, &vl), seen++) {
		struct chunk_health h;
		struct mds_degraded *d;
		struct db_chunk ck;

		if (!scan_row(t, &pol, k, kl, v, vl, &ck))
			continue;
		pthread_mutex_lock(&m->lock);
		chunk_judge_locked(m, &ck, pol.want, &h);
		pthread_mutex_unlock(&m->lock);
		if (!h.degraded)
			continue;
		if (pg.n == cap) {
			cap = cap ? cap * 2 : 64;
			pg.v = xrealloc(pg.v, cap * sizeof(*pg.v));
		}
		d = &pg.v[pg.n++];
		memset(d, 0, sizeof(*d));
		d->ino = db_get_be64(k);
		d->index = db_get_be64((const uint8_t *)k + 8);
		d->c = ck;
		d->want = pol.want;
		d->live = h.live;
		memcpy(d->down, h.down, sizeof(d->down));
		d->ndown = h.ndown;
		d->bad = h.bad;
		d->damaged = h.damaged;
	}
	/* Stopped at a row not looked at yet, or at the end. */
	if (r == 0 && kl == 16) {
		pg.next_ino = db_get_be64(k);
		pg.next_index = db_get_be64((const uint8_t *)k + 8);
	} else if (r == 0) {
		ret = -EIO;
	} else if (r == -ENOENT) {
		pg.eof = true;
	} else {
		ret = r;
	}
out:
	db_cursor_close(c);
	db_txn_end(t);
	if (ret == 0) {
		*out = pg;
		pg.v = NULL;
	}
	free(pg.v);
	return ret;
}

void mds_degraded_page_release(struct mds_degraded_page *p)
{
	free(p->v);
	p->v = NULL;
	p->n = 0;
}

struct gc_args {
	uint8_t (*keys)[16];
	size_t n;
};

static int gc_fn(struct db_txn *t, void *p)
{
	struct gc_args *a = p;

	for (size_t i = 0; i < a->n; i++) {
		const void *v;
		size_t vl;
		struct db_pending pd;
		if (db_get(t, DB_PENDING, a->keys[i], 16, &v, &vl) || vl != sizeof(pd))
			continue;
		memcpy(&pd, v, sizeof(pd));
		int ret = ns_pending_drop(t, a->keys[i], &pd);
		if (ret)
			return ret;
	}
	return 0;
}

/* Allocations never committed whose session has ended: nobody can commit
 * them any more, so their versions are garbage.  A live session keeps
 * its allocations however long its writer takes before fsync (a
 * checkpoint shard of tens of GiB); those it superseded itself go at its
 * commit (commit_one).  The age bound only keeps a just-made allocation
 * from racing with the end of its session. */
static void ds_gc_pending(struct mds *m)
{
	struct gc_args a = { 0 };
	struct db_cursor *c = NULL;
	struct db_txn *t;
	const void *k, *v;
	size_t kl, vl, cap = 0;
	int64_t limit = gn_now_ns() - (int64_t)m->opts.session_timeout_ms * 2000000;
	int r;

	if (db_read_begin(m->db, &t))
		return;
	if (db_cursor_open(t, DB_PENDING, &c) == 0) {
		for (r = db_cursor_seek(c, NULL, 0, &k, &kl, &v, &vl);
		     r == 0 && a.n < 4096; r = db_cursor_next(c, &k, &kl, &v, &vl)) {
			struct db_pending pd;
			if (kl != 16 || vl != sizeof(pd))
				continue;
			memcpy(&pd, v, sizeof(pd));
			if (pd.time_ns > limit || mds_session_known(m, pd.session))
				continue;
			if (a.n == cap) {
				cap = cap ? cap * 2 : 64;
				a.keys = xrealloc(a.keys, cap * sizeof(*a.keys));
			}
			memcpy(a.keys[a.n++], k, 16);
		}
		db_cursor_close(c);
	}
	db_txn_end(t);
	if (a.n)
		db_write(m->db, gc_fn, &a);
	free(a.keys);
}

void mds_ds_tick(struct mds *m)
{
	int64_t now = gn_mono_ms();
	bool scan = false;

	pthread_mutex_lock(&m->lock);
	for (uint32_t id = 1; id < MDS_MAX_DS; id++) {
		struct mds_ds *d = m->ds[id];
		if (d && d->up && now - d->last_hb_ms > m->opts.ds_timeout_ms) {
			d->up = false;
			free(d->orders);
			d->orders = NULL;
			d->norders = 0;
			log_warn("data server down id=%u addr=%s", id, d->info.addr);
		}
	}
	if (now - m->last_scan_ms >= 1000) {
		m->last_scan_ms = now;
		scan = true;
	}
	pthread_mutex_unlock(&m->lock);
	if (scan) {
		ds_scan(m);
		ds_gc_pending(m);
	}
}
