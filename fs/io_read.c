/*
 * io_read.c - the read path; see io.h.
 *
 * A read is cut at chunk boundaries, and each chunk's part into 64 KiB
 * blocks looked up in the RAM cache (fs/cache.h, keyed by chunk id,
 * version and block: a new version can never be served stale data).
 * Hits are copied out at once; each run of consecutive missing blocks
 * becomes one ReadChunk to one replica, and all runs of a read go out
 * together (gn_rpc_call_async).  Every returned block is verified against
 * its checksum before it is cached or returned.  A run that fails
 * (unreachable server, checksum mismatch) is retried synchronously on the
 * next replica; bad replicas are reported to the MDS.  When every replica
 * says the version is gone (another client committed a newer one and the
 * old one was deleted), the chunk map is fetched again.
 *
 * Blocks are looked up in ascending file order and filled only after all
 * lookups of the read: a thread that waits for another's fill never
 * holds a block that thread needs, so concurrent fills cannot deadlock.
 *
 * The disk tier (fs/dcache.h) sits between the RAM cache and the network.
 * A block the RAM cache cannot take at all (every block of its stripe is
 * pinned by fills in flight, which a small cache_size with deep prefetch
 * reaches easily) still goes through it: it is read from the tier into
 * the destination, or fetched and then offered to the tier, just as an
 * evicted block would be.  Otherwise such blocks never reach the tier,
 * uncounted, and a remount without data servers cannot read them.
 */
#include "config.h"
#include "fs/io.h"
#include "fs/mdsc.h"
#include "fs/cache.h"
#include "fs/dcache.h"
#include "common/cksum.h"
#include "common/log.h"
#include "common/status.h"
#include "common/util.h"
#include "proto/ds.pb-c.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int fs_io_check_read(const struct gn_rpc_result *res, uint32_t off,
		     uint32_t want, char *dst)
{
	char *blk[GN_BLOCKS_PER_CHUNK];

	if (want > GN_CHUNK_SIZE)
		return -EBADMSG;
	for (uint32_t k = 0; k * GN_BLOCK_SIZE < want; k++)
		blk[k] = dst + (size_t)k * GN_BLOCK_SIZE;
	return fs_io_check_read_blocks(res, off, want, blk);
}

/* Zero [a, e) of the range whose block k starts at blk[k]. */
static void blocks_zero(char *const *blk, uint32_t a, uint32_t e)
{
	while (a < e) {
		uint32_t k = a / GN_BLOCK_SIZE, in = a % GN_BLOCK_SIZE;
		uint32_t n = GN_MIN(e - a, GN_BLOCK_SIZE - in);

		memset(blk[k] + in, 0, n);
		a += n;
	}
}

int fs_io_check_read_blocks(const struct gn_rpc_result *res, uint32_t off,
			    uint32_t want, char *const *blk)
{
	const Gannet__ReadChunkReply *r = (const Gannet__ReadChunkReply *)res->reply;
	const struct gn_bulk *b = &res->data;
	uint32_t have, nblocks;
	char *tmp = NULL;
	int ret = 0;

	if (!r || r->offset != off || r->chunk_length > GN_CHUNK_SIZE ||
	    b->len > GN_CHUNK_SIZE || off % GN_BLOCK_SIZE || want > GN_CHUNK_SIZE)
		return -EBADMSG;
	/* Bytes of [off, off + want) that exist in the chunk. */
	have = r->chunk_length > off ? GN_MIN(want, r->chunk_length - off) : 0;
	if (b->len < have || (b->len && off + b->len > r->chunk_length))
		return -EBADMSG;
	nblocks = (uint32_t)gn_cksum_count(b->len);
	if (r->n_cksums != nblocks)
		return -EBADMSG;
	for (uint32_t k = 0; k < nblocks; k++) {
		size_t boff = (size_t)k * GN_BLOCK_SIZE;
		size_t blen = GN_MIN((size_t)GN_BLOCK_SIZE, b->len - boff);
		const char *p = NULL;
		size_t pos = 0;

		/* Find the block in one iov if it lies wholly in one. */
		for (int i = 0; i < b->iovcnt; i++) {
			if (boff >= pos && boff + blen <= pos + b->iov[i].iov_len) {
				p = (const char *)b->iov[i].iov_base + (boff - pos);
				break;
			}
			pos += b->iov[i].iov_len;
			if (pos > boff)
				break;
		}
		if (!p) {
			if (!tmp)
				tmp = xmalloc(GN_BLOCK_SIZE);
			gn_bulk_copy(b, boff, tmp, blen);
			p = tmp;
		}
		if (gn_cksum(p, blen) != r->cksums[k]) {
			ret = -GN_ERR_CKSUM;
			goto out;
		}
		if (boff < have)
			memcpy(blk[k], p, GN_MIN(blen, have - boff));
	}
	blocks_zero(blk, have, want);
out:
	free(tmp);
	return ret;
}

/* A run: consecutive blocks of one chunk version fetched by one call. */
#define RUN_MAX_BLOCKS GN_BLOCKS_PER_CHUNK
struct run {
	struct fs_chunk c;	/* copy of the map entry */
	uint32_t off;		/* block-aligned offset in the chunk */
	uint32_t ask;		/* bytes asked, <= c.length - off */
	uint32_t nblk;
	bool fill[RUN_MAX_BLOCKS];	/* refs[i] pinned for filling */
	bool spill[RUN_MAX_BLOCKS];	/* not in RAM: offer to the disk tier */
	bool warm;		/* a warmup: every block to the disk tier, waiting */
	struct fs_cache_ref refs[RUN_MAX_BLOCKS];
	/* Landing area for the blocks not filled in place (!fill[i]):
	 * block i at tmp + i * GN_BLOCK_SIZE; NULL when every block has
	 * its cache slot (see run_block). */
	char *tmp;
	/* Where the application wants bytes: file bytes of this chunk
	 * [want_a, want_e) (chunk offsets) go to out + (x - out_a). */
	uint32_t want_a, want_e;
	char *out;		/* address of chunk offset want_a */
	int rep;		/* replica index tried */
	int err;
	struct gn_rpc_result *res;
	struct batch *batch;
};

struct batch {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int pending;
};

static void read_done(struct gn_rpc_result *res, void *arg)
{
	struct run *r = arg;
	struct batch *b = r->batch;

	pthread_mutex_lock(&b->lock);
	r->res = res;
	b->pending--;
	pthread_cond_signal(&b->cond);
	pthread_mutex_unlock(&b->lock);
}

/* Where block i of the run lands: straight into the cache block it fills
 * (one copy fewer than landing and copying), else into tmp.  A warmup
 * lands in tmp: its blocks go to the disk tier, which may wait for room,
 * and must not keep cache blocks pinned meanwhile. */
static char *run_block(const struct run *r, uint32_t i)
{
	return i < r->nblk && r->fill[i] && !r->warm ?
		(char *)r->refs[i].data : r->tmp + (size_t)i * GN_BLOCK_SIZE;
}

/* Where block i lands when it has no cache block to fill: straight into
 * the application's buffer when all it receives (up to ask) is wanted
 * there, which spares a landing buffer of the read's size (the client's
 * memory bound counts on it), else NULL. */
static char *run_out_block(const struct run *r, uint32_t i)
{
	uint32_t a = r->off + i * GN_BLOCK_SIZE;
	uint32_t e = GN_MIN(a + GN_BLOCK_SIZE, r->off + r->ask);

	if (!r->out || r->warm || (i < r->nblk && r->fill[i]) ||
	    a < r->want_a || e > r->want_e)
		return NULL;
	return r->out + (a - r->want_a);
}

/* Where block i lands: run_block, unless it goes straight to out. */
static char *run_dest(const struct run *r, uint32_t i)
{
	char *p = run_out_block(r, i);

	return p ? p : run_block(r, i);
}

/* Whether some block of the run lands in tmp (see run_dest). */
static bool run_needs_tmp(const struct run *r)
{
	for (uint32_t i = 0; i * GN_BLOCK_SIZE < r->ask; i++)
		if ((i >= r->nblk || !r->fill[i] || r->warm) && !run_out_block(r, i))
			return true;
	return false;
}

/* Verify a reply into the run's blocks. */
static int run_land(struct run *r, struct gn_rpc_result *res)
{
	char *blk[RUN_MAX_BLOCKS];

	for (uint32_t i = 0; i * GN_BLOCK_SIZE < r->ask; i++)
		blk[i] = run_dest(r, i);
	return fs_io_check_read_blocks(res, r->off, r->ask, blk);
}

/* The run's bytes have landed: publish its cache blocks, offer those RAM
 * could not take to the disk tier, copy out. */
static void run_publish(struct fs_session *s, struct run *r)
{
	for (uint32_t i = 0; i < r->nblk; i++) {
		uint32_t boff = i * GN_BLOCK_SIZE;
		uint32_t blen = GN_MIN(GN_BLOCK_SIZE, r->ask - boff);
		const char *o = run_out_block(r, i);
		const char *p = o ? o : run_block(r, i);

		if (r->out && !o) {	/* else it landed there */
			uint32_t a = GN_MAX(r->want_a, r->off + boff);
			uint32_t e = GN_MIN(r->want_e, r->off + boff + blen);
			if (a < e)
				memcpy(r->out + (a - r->want_a),
				       p + (a - r->off - boff), e - a);
		}
		if (r->fill[i]) {
			if (p != (char *)r->refs[i].data)
				memcpy(r->refs[i].data, p, blen);
			/* The digest goes with the block to the disk tier. */
			fs_cache_publish_tag(s->cache, &r->refs[i], blen, r->c.digest);
			fs_cache_put(s->cache, &r->refs[i]);
			r->fill[i] = false;
		}
		/* Blocks for the tier are in tmp (run_block): copied before
		 * return; dropped (and counted) when the tier's queue is full,
		 * as evictions are, except for a warmup, which waits for room
		 * (after the RAM block is published: readers never wait on
		 * it). */
		if ((r->spill[i] || r->warm) && s->dcache) {
			struct fs_cache_key key = { r->c.id, r->c.version,
						    (r->off + boff) / GN_BLOCK_SIZE };

			fs_dcache_spill(s->dcache, &key, r->c.digest, p, blen, r->warm);
		}
	}
}

static void run_abort(struct fs_cache *cache, struct run *r)
{
	for (uint32_t i = 0; i < r->nblk; i++) {
		if (r->fill[i]) {
			fs_cache_abort(cache, &r->refs[i]);
			r->fill[i] = false;
		}
	}
}

static void report(struct fs_session *s, const struct run *r, int err)
{
	uint32_t id = r->c.rep[r->rep];

	if (err == -GN_ERR_CKSUM || err == -EBADMSG) {
		log_warn("bad replica chunk=%016llx v=%llu ds=%u err='%s'",
			 (unsigned long long)r->c.id, (unsigned long long)r->c.version,
			 id, gn_strerror(err));
		mdsc_report_bad(s, r->c.id, r->c.version, id,
				err == -GN_ERR_CKSUM ? "checksum" : "malformed reply");
	} else {
		log_info("replica read failed chunk=%016llx v=%llu ds=%u err='%s'",
			 (unsigned long long)r->c.id, (unsigned long long)r->c.version,
			 id, gn_strerror(err));
		fs_session_ds_failed(s, id, err);
	}
}

/* Try replicas from r->rep on, synchronously.  -ENOENT when every
 * replica said the version is gone, else -EIO. */
static int run_retry(struct fs_session *s, struct run *r)
{
	bool all_gone = true;
	int ret;

	for (; r->rep < r->c.nrep; r->rep++) {
		struct gn_rpc_channel *ch;
		struct gn_rpc_result res;
		const char *addr;

		if (fs_session_ds(s, r->c.rep[r->rep], &ch, &addr)) {
			all_gone = false;
			continue;
		}
		ret = dsc_read(s, ch, r->c.id, r->c.version, r->off, r->ask, &res);
		if (!ret)
			ret = run_land(r, &res);
		gn_rpc_result_release(&res);
		if (!ret)
			return 0;
		if (ret != -ENOENT)
			all_gone = false;
		report(s, r, ret);
	}
	/* What the application sees: the data is unavailable. */
	return all_gone ? -ENOENT : -EIO;
}

/* Fetch the chunk map again (another client replaced a version). */
int fs_io_refresh_map(struct fs_session *s, struct fs_inode *in)
{
	struct gn_rpc_result res;
	Gannet__GetChunksReply *r;
	int ret;

	ret = mdsc_getchunks(s, &fs_cred_root, in->ino, &res);
	if (ret)
		return ret;
	r = (Gannet__GetChunksReply *)res.reply;
	fs_session_add_servers(s, r->servers, r->n_servers);
	pthread_mutex_lock(&in->lock);
	for (size_t i = 0; i < r->n_chunks; i++) {
		struct fs_chunk c;
		if (fs_chunk_from_pb(&c, r->chunks[i]))
			continue;
		/* Our own uncommitted versions win. */
		if (!fs_chunkmap_find(&in->pending, c.index))
			fs_chunkmap_put(&in->map, &c);
	}
	in->wgen++;
	pthread_mutex_unlock(&in->lock);
	gn_rpc_result_release(&res);
	return 0;
}

/* A growable list of runs. */
struct runs {
	struct run **v;
	size_t n, cap;
	bool warm;		/* planned by a warmup */
};

static struct run *run_new(struct runs *rs, const struct fs_chunk *c,
			   uint32_t block, uint32_t a, uint32_t e, char *out)
{
	struct run *r = xcalloc(1, sizeof(*r));

	r->c = *c;
	r->warm = rs->warm;
	r->off = block * GN_BLOCK_SIZE;
	r->want_a = a;
	r->want_e = e;
	r->out = out;
	if (rs->n == rs->cap) {
		rs->cap = rs->cap ? rs->cap * 2 : 8;
		rs->v = xrealloc(rs->v, rs->cap * sizeof(*rs->v));
	}
	rs->v[rs->n++] = r;
	return r;
}

/* Bytes of block k of c that hold data per the map. */
static uint32_t block_len(const struct fs_chunk *c, uint32_t k)
{
	uint32_t boff = k * GN_BLOCK_SIZE;

	return boff >= c->length ? 0 : GN_MIN(GN_BLOCK_SIZE, c->length - boff);
}

/*
 * A RAM miss: try the disk tier before the network.  On success the
 * reserved block ref is published (still pinned) and true returned.
 */
static bool disk_fill(struct fs_session *s, const struct fs_chunk *c,
		      const struct fs_cache_key *key, struct fs_cache_ref *ref,
		      uint32_t blen)
{
	if (!s->dcache || !blen ||
	    fs_dcache_read(s->dcache, key, c->digest, ref->data, blen))
		return false;
	fs_cache_publish_tag(s->cache, ref, blen, c->digest);
	return true;
}

/*
 * The RAM cache cannot take block key (its stripe is all pinned): copy the
 * block's part of the chunk part [a, data_e) from the disk tier straight
 * to out (where byte a goes).  True on a hit; on a miss the bytes of out
 * may be clobbered (the network fill overwrites them).
 */
static bool disk_copy(struct fs_session *s, const struct fs_chunk *c,
		      const struct fs_cache_key *key, uint32_t blen,
		      uint32_t a, uint32_t data_e, char *out)
{
	uint32_t boff = key->block * GN_BLOCK_SIZE;
	uint32_t x = GN_MAX(a, boff), y = GN_MIN(data_e, boff + blen);
	bool whole = x == boff && y == boff + blen, hit;
	char *dst;

	if (!s->dcache || !blen)
		return false;
	dst = whole ? out + (boff - a) : xmalloc(blen);
	hit = !fs_dcache_read(s->dcache, key, c->digest, dst, blen);
	if (!whole) {
		if (hit)
			memcpy(out + (x - a), dst + (x - boff), y - x);
		free(dst);
	}
	return hit;
}

/*
 * Plan the chunk part [a, e) of c (chunk offsets; out is where byte a
 * goes, NULL for a prefetch or a warmup): copy cache hits, zero what lies
 * past the chunk's length, and queue runs for the missing blocks.  A
 * warmup (rs->warm) also wants every block on the disk tier: RAM hits are
 * written there now, and blocks RAM cannot take are fetched for it.
 */
static void plan_chunk(struct fs_session *s, const struct fs_chunk *c,
		       uint32_t a, uint32_t e, char *out, struct runs *rs)
{
	uint32_t data_e = GN_MIN(e, c->length);
	struct run *cur = NULL;

	if (out && data_e < e)
		memset(out + (GN_MAX(a, data_e) - a), 0, e - GN_MAX(a, data_e));
	if (a >= data_e)
		return;
	for (uint32_t k = a / GN_BLOCK_SIZE; k * GN_BLOCK_SIZE < data_e; k++) {
		struct fs_cache_key key = { c->id, c->version, k };
		uint32_t boff = k * GN_BLOCK_SIZE, blen = block_len(c, k);
		struct fs_cache_ref ref;
		int ret = s->cache ? fs_cache_lookup(s->cache, &key, &ref) : -ENOMEM;
		bool no_ram = ret < 0;

		if (no_ram && !out && (!rs->warm || !s->dcache ||
				       fs_dcache_contains(s->dcache, &key))) {
			/* A prefetch has nowhere to put this block. */
			cur = NULL;
			continue;
		}
		if (no_ram && out && disk_copy(s, c, &key, blen, a, data_e, out)) {
			cur = NULL;
			continue;
		}
		if (ret == FS_CACHE_FILL && disk_fill(s, c, &key, &ref, blen))
			ret = FS_CACHE_HIT;
		if (ret == FS_CACHE_HIT && ref.len >= GN_MIN(blen, data_e - boff)) {
			if (out) {
				uint32_t x = GN_MAX(a, boff);
				uint32_t y = GN_MIN(data_e, boff + blen);
				memcpy(out + (x - a), ref.data + (x - boff), y - x);
			}
			if (rs->warm && s->dcache)
				fs_dcache_spill(s->dcache, &key, c->digest, ref.data,
						ref.len, true);
			fs_cache_put(s->cache, &ref);
			cur = NULL;
			continue;
		}
		if (ret == FS_CACHE_HIT) {
			/* Shorter than the map says: not usable. */
			fs_cache_put(s->cache, &ref);
			ret = -ENOMEM;
		}
		if (!cur || cur->nblk == RUN_MAX_BLOCKS)
			cur = run_new(rs, c, k, a, e, out);
		cur->fill[cur->nblk] = ret == FS_CACHE_FILL;
		cur->spill[cur->nblk] = no_ram;
		if (ret == FS_CACHE_FILL)
			cur->refs[cur->nblk] = ref;
		cur->nblk++;
		cur->ask = boff + blen - cur->off;
	}
}

/* Send every run, wait, retry failures; returns the first error.  in is
 * NULL for a fetch ahead of Open (fs_io_open_hint): one try per run, as
 * the hint may be stale and the foreground read retries anyway. */
static int fetch_runs(struct fs_session *s, struct fs_inode *in, struct runs *rs,
		      bool *again)
{
	struct batch b = { .pending = 0 };
	int ret = 0;

	pthread_mutex_init(&b.lock, NULL);
	pthread_cond_init(&b.cond, NULL);
	for (size_t i = 0; i < rs->n; i++) {
		struct run *r = rs->v[i];
		struct gn_rpc_channel *ch;
		const char *addr;

		r->batch = &b;
		r->tmp = run_needs_tmp(r) ? xmalloc(r->ask) : NULL;
		/* Servers that just failed us last, ordered at the moment
		 * of sending; then the first replica whose address we know. */
		if (r->rep == 0)
			fs_session_ds_order(s, &r->c);
		while (r->rep < r->c.nrep && fs_session_ds(s, r->c.rep[r->rep], &ch, &addr))
			r->rep++;
		if (r->rep == r->c.nrep) {
			r->err = -ENOENT;
			continue;
		}
		pthread_mutex_lock(&b.lock);
		b.pending++;
		pthread_mutex_unlock(&b.lock);
		r->err = dsc_read_async(s, ch, r->c.id, r->c.version, r->off, r->ask,
					read_done, r);
		if (r->err) {
			pthread_mutex_lock(&b.lock);
			b.pending--;
			pthread_mutex_unlock(&b.lock);
		}
	}
	pthread_mutex_lock(&b.lock);
	while (b.pending)
		pthread_cond_wait(&b.cond, &b.lock);
	pthread_mutex_unlock(&b.lock);

	for (size_t i = 0; i < rs->n; i++) {
		struct run *r = rs->v[i];

		if (r->res) {
			r->err = r->res->err;
			if (!r->err)
				r->err = run_land(r, r->res);
			gn_rpc_result_release(r->res);
			free(r->res);
			r->res = NULL;
			if (r->err) {
				report(s, r, r->err);
				r->rep++;
			}
		}
		if (r->err && in)
			r->err = run_retry(s, r);
		if (r->err) {
			run_abort(s->cache, r);
			if (r->err == -ENOENT && in) {
				/* Version gone: the map is stale. */
				*again = true;
				r->err = fs_io_refresh_map(s, in);
				if (!r->err)
					r->err = -EAGAIN;
			}
			if (!ret)
				ret = r->err;
			continue;
		}
		run_publish(s, r);
	}
	pthread_cond_destroy(&b.cond);
	pthread_mutex_destroy(&b.lock);
	return ret;
}

static void runs_free(struct fs_cache *cache, struct runs *rs)
{
	for (size_t i = 0; i < rs->n; i++) {
		run_abort(cache, rs->v[i]);
		free(rs->v[i]->tmp);
		free(rs->v[i]);
	}
	free(rs->v);
	rs->v = NULL;
	rs->n = rs->cap = 0;
}

struct span {
	struct fs_chunk c;
	bool hole;
	uint32_t a, e;
	char *out;
};

static int read_once(struct fs_session *s, struct fs_inode *in, uint64_t off,
		     size_t size, char *dst, size_t *got, bool *again)
{
	struct span sp[FS_READ_MAX / GN_CHUNK_SIZE + 2];
	struct runs rs = { 0 };
	uint64_t fsize, end, gen, pos;
	size_t n = 0;
	int ret = 0;

	*again = false;
	pthread_mutex_lock(&in->lock);
	fsize = in->size;
	end = GN_MIN(off + size, fsize);
	if (off >= end) {
		pthread_mutex_unlock(&in->lock);
		*got = 0;
		return 0;
	}
	for (pos = off; pos < end; n++) {
		uint64_t idx = fs_chunk_index(pos);
		uint64_t cend = GN_MIN(end, fs_chunk_start(idx + 1));
		struct fs_chunk *c = fs_chunkmap_find(&in->map, idx);

		sp[n].a = (uint32_t)(pos - fs_chunk_start(idx));
		sp[n].e = (uint32_t)(cend - fs_chunk_start(idx));
		sp[n].out = dst + (pos - off);
		sp[n].hole = !c || !c->nrep || sp[n].a >= c->length;
		if (c)
			sp[n].c = *c;
		pos = cend;
	}
	gen = in->wgen;
	pthread_mutex_unlock(&in->lock);

	for (size_t i = 0; i < n; i++) {
		if (sp[i].hole)
			memset(sp[i].out, 0, sp[i].e - sp[i].a);
		else
			plan_chunk(s, &sp[i].c, sp[i].a, sp[i].e, sp[i].out, &rs);
	}
	ret = fetch_runs(s, in, &rs, again);
	runs_free(s->cache, &rs);
	if (ret)
		return ret;

	/* Overlay this client's buffered bytes. */
	pthread_mutex_lock(&in->lock);
	if (in->wgen != gen) {
		/* Buffered bytes moved to new versions meanwhile. */
		*again = true;
		ret = -EAGAIN;
	} else {
		for (struct fs_wbuf *w = in->wb; w; w = w->next) {
			uint64_t cs = fs_chunk_start(w->index);

			if (cs + w->hi <= off || cs + w->lo >= end)
				continue;
			for (uint32_t i = 0; i < w->nr; i++) {
				uint64_t a = GN_MAX(cs + w->r[i].lo, off);
				uint64_t e = GN_MIN(cs + w->r[i].hi, end);

				if (a < e)
					memcpy(dst + (a - off), w->buf + (a - cs), e - a);
			}
		}
	}
	pthread_mutex_unlock(&in->lock);
	if (!ret)
		*got = end - off;
	return ret;
}

/* ---- prefetch ---- */

/* Largest piece of read-ahead one job fetches: keeps pins bounded, and
 * the received reply a prefetch thread holds too. */
#define PF_JOB_MAX ((uint64_t)2 << 20)
/* Bytes of jobs running at once, whatever prefetch_threads: what bounds
 * the memory of read-ahead (received replies) in the client's 64 MiB
 * allowance.  More threads than two help with small jobs (fetches ahead
 * of Open of small files), not with more bytes in flight. */
#define PF_INFLIGHT_MAX (2 * PF_JOB_MAX)
/* Jobs queued at most; more read-ahead is dropped, not queued.  Fetches
 * ahead of Open (at most FS_HINT_MAX each) may take the queue to twice
 * that: read-ahead filling the queue must not starve them. */
#define PF_QUEUE_MAX 32

struct fs_pf_job {
	struct fs_pf_job *next;
	struct fs_inode *in;	/* reference held */
	uint64_t off, len;
	struct fs_chunk hint;	/* version != 0: fetch len bytes of it */
};

/* Part [a, e) of chunk c. */
struct cspan {
	struct fs_chunk c;
	uint32_t a, e;
};

/* Fetch the blocks of sp[0..n) the RAM cache lacks into it (no
 * destination: a block it has no room for is skipped).  As fetch_runs. */
static int fetch_cspans(struct fs_session *s, struct fs_inode *in,
			const struct cspan *sp, size_t n, bool *again)
{
	struct runs rs = { 0 };
	int ret;

	for (size_t i = 0; i < n; i++)
		plan_chunk(s, &sp[i].c, sp[i].a, sp[i].e, NULL, &rs);
	ret = fetch_runs(s, in, &rs, again);
	runs_free(s->cache, &rs);
	return ret;
}

/* Fetch [off, off+len) of in into the cache. */
static void prefetch_range(struct fs_session *s, struct fs_inode *in,
			   uint64_t off, uint64_t len)
{
	struct cspan sp[PF_JOB_MAX / GN_CHUNK_SIZE + 2];
	uint64_t end, pos;
	size_t n = 0;
	bool again;

	pthread_mutex_lock(&in->lock);
	end = GN_MIN(off + len, in->size);
	for (pos = off; pos < end && n < GN_ARRAY_SIZE(sp);) {
		uint64_t idx = fs_chunk_index(pos);
		uint64_t cend = GN_MIN(end, fs_chunk_start(idx + 1));
		struct fs_chunk *c = fs_chunkmap_find(&in->map, idx);

		if (c && c->nrep) {
			sp[n].c = *c;
			sp[n].a = (uint32_t)(pos - fs_chunk_start(idx));
			sp[n].e = (uint32_t)(cend - fs_chunk_start(idx));
			n++;
		}
		pos = cend;
	}
	pthread_mutex_unlock(&in->lock);
	/* Errors are the foreground read's business. */
	fetch_cspans(s, in, sp, n, &again);
}

/* Fetch [0, len) of chunk c into the cache, ahead of an Open. */
static void prefetch_hint(struct fs_session *s, const struct fs_chunk *c,
			  uint32_t len)
{
	struct cspan sp = { *c, 0, len };
	bool again;

	fetch_cspans(s, NULL, &sp, 1, &again);
}

static void *prefetch_main(void *arg)
{
	struct fs_session *s = arg;

	for (;;) {
		struct fs_pf_job *j;

		pthread_mutex_lock(&s->pfq_lock);
		/* The next job, once its bytes fit in the in-flight budget. */
		while (!s->pf_stopping &&
		       (!s->pfq_head || (s->pf_running &&
					 s->pf_running + s->pfq_head->len > PF_INFLIGHT_MAX)))
			pthread_cond_wait(&s->pfq_cond, &s->pfq_lock);
		j = s->pfq_head;
		if (s->pf_stopping || !j) {
			pthread_mutex_unlock(&s->pfq_lock);
			break;
		}
		s->pfq_head = j->next;
		if (!s->pfq_head)
			s->pfq_tail = NULL;
		s->pfq_len--;
		s->pf_running += j->len;
		pthread_mutex_unlock(&s->pfq_lock);
		if (j->hint.version)
			prefetch_hint(s, &j->hint, (uint32_t)j->len);
		else
			prefetch_range(s, j->in, j->off, j->len);
		pthread_mutex_lock(&s->pfq_lock);
		s->pf_bytes -= j->len;
		s->pf_running -= j->len;
		/* Another thread may wait for these bytes. */
		if (s->pfq_head)
			pthread_cond_broadcast(&s->pfq_cond);
		pthread_mutex_unlock(&s->pfq_lock);
		fs_inode_put(s, j->in);
		free(j);
	}
	return NULL;
}

/* Queue a job for [off, off+len) of in (of hint when not NULL: first in
 * line, as an open is waiting for it); false when the queue is full or
 * stopping. */
static bool prefetch_job(struct fs_session *s, struct fs_inode *in,
			 uint64_t off, uint64_t len, const struct fs_chunk *hint)
{
	struct fs_pf_job *j;

	/* The job's reference, taken while ours holds the inode. */
	fs_inode_ref(s, in);
	pthread_mutex_lock(&s->pfq_lock);
	if (s->pf_stopping || !s->npf_threads ||
	    s->pfq_len >= (hint ? 2 : 1) * PF_QUEUE_MAX) {
		pthread_mutex_unlock(&s->pfq_lock);
		fs_inode_put(s, in);
		return false;
	}
	j = xcalloc(1, sizeof(*j));
	j->in = in;
	j->off = off;
	j->len = len;
	if (hint) {
		j->hint = *hint;
		j->next = s->pfq_head;
		s->pfq_head = j;
		if (!s->pfq_tail)
			s->pfq_tail = j;
	} else {
		if (s->pfq_tail)
			s->pfq_tail->next = j;
		else
			s->pfq_head = j;
		s->pfq_tail = j;
	}
	s->pfq_len++;
	s->pf_bytes += j->len;
	pthread_cond_signal(&s->pfq_cond);
	pthread_mutex_unlock(&s->pfq_lock);
	return true;
}

static void prefetch_queue(struct fs_session *s, struct fs_inode *in,
			   uint64_t off, uint64_t len)
{
	for (uint64_t o = off; o < off + len; o += PF_JOB_MAX)
		if (!prefetch_job(s, in, o, GN_MIN(PF_JOB_MAX, off + len - o), NULL))
			return;
}

void fs_io_hint_set(struct fs_inode *in, const struct fs_chunk *c)
{
	pthread_mutex_lock(&in->lock);
	in->hint = *c;
	pthread_mutex_unlock(&in->lock);
}

void fs_io_open_hint(struct fs_session *s, struct fs_inode *in)
{
	struct fs_chunk c;

	struct fs_cache_key key;

	pthread_mutex_lock(&in->lock);
	c = in->hint;
	if (in->have_map)
		c.version = 0;	/* another handle's map is fresher */
	pthread_mutex_unlock(&in->lock);
	if (!c.version || c.index || !c.length || !c.nrep || !s->cache)
		return;
	key = (struct fs_cache_key){ c.id, c.version, 0 };
	if (!fs_cache_contains(s->cache, &key))
		prefetch_job(s, in, 0, GN_MIN(c.length, FS_HINT_MAX), &c);
}

int fs_prefetch_start(struct fs_session *s)
{
	int n = (int)s->conf->prefetch_threads;	/* <= GN_PREFETCH_THREADS_MAX */

	if (!s->cache || !s->conf->prefetch_max)
		return 0;	/* nowhere to put read-ahead */
	for (int i = 0; i < n; i++) {
		int ret = pthread_create(&s->pf_threads[i], NULL, prefetch_main, s);
		if (ret)
			return -ret;
		s->npf_threads++;
	}
	return 0;
}

void fs_prefetch_stop(struct fs_session *s)
{
	struct fs_pf_job *j;

	pthread_mutex_lock(&s->pfq_lock);
	s->pf_stopping = true;
	pthread_cond_broadcast(&s->pfq_cond);
	pthread_mutex_unlock(&s->pfq_lock);
	for (int i = 0; i < s->npf_threads; i++)
		pthread_join(s->pf_threads[i], NULL);
	s->npf_threads = 0;
	while ((j = s->pfq_head)) {
		s->pfq_head = j->next;
		fs_inode_put(s, j->in);
		free(j);
	}
	s->pfq_tail = NULL;
	s->pfq_len = 0;
}

void fs_io_read_begin(struct fs_session *s, size_t size)
{
	pthread_mutex_lock(&s->rd_lock);
	while (s->rd_bytes && s->rd_bytes + size > FS_READ_INFLIGHT_MAX)
		pthread_cond_wait(&s->rd_cond, &s->rd_lock);
	s->rd_bytes += size;
	pthread_mutex_unlock(&s->rd_lock);
}

void fs_io_read_end(struct fs_session *s, size_t size)
{
	pthread_mutex_lock(&s->rd_lock);
	s->rd_bytes -= size;
	pthread_cond_broadcast(&s->rd_cond);
	pthread_mutex_unlock(&s->rd_lock);
}

/* Tell the stream detector about a read; queue what it says to fetch. */
static void read_ahead(struct fs_session *s, struct fs_inode *in, uint64_t off,
		       size_t size)
{
	uint64_t pf_off = 0, pf_len = 0;
	bool pf;

	pthread_mutex_lock(&in->lock);
	pf = s->cache && fs_ra_read(&in->ra, off, size, &pf_off, &pf_len);
	pthread_mutex_unlock(&in->lock);
	if (pf)
		prefetch_queue(s, in, pf_off, pf_len);
}

/* ---- replies straight from the cache ---- */

/* Under in->lock: the chunk parts of [off, end), or false when one is
 * not plain cached data (a hole, zeros past a chunk's end, or bytes this
 * client has buffered). */
static bool pin_plan(struct fs_inode *in, uint64_t off, uint64_t end,
		     struct cspan *sp, size_t *n)
{
	for (struct fs_wbuf *w = in->wb; w; w = w->next) {
		uint64_t cs = fs_chunk_start(w->index);

		if (cs + w->lo < end && cs + w->hi > off)
			return false;
	}
	*n = 0;
	for (uint64_t pos = off; pos < end; (*n)++) {
		uint64_t idx = fs_chunk_index(pos);
		uint64_t cend = GN_MIN(end, fs_chunk_start(idx + 1));
		struct fs_chunk *c = fs_chunkmap_find(&in->map, idx);
		uint32_t a = (uint32_t)(pos - fs_chunk_start(idx));
		uint32_t e = (uint32_t)(cend - fs_chunk_start(idx));

		if (!c || !c->nrep || e > c->length)
			return false;
		sp[*n] = (struct cspan){ *c, a, e };
		pos = cend;
	}
	return true;
}

/* The spans of [off, off+size) of in for pinning, clipped to its size
 * (*end); false when the read cannot be served from pinned blocks. */
static bool pin_spans(struct fs_session *s, struct fs_inode *in, uint64_t off,
		      size_t size, struct cspan *sp, size_t *n, uint64_t *end)
{
	bool ok;

	if (!s->cache || size > FS_PIN_MAX)
		return false;
	pthread_mutex_lock(&in->lock);
	*end = GN_MIN(off + size, in->size);
	*n = 0;
	ok = off >= *end || pin_plan(in, off, *end, sp, n);
	pthread_mutex_unlock(&in->lock);
	return ok;
}

/* Pin the blocks of sp[0..n) into p; false (nothing pinned) when one is
 * not in the cache. */
static bool pin_blocks(struct fs_session *s, const struct cspan *sp, size_t n,
		       struct fs_io_pinned *p)
{
	for (size_t i = 0; i < n; i++) {
		for (uint32_t k = sp[i].a / GN_BLOCK_SIZE; k * GN_BLOCK_SIZE < sp[i].e; k++) {
			struct fs_cache_key key = { sp[i].c.id, sp[i].c.version, k };
			struct fs_cache_ref *r = &p->ref[p->niov];
			uint32_t boff = k * GN_BLOCK_SIZE;
			uint32_t x = GN_MAX(sp[i].a, boff);
			uint32_t y = GN_MIN(sp[i].e, boff + GN_BLOCK_SIZE);

			if (fs_cache_peek(s->cache, &key, r) != FS_CACHE_HIT)
				goto evicted;
			if (r->len < y - boff) {
				fs_cache_put(s->cache, r);
				goto evicted;
			}
			p->iov[p->niov].iov_base = r->data + (x - boff);
			p->iov[p->niov].iov_len = y - x;
			p->niov++;
			p->len += y - x;
		}
	}
	return true;
evicted:
	fs_io_pinned_release(s, p);
	return false;
}

int fs_io_read_pinned(struct fs_session *s, struct fs_inode *in, uint64_t off,
		      size_t size, struct fs_io_pinned *p)
{
	struct cspan sp[FS_PIN_MAX / GN_CHUNK_SIZE + 2];
	uint64_t end;
	size_t n;

	p->niov = 0;
	p->len = 0;
	p->buf = NULL;
	if (!pin_spans(s, in, off, size, sp, &n, &end))
		return -EAGAIN;
	if (off >= end)
		return 0;
	/* Presence first, without side effects, so that a read the cache
	 * only partly holds is counted once, by the filling path. */
	for (size_t i = 0; i < n; i++)
		for (uint32_t k = sp[i].a / GN_BLOCK_SIZE; k * GN_BLOCK_SIZE < sp[i].e; k++)
			if (!fs_cache_contains(s->cache,
					       &(struct fs_cache_key){ sp[i].c.id, sp[i].c.version, k }))
				return -EAGAIN;
	/* A block gone since the check is rare, and the caller copes. */
	if (!pin_blocks(s, sp, n, p))
		return -EAGAIN;
	read_ahead(s, in, off, size);
	return 0;
}

/* Read [off, off+size) of in into dst by copying (fs_io_read without the
 * read-ahead). */
static int read_copy(struct fs_session *s, struct fs_inode *in, uint64_t off,
		     size_t size, char *dst, size_t *got)
{
	bool again;
	int ret;

	for (int i = 0; i < 4; i++) {
		ret = read_once(s, in, off, size, dst, got, &again);
		if (!again)
			break;
	}
	return ret == -EAGAIN ? -EIO : ret;
}

int fs_io_read_fill(struct fs_session *s, struct fs_inode *in, uint64_t off,
		    size_t size, struct fs_io_pinned *p)
{
	struct cspan sp[FS_PIN_MAX / GN_CHUNK_SIZE + 2];
	bool again = false;
	uint64_t end;
	size_t n, got;
	int ret = 0;

	p->niov = 0;
	p->len = 0;
	p->buf = NULL;
	if (size > FS_READ_MAX)
		size = FS_READ_MAX;
	read_ahead(s, in, off, size);
	if (!pin_spans(s, in, off, size, sp, &n, &end))
		goto copy;
	if (off >= end)
		return 0;
	for (int i = 0; i < 4; i++) {
		ret = fetch_cspans(s, in, sp, n, &again);
		if (!again)
			break;
		/* The map changed: plan the spans again. */
		if (!pin_spans(s, in, off, size, sp, &n, &end))
			goto copy;
	}
	if (ret)
		return ret == -EAGAIN ? -EIO : ret;
	/* A block the cache had no room for was not fetched. */
	if (pin_blocks(s, sp, n, p))
		return 0;
copy:
	p->buf = xmalloc(size ? size : 1);
	ret = read_copy(s, in, off, size, p->buf, &got);
	if (ret) {
		free(p->buf);
		p->buf = NULL;
		return ret;
	}
	p->iov[0] = (struct iovec){ p->buf, got };
	p->niov = got ? 1 : 0;
	p->len = got;
	return 0;
}

void fs_io_pinned_release(struct fs_session *s, struct fs_io_pinned *p)
{
	if (p->buf) {
		free(p->buf);
		p->buf = NULL;
	} else {
		for (int i = 0; i < p->niov; i++)
			fs_cache_put(s->cache, &p->ref[i]);
	}
	p->niov = 0;
	p->len = 0;
}

int fs_io_read(struct fs_session *s, struct fs_inode *in, uint64_t off,
	       size_t size, char *dst, size_t *got)
{
	if (size > FS_READ_MAX)
		size = FS_READ_MAX;
	read_ahead(s, in, off, size);
	return read_copy(s, in, off, size, dst, got);
}

/* ---- warmup ---- */

/* Bytes of the chunk part [a, e) held by the RAM cache or the disk tier. */
static uint64_t cached_bytes(struct fs_session *s, const struct fs_chunk *c,
			     uint32_t a, uint32_t e)
{
	uint32_t data_e = GN_MIN(e, c->length);
	uint64_t n = 0;

	for (uint32_t k = a / GN_BLOCK_SIZE; k * GN_BLOCK_SIZE < data_e; k++) {
		struct fs_cache_key key = { c->id, c->version, k };
		uint32_t boff = k * GN_BLOCK_SIZE;

		if ((s->cache && fs_cache_contains(s->cache, &key)) ||
		    (s->dcache && fs_dcache_contains(s->dcache, &key)))
			n += GN_MIN(data_e, boff + GN_BLOCK_SIZE) - GN_MAX(a, boff);
	}
	return n;
}

/* Fetch the chunk part [a, e) of c into the caches; -EAGAIN when the map
 * was stale (refreshed: plan again). */
static int warm_chunk(struct fs_session *s, struct fs_inode *in,
		      const struct fs_chunk *c, uint32_t a, uint32_t e)
{
	struct runs rs = { .warm = true };
	bool again;
	int ret;

	/* Its own budget: a warmup waits on the disk tier's writer, and
	 * foreground reads must not wait behind it. */
	pthread_mutex_lock(&s->rd_lock);
	while (s->warm_bytes && s->warm_bytes + (e - a) > FS_WARM_INFLIGHT_MAX)
		pthread_cond_wait(&s->rd_cond, &s->rd_lock);
	s->warm_bytes += e - a;
	pthread_mutex_unlock(&s->rd_lock);
	plan_chunk(s, c, a, e, NULL, &rs);
	ret = fetch_runs(s, in, &rs, &again);
	runs_free(s->cache, &rs);
	pthread_mutex_lock(&s->rd_lock);
	s->warm_bytes -= e - a;
	pthread_cond_broadcast(&s->rd_cond);
	pthread_mutex_unlock(&s->rd_lock);
	return ret;
}

/* One pass over the range: fetch (when asked) and count. */
static int warm_pass(struct fs_session *s, struct fs_inode *in, uint64_t off,
		     uint64_t len, bool fetch, bool (*stop)(void *), void *arg,
		     uint64_t *cached, uint64_t *total)
{
	uint64_t pos = off, end = off + GN_MIN(len, UINT64_MAX - off);
	int tries = 0;

	*cached = *total = 0;
	for (;;) {
		struct fs_chunk c;
		uint64_t idx, cend;
		uint32_t a, e;
		bool data;
		int ret;

		pthread_mutex_lock(&in->lock);
		end = GN_MIN(end, in->size);
		idx = fs_chunk_index(pos);
		cend = GN_MIN(end, fs_chunk_start(idx + 1));
		data = pos < end && fs_chunkmap_find(&in->map, idx);
		if (data)
			c = *fs_chunkmap_find(&in->map, idx);
		pthread_mutex_unlock(&in->lock);
		if (pos >= end)
			return 0;
		a = (uint32_t)(pos - fs_chunk_start(idx));
		e = (uint32_t)(cend - fs_chunk_start(idx));
		if (data && c.nrep && a < c.length) {
			if (fetch) {
				if (stop && stop(arg))
					return -EINTR;
				ret = warm_chunk(s, in, &c, a, e);
				if (ret == -EAGAIN && ++tries < 4)
					continue;	/* same chunk, new map */
				if (ret)
					return ret == -EAGAIN ? -EIO : ret;
			}
			*total += GN_MIN(e, c.length) - a;
			*cached += cached_bytes(s, &c, a, e);
		}
		tries = 0;
		pos = cend;
	}
}

int fs_io_warm(struct fs_session *s, struct fs_inode *in, uint64_t off,
	       uint64_t len, bool fetch, bool (*stop)(void *), void *arg,
	       uint64_t *cached, uint64_t *total)
{
	int ret = warm_pass(s, in, off, len, fetch, stop, arg, cached, total);

	if (ret || !fetch)
		return ret;
	/* What the caches hold now: the first chunks may have been evicted
	 * by the last ones, and spills still queued are not indexed yet. */
	if (s->dcache)
		fs_dcache_drain(s->dcache);
	return warm_pass(s, in, off, len, false, NULL, NULL, cached, total);
}

int fs_io_read_chunk(struct fs_session *s, const struct fs_chunk *c,
		     uint32_t off, uint32_t len, char *dst)
{
	struct run r;
	uint32_t data_e;
	int ret;

	if (!len)
		return 0;
	if (off >= c->length || !c->nrep) {
		memset(dst, 0, len);
		return 0;
	}
	/* Uncached: the buffer is about to become a new version. */
	data_e = GN_MIN(off + len, c->length);
	memset(&r, 0, sizeof(r));
	r.c = *c;
	fs_session_ds_order(s, &r.c);
	r.off = off / GN_BLOCK_SIZE * GN_BLOCK_SIZE;
	r.ask = data_e - r.off;
	r.tmp = xmalloc(r.ask);
	ret = run_retry(s, &r);
	if (!ret) {
		memcpy(dst, r.tmp + (off - r.off), data_e - off);
		if (data_e < off + len)
			memset(dst + (data_e - off), 0, off + len - data_e);
	}
	free(r.tmp);
	return ret == -ENOENT ? -EIO : ret;
}
