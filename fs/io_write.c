/*
 * io_write.c - the write-back buffer, uploads and commits; see io.h.
 *
 * Each dirty chunk has one buffer (struct fs_wbuf) holding the exact
 * byte ranges written (up to GN_WRITE_EXTENTS_MAX of them); writes never
 * wait for the network, however scattered, until a buffer runs out of
 * ranges, which uploads it and starts a new one.  A buffer that covers its
 * whole chunk is queued for upload at once; the rest go out at sync, or
 * when the pool runs dry.
 *
 * An upload allocates a new version (AllocateChunks) and sends only the
 * dirty ranges, all in one WriteChunk, on top of the base version
 * (base_version / base_length); holes between them are the base's bytes
 * or zeros, built by the data server.  When the base is not on the target
 * server (FAILED_PRECONDITION/ENOENT) or the MDS gave a new chunk id, the
 * whole chunk is rebuilt in the buffer (read-modify-write) and sent.  Uploaded versions go
 * into the inode's map at once (so reads see them) and into `pending`,
 * which the next sync commits to the MDS in one CommitWrite.
 *
 * Memory: each buffer spans its chunk but is charged to the session's
 * fs_wbmem (writeback_limit) only for the FS_WBMEM_UNITs it holds bytes
 * in, so scattered writes over many chunks stay in memory until sync.
 * When the limit is reached, writers wait for uploads in flight and push
 * out the fullest dirty buffers, one at a time (make_room).
 *
 * Lock order: inode lock, then the session's upload queue lock (or the
 * fs_wbmem lock).
 */
#include "config.h"
#include "fs/io.h"
#include "fs/mdsc.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/status.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static struct fs_wbuf *wbuf_find(struct fs_inode *in, uint64_t index)
{
	for (struct fs_wbuf *w = in->wb; w; w = w->next)
		if (w->index == index)
			return w;
	return NULL;
}

static void wbuf_unlink(struct fs_inode *in, struct fs_wbuf *w)
{
	for (struct fs_wbuf **pp = &in->wb; *pp; pp = &(*pp)->next) {
		if (*pp == w) {
			*pp = w->next;
			return;
		}
	}
	BUG("write buffer not on its inode");
}

/* Whether w holds its whole chunk (worth keeping its memory warm). */
static bool wbuf_whole(const struct fs_wbuf *w)
{
	return w->nr == 1 && w->lo == 0 && w->hi == GN_CHUNK_SIZE;
}

/* Free w (already off its inode's list) and give back its memory. */
static void wbuf_release(struct fs_session *s, struct fs_wbuf *w)
{
	fs_wbmem_put(s->wbmem, w->buf, w->charged, wbuf_whole(w));
	free(w);
}

/* A new, empty dirty buffer of chunk idx on in; NULL when no memory can
 * be mapped.  Under in->lock. */
static struct fs_wbuf *wbuf_new(struct fs_session *s, struct fs_inode *in,
				uint64_t idx, uint64_t handle)
{
	struct fs_wbuf *w = xcalloc(1, sizeof(*w));

	w->buf = fs_wbmem_get(s->wbmem, &w->charged);
	if (!w->buf) {
		free(w);
		return NULL;
	}
	w->inode = in;
	w->index = idx;
	w->handle = handle;
	w->state = FS_WB_DIRTY;
	w->next = in->wb;
	in->wb = w;
	return w;
}

/* Bytes [a, b) adds to w's charge: its FS_WBMEM_UNITs that no range of w
 * touches yet (ranges are sorted, so their rounded spans are too). */
static size_t wbuf_need(const struct fs_wbuf *w, uint32_t a, uint32_t b)
{
	const uint32_t u = FS_WBMEM_UNIT;
	uint32_t pa = a / u * u, pb = (b + u - 1) / u * u, cur = pa;
	size_t need = 0;

	if (w->charged >= GN_CHUNK_SIZE)
		return 0;
	for (uint32_t i = 0; i < w->nr && cur < pb; i++) {
		uint32_t x = w->r[i].lo / u * u, y = (w->r[i].hi + u - 1) / u * u;

		if (y <= cur)
			continue;
		if (x >= pb)
			break;
		if (x > cur)
			need += x - cur;
		cur = y;
	}
	if (pb > cur)
		need += pb - cur;
	return need;
}

/* Queue w for upload; under in->lock. */
static void wbuf_queue(struct fs_session *s, struct fs_inode *in, struct fs_wbuf *w)
{
	if (w->state != FS_WB_DIRTY)
		return;
	w->state = FS_WB_QUEUED;
	in->nuploading++;
	__atomic_add_fetch(&s->wb_inflight, 1, __ATOMIC_RELAXED);
	pthread_mutex_lock(&s->upq_lock);
	w->qnext = NULL;
	if (s->upq_tail)
		s->upq_tail->qnext = w;
	else
		s->upq_head = w;
	s->upq_tail = w;
	pthread_cond_signal(&s->upq_cond);
	pthread_mutex_unlock(&s->upq_lock);
}

/* Queue every dirty buffer of in (empty ones are dropped); under lock. */
static void queue_all(struct fs_session *s, struct fs_inode *in)
{
	struct fs_wbuf *w = in->wb, *next;

	for (; w; w = next) {
		next = w->next;
		if (w->state != FS_WB_DIRTY)
			continue;
		if (w->nr) {
			wbuf_queue(s, in, w);
		} else {
			wbuf_unlink(in, w);
			wbuf_release(s, w);
		}
	}
}

/* Queue in's dirty buffer holding the most memory; false when it has
 * none.  Under in->lock. */
static bool queue_fullest(struct fs_session *s, struct fs_inode *in)
{
	struct fs_wbuf *best = NULL;

	for (struct fs_wbuf *w = in->wb; w; w = w->next)
		if (w->state == FS_WB_DIRTY && w->nr && (!best || w->charged > best->charged))
			best = w;
	if (best)
		wbuf_queue(s, in, best);
	return best != NULL;
}

static void kick_cb(struct fs_session *s, struct fs_inode *in, void *arg)
{
	(void)arg;
	pthread_mutex_lock(&in->lock);
	queue_fullest(s, in);
	pthread_mutex_unlock(&in->lock);
}

/*
 * Wait (up to 200 ms) for room for need bytes of write-back data: writers
 * wait, they do not fail.  Uploads in flight give memory back as they end;
 * while fewer are in flight than there are upload threads, in's fullest
 * dirty buffer goes out too, so that each upload carries as many writes as
 * possible.  When in has none and nothing is in flight, the memory is held
 * by other files' buffers: each of them sends its fullest.  Called without
 * locks.
 */
static void make_room(struct fs_session *s, struct fs_inode *in, size_t need)
{
	unsigned inflight = __atomic_load_n(&s->wb_inflight, __ATOMIC_RELAXED);

	if (inflight < (unsigned)s->nupload_threads || !inflight) {
		bool queued;

		pthread_mutex_lock(&in->lock);
		queued = queue_fullest(s, in);
		pthread_mutex_unlock(&in->lock);
		if (!queued && !__atomic_load_n(&s->wb_inflight, __ATOMIC_RELAXED))
			fs_itab_foreach(s, kick_cb, NULL);
	}
	fs_wbmem_wait(s->wbmem, need, 200);
}

static void cond_wait(struct fs_inode *in)
{
	pthread_cond_wait(&in->cond, &in->lock);
}

/* Another buffer of w's chunk is being uploaded; under lock. */
static bool chunk_uploading(const struct fs_inode *in, const struct fs_wbuf *w)
{
	for (const struct fs_wbuf *o = in->wb; o; o = o->next)
		if (o != w && o->index == w->index && o->state == FS_WB_UPLOADING)
			return true;
	return false;
}

/* Add [a, b) to w's ranges, merging it with the ranges it overlaps or
 * touches.  false (w unchanged) when that would need one range more than
 * w can hold. */
static bool wbuf_add_range(struct fs_wbuf *w, uint32_t a, uint32_t b)
{
	uint32_t i = 0, j;

	while (i < w->nr && w->r[i].hi < a)
		i++;
	/* r[i..j) overlap or touch [a, b). */
	for (j = i; j < w->nr && w->r[j].lo <= b; j++)
		;
	if (i == j) {
		if (w->nr == GN_WRITE_EXTENTS_MAX)
			return false;
		memmove(&w->r[i + 1], &w->r[i], (w->nr - i) * sizeof(w->r[0]));
		w->r[i] = (struct fs_range){ a, b };
		w->nr++;
	} else {
		w->r[i].lo = GN_MIN(w->r[i].lo, a);
		w->r[i].hi = GN_MAX(w->r[j - 1].hi, b);
		memmove(&w->r[i + 1], &w->r[j], (w->nr - j) * sizeof(w->r[0]));
		w->nr -= j - i - 1;
	}
	w->lo = w->r[0].lo;
	w->hi = w->r[w->nr - 1].hi;
	return true;
}

int fs_io_write(struct fs_session *s, struct fs_file *f, uint64_t off,
		const char *src, size_t size)
{
	struct fs_inode *in = f->inode;
	uint64_t pos, end;
	int ret = 0;

	pthread_mutex_lock(&in->lock);
	if (in->wb_err) {
		ret = in->wb_err;
		goto out;
	}
	/* O_APPEND: our size is the truth (the kernel's may lag). */
	if (f->flags & O_APPEND)
		off = in->size;
	pos = off;
	end = off + size;
	while (pos < end) {
		uint64_t idx = fs_chunk_index(pos);
		uint32_t a = (uint32_t)(pos - fs_chunk_start(idx));
		uint32_t n = (uint32_t)GN_MIN(end - pos, (uint64_t)(GN_CHUNK_SIZE - a));
		struct fs_wbuf *w = wbuf_find(in, idx);
		size_t need;

		if (w && w->state != FS_WB_DIRTY) {
			cond_wait(in);		/* its upload must finish first */
			continue;
		}
		if (!w && !(w = wbuf_new(s, in, idx, f->handle))) {
			ret = -ENOMEM;	/* written so far stays; size below */
			end = pos;
			break;
		}
		need = wbuf_need(w, a, a + n);
		if (need && !fs_wbmem_charge(s->wbmem, need, false)) {
			if (!w->nr) {	/* hold no memory while waiting */
				wbuf_unlink(in, w);
				wbuf_release(s, w);
			}
			pthread_mutex_unlock(&in->lock);
			make_room(s, in, need);
			pthread_mutex_lock(&in->lock);
			continue;
		}
		/* Kept even if the range does not fit below: w's memory then
		 * stays charged a little high until its upload ends. */
		w->charged += need;
		if (!wbuf_add_range(w, a, a + n)) {
			/* Out of ranges: this one uploads, a new one starts. */
			wbuf_queue(s, in, w);
			continue;
		}
		memcpy(w->buf + a, src + (pos - off), n);
		w->handle = f->handle;
		if (wbuf_whole(w))
			wbuf_queue(s, in, w);
		pos += n;
	}
	if (end > in->size) {
		in->size = end;
		in->size_dirty = true;
	}
	in->wb_handle = f->handle;
	if (f->direct)
		in->kernel_sig_valid = false;
out:
	pthread_mutex_unlock(&in->lock);
	return ret;
}

/* ---- upload workers ---- */

static bool retryable(int err)
{
	return err == -EHOSTUNREACH || err == -ENOTCONN || err == -ECONNREFUSED ||
	       err == -ETIMEDOUT || err == -ECONNRESET || err == -EAGAIN;
}

/* Fill the gaps around w's dirty ranges in w->buf with base's bytes
 * (zeros past blen), making w the one range [0, max(hi, blen)): for
 * servers that cannot build on the base.  The base is read whole into a
 * scratch buffer (one read, however many gaps). */
static int fill_around(struct fs_session *s, struct fs_wbuf *w,
		       const struct fs_chunk *base, uint32_t blen)
{
	uint32_t end = GN_MAX(w->hi, blen), pos = 0;
	char *tmp = blen ? xmalloc(blen) : NULL;
	int ret = blen ? fs_io_read_chunk(s, base, 0, blen, tmp) : 0;

	/* The rebuild touches the whole buffer.  Charged past the limit if
	 * need be (an upload cannot wait for memory that only uploads give
	 * back): at most one chunk per upload thread over writeback_limit. */
	if (!ret && w->charged < GN_CHUNK_SIZE) {
		fs_wbmem_charge(s->wbmem, GN_CHUNK_SIZE - w->charged, true);
		w->charged = GN_CHUNK_SIZE;
	}

	for (uint32_t i = 0; !ret && i <= w->nr; i++) {
		uint32_t e = i < w->nr ? w->r[i].lo : end, m = GN_MIN(e, GN_MAX(pos, blen));

		if (m > pos)
			memcpy(w->buf + pos, tmp + pos, m - pos);
		if (e > m)
			memset(w->buf + m, 0, e - m);
		if (i < w->nr)
			pos = w->r[i].hi;
	}
	free(tmp);
	if (ret)
		return ret;
	/* Readers of the dirty bytes walk w's ranges under the lock. */
	pthread_mutex_lock(&w->inode->lock);
	w->r[0] = (struct fs_range){ 0, end };
	w->nr = 1;
	w->lo = 0;
	w->hi = end;
	pthread_mutex_unlock(&w->inode->lock);
	return 0;
}

/* Whether w's ranges leave any byte of [0, len) out. */
static bool wbuf_has_gap(const struct fs_wbuf *w, uint32_t len)
{
	return len && !(w->nr == 1 && w->lo == 0 && w->hi >= len);
}

/* Send w's bytes as version nc on top of base (may be NULL).  Rebuilds the
 * whole chunk in w->buf when the base cannot be used. */
static int upload_one(struct fs_session *s, struct fs_wbuf *w,
		      const struct fs_chunk *base, struct fs_chunk *nc)
{
	const char *chain[FS_MAX_REPLICAS];
	struct gn_rpc_channel *ch = NULL, *c0 = NULL;
	const char *addr;
	uint32_t blen = base ? base->length : 0, len = 0;
	uint64_t digest = 0;
	size_t nchain = 0;
	int ret;

	if (!nc->nrep)
		return -ENOSPC;	/* no server could take it */
	for (int i = 0; i < nc->nrep; i++) {
		ret = fs_session_ds(s, nc->rep[i], &ch, &addr);
		if (ret)
			return -EIO;
		if (i == 0)
			c0 = ch;
		else
			chain[nchain++] = addr;
	}
	if (!base || base->id != nc->id) {
		/* A new chunk id: no base on the servers. */
		if (base && wbuf_has_gap(w, blen)) {
			ret = fill_around(s, w, base, blen);
			if (ret)
				return ret;
		}
		ret = dsc_write(s, c0, nc, 0, 0, w->hi, w->buf, w->r, w->nr,
				chain, nchain, &len, &digest);
	} else {
		ret = dsc_write(s, c0, nc, base->version, blen, GN_MAX(blen, w->hi),
				w->buf, w->r, w->nr, chain, nchain, &len, &digest);
		if (ret == -ENOENT) {
			/* Base not on that server: send the whole chunk. */
			ret = fill_around(s, w, base, blen);
			if (ret)
				return ret;
			ret = dsc_write(s, c0, nc, 0, 0, w->hi, w->buf, w->r, w->nr,
					chain, nchain, &len, &digest);
		}
	}
	if (!ret) {
		nc->length = len;
		nc->digest = digest;
	}
	return ret;
}

/* New versions of chunks idx[0..n) of in, out[i] for idx[i]; pend holds
 * for each the (id, version) of our uncommitted version of it to build
 * on, or zeros. */
static int allocate(struct fs_session *s, struct fs_inode *in, uint64_t handle,
		    const uint64_t *idx, const uint64_t *pend, size_t n,
		    struct fs_chunk *out)
{
	Gannet__AllocateChunksReply *r;
	struct gn_rpc_result res;
	int ret;

	ret = mdsc_allocate(s, &fs_cred_root, in->ino, handle, idx, pend, n, &res);
	if (ret)
		return ret;
	r = (Gannet__AllocateChunksReply *)res.reply;
	for (size_t i = 0; !ret && i < n; i++) {
		ret = -EBADMSG;
		for (size_t j = 0; j < r->n_chunks; j++) {
			if (r->chunks[j]->index == idx[i]) {
				ret = fs_chunk_from_pb(&out[i], r->chunks[j]);
				break;
			}
		}
	}
	if (!ret)
		fs_session_add_servers(s, r->servers, r->n_servers);
	gn_rpc_result_release(&res);
	return ret;
}

/* What an upload of chunk idx builds on, from in's maps (ub->root before
 * the caller's wbuf_has_gap check).  Under in->lock. */
static void up_base_of(struct fs_inode *in, uint64_t idx, struct fs_upbase *ub)
{
	struct fs_chunk *c = fs_chunkmap_find(&in->map, idx);
	struct fs_chunk *p = fs_chunkmap_find(&in->pending, idx);

	memset(ub, 0, sizeof(*ub));
	if (!c)
		return;
	ub->have = true;
	ub->base = *c;
	/* The committed version under our uncommitted ones. */
	ub->root = p && p->version == c->version ? p->base_version : c->version;
	/* Our uncommitted version: ask to build on it. */
	if (p && p->version == c->version && p->id == c->id) {
		ub->pend[0] = c->id;
		ub->pend[1] = c->version;
	}
}

/* Whether a version allocated on base a serves an upload on base b: the
 * MDS chose its chunk id and replicas for that base. */
static bool up_base_same(const struct fs_upbase *a, const struct fs_upbase *b)
{
	return a->have == b->have &&
	       (!a->have || (a->base.id == b->base.id && a->base.version == b->base.version));
}

/* Largest number of chunks one upload allocates for (MDS_MAX_ALLOC is 256). */
#define FS_ALLOC_BATCH	64

/* Queued buffers of in that w's AllocateChunks may serve too: the same
 * handle, other chunks, nothing allocated for them yet.  Up to max go
 * into o[], marked pre_wait, with the base each builds on.  Under
 * in->lock. */
static size_t batch_pick(struct fs_inode *in, struct fs_wbuf *w,
			 struct fs_wbuf **o, size_t max)
{
	size_t n = 0;

	for (struct fs_wbuf *x = in->wb; x && n < max; x = x->next) {
		bool dup = x->index == w->index;

		if (x == w || x->state != FS_WB_QUEUED || x->have_pre || x->pre_wait ||
		    x->handle != w->handle)
			continue;
		for (size_t i = 0; i < n && !dup; i++)
			dup = o[i]->index == x->index;
		if (dup)
			continue;
		x->pre_wait = true;
		up_base_of(in, x->index, &x->pre_base);
		o[n++] = x;
	}
	return n;
}

/* One AllocateChunks for w (on base ub) and the n buffers batch_pick put
 * in o: w's version into nc, theirs kept in them for their own uploads.
 * Whatever the outcome, their pre_wait ends here. */
static int allocate_batch(struct fs_session *s, struct fs_inode *in,
			  struct fs_wbuf *w, const struct fs_upbase *ub,
			  struct fs_wbuf **o, size_t n, struct fs_chunk *nc)
{
	uint64_t idx[FS_ALLOC_BATCH], pend[2 * FS_ALLOC_BATCH];
	struct fs_chunk out[FS_ALLOC_BATCH];
	int ret;

	idx[0] = w->index;
	memcpy(pend, ub->pend, sizeof(ub->pend));
	for (size_t i = 0; i < n; i++) {
		idx[i + 1] = o[i]->index;
		memcpy(&pend[2 * (i + 1)], o[i]->pre_base.pend, sizeof(o[i]->pre_base.pend));
	}
	ret = allocate(s, in, w->handle, idx, pend, n + 1, out);
	if (!ret)
		*nc = out[0];
	if (!n)
		return ret;
	pthread_mutex_lock(&in->lock);
	for (size_t i = 0; i < n; i++) {
		o[i]->pre_wait = false;
		if (!ret) {
			o[i]->pre = out[i + 1];
			o[i]->have_pre = true;
		}
	}
	pthread_cond_broadcast(&in->cond);
	pthread_mutex_unlock(&in->lock);
	return ret;
}

static void upload(struct fs_session *s, struct fs_wbuf *w)
{
	struct fs_inode *in = w->inode;
	int64_t deadline = gn_mono_ms() + s->conf->op_timeout_ms;
	struct fs_wbuf *batch[FS_ALLOC_BATCH - 1];
	struct fs_upbase ub;
	struct fs_chunk nc;
	size_t nb = 0;
	bool have_nc, unreach = false;
	int ret;

	pthread_mutex_lock(&in->lock);
	/* One upload per chunk at a time: a later buffer of the same chunk
	 * must build on the version the earlier one produces, or the two
	 * versions would each miss the other's bytes.  And none while a
	 * commit runs, so that the committed base each upload records stays
	 * true until its own commit.  Nor while another upload allocates a
	 * version for this buffer. */
	while (chunk_uploading(in, w) || in->committing || w->pre_wait)
		cond_wait(in);
	w->state = FS_WB_UPLOADING;
	up_base_of(in, w->index, &ub);
	/* Decided now: upload_one widens [lo, hi) when it rebuilds the whole
	 * chunk from the base. */
	if (!ub.have || !wbuf_has_gap(w, ub.base.length))
		ub.root = 0;
	/* A version allocated ahead serves while its base is still ours. */
	have_nc = w->have_pre && up_base_same(&w->pre_base, &ub);
	if (have_nc)
		nc = w->pre;
	w->have_pre = false;
	/* One deadline per file: once an upload of this file ran out of
	 * time against an unreachable cluster, the rest fail at once. */
	ret = in->wb_unreach;
	/* Otherwise one AllocateChunks serves this file's queued buffers
	 * too: one MDS transaction (and sync) instead of one per chunk. */
	if (!ret && !have_nc)
		nb = batch_pick(in, w, batch, GN_ARRAY_SIZE(batch));
	pthread_mutex_unlock(&in->lock);

	for (bool first = true; !ret; first = false) {
		if (first && !have_nc)
			ret = allocate_batch(s, in, w, &ub, batch, nb, &nc);
		else if (!first)
			ret = allocate(s, in, w->handle, &w->index, ub.pend, 1, &nc);
		if (!ret)
			ret = upload_one(s, w, ub.have ? &ub.base : NULL, &nc);
		if (!ret || !retryable(ret))
			break;
		if (gn_mono_ms() >= deadline) {
			unreach = true;
			break;
		}
		/* A dead chain: a new allocation may place it elsewhere. */
		struct timespec ts = { 0, 300 * 1000000L };
		nanosleep(&ts, NULL);
		ret = 0;
	}

	pthread_mutex_lock(&in->lock);
	if (unreach && !in->wb_unreach)
		in->wb_unreach = ret;
	if (ret) {
		gn_metric_inc(s->m.err_upload);
		log_err("cannot write chunk ino=%llu index=%llu err='%s'",
			(unsigned long long)in->ino, (unsigned long long)w->index,
			gn_strerror(ret));
		/* Out of time against an unreachable cluster: EIO, whatever
		 * the last attempt said. */
		if (!in->wb_err)
			in->wb_err = unreach || gn_errno_posix(ret) == ETIMEDOUT ? -EIO :
				     -gn_errno_posix(ret);
		in->wb_lasterr = in->wb_err;
		in->wb_errseq++;
	} else {
		/* Tell the commit which committed bytes this version kept, so
		 * the MDS refuses it if another client replaced them meanwhile. */
		nc.base_version = ub.root;
		fs_chunkmap_put(&in->map, &nc);
		fs_chunkmap_put(&in->pending, &nc);
	}
	wbuf_unlink(in, w);
	in->nuploading--;
	in->wgen++;
	pthread_cond_broadcast(&in->cond);
	pthread_mutex_unlock(&in->lock);
	wbuf_release(s, w);
	__atomic_sub_fetch(&s->wb_inflight, 1, __ATOMIC_RELAXED);
}

static void *upload_main(void *arg)
{
	struct fs_session *s = arg;

	for (;;) {
		struct fs_wbuf *w;

		pthread_mutex_lock(&s->upq_lock);
		while (!s->upq_head && !s->stopping)
			pthread_cond_wait(&s->upq_cond, &s->upq_lock);
		w = s->upq_head;
		if (!w) {
			pthread_mutex_unlock(&s->upq_lock);
			break;
		}
		s->upq_head = w->qnext;
		if (!s->upq_head)
			s->upq_tail = NULL;
		pthread_mutex_unlock(&s->upq_lock);
		upload(s, w);
	}
	return NULL;
}

int fs_upload_start(struct fs_session *s, int nthreads)
{
	s->upload_threads = xcalloc((size_t)nthreads, sizeof(pthread_t));
	for (int i = 0; i < nthreads; i++) {
		int ret = pthread_create(&s->upload_threads[i], NULL, upload_main, s);
		if (ret)
			return -ret;
		s->nupload_threads++;
	}
	return 0;
}

void fs_upload_stop(struct fs_session *s)
{
	pthread_mutex_lock(&s->upq_lock);
	s->stopping = true;
	pthread_cond_broadcast(&s->upq_cond);
	pthread_mutex_unlock(&s->upq_lock);
	for (int i = 0; i < s->nupload_threads; i++)
		pthread_join(s->upload_threads[i], NULL);
	free(s->upload_threads);
	s->upload_threads = NULL;
	s->nupload_threads = 0;
	s->stopping = false;	/* the heartbeat sets it again under s->lock */
}

/* ---- sync, open, close ---- */

int fs_io_sync_file(struct fs_session *s, struct fs_file *f,
		    const struct fs_cred *c)
{
	struct fs_inode *in = f->inode;
	int ret = fs_io_sync(s, in, f->handle, c);

	pthread_mutex_lock(&in->lock);
	if (f->errseq != in->wb_errseq) {
		if (!ret)
			ret = in->wb_lasterr;
		f->errseq = in->wb_errseq;
	}
	pthread_mutex_unlock(&in->lock);
	return ret;
}

int fs_io_sync(struct fs_session *s, struct fs_inode *in, uint64_t handle,
	       const struct fs_cred *c)
{
	struct fs_chunk *v = NULL;
	struct fs_attr attr;
	uint64_t size;
	bool set_size, refresh = false;
	size_t n;
	int ret = 0, err, unreach;

	pthread_mutex_lock(&in->lock);
	/* Re-queue at every wake-up: a writer on another handle (or a
	 * shared mapping) may have started a buffer meanwhile, and nobody
	 * else would ever send it. */
	for (;;) {
		queue_all(s, in);
		if (!in->wb && !in->committing)
			break;
		cond_wait(in);
	}
	err = in->wb_err;
	in->wb_err = 0;
	unreach = in->wb_unreach;
	in->wb_unreach = 0;
	/* The uploads just gave up on an unreachable cluster: a commit would
	 * only wait out another op_timeout_ms.  What did upload stays in
	 * `pending` for the next sync, which tries the cluster again. */
	if (unreach || (!in->pending.n && !in->size_dirty))
		goto out;
	n = in->pending.n;
	v = xmalloc((n ? n : 1) * sizeof(*v));
	if (n)
		memcpy(v, in->pending.v, n * sizeof(*v));
	size = in->size;
	set_size = in->size_dirty;
	if (!handle)
		handle = in->wb_handle;
	in->committing = true;
	pthread_mutex_unlock(&in->lock);

	ret = mdsc_commit(s, c, in->ino, handle, v, n, set_size, size, &attr);

	pthread_mutex_lock(&in->lock);
	in->committing = false;
	if (!ret) {
		for (size_t i = 0; i < n; i++) {
			struct fs_chunk *p = fs_chunkmap_find(&in->pending, v[i].index);
			if (p && p->version == v[i].version)
				fs_chunkmap_del(&in->pending, v[i].index);
			else if (p && p->base_version && p->base_version == v[i].base_version)
				/* Uploaded after v[i], on top of it (uploads of
				 * a chunk are serial): now rests on v[i]. */
				p->base_version = v[i].version;
		}
		if (in->size == size)
			in->size_dirty = false;
		/* The kernel's pages hold what we wrote through them. */
		if (in->kernel_sig_valid)
			in->kernel_sig = fs_chunkmap_sig(&in->map, in->size);
	} else if (ret == -ESTALE) {
		/* Another client committed over the versions ours were built
		 * on: ours can never be published.  Drop them (the MDS reclaims
		 * the uncommitted versions) and fail this close/fsync. */
		gn_metric_inc(s->m.err_commit);
		log_err("writes lost to a concurrent writer on another client ino=%llu chunks=%zu",
			(unsigned long long)in->ino, n);
		fs_chunkmap_clear(&in->pending);
		refresh = true;	/* our map still names the dropped versions */
		ret = -EIO;
		in->wb_lasterr = ret;
		in->wb_errseq++;
	} else {
		gn_metric_inc(s->m.err_commit);
		log_warn("cannot commit writes ino=%llu err='%s'",
			 (unsigned long long)in->ino, gn_strerror(ret));
	}
	pthread_cond_broadcast(&in->cond);
out:
	pthread_mutex_unlock(&in->lock);
	if (refresh)
		fs_io_refresh_map(s, in);
	free(v);
	return err ? err : ret;
}

int fs_io_open_reply(struct fs_session *s, struct fs_inode *in,
		     const Gannet__OpenReply *r, uint64_t handle, bool writable,
		     bool *keep_cache)
{
	struct fs_chunkmap m;
	uint64_t sig;
	int ret = 0;

	if (!r->attr)
		return -EBADMSG;
	fs_chunkmap_init(&m);
	for (size_t i = 0; i < r->n_chunks; i++) {
		struct fs_chunk c;
		ret = fs_chunk_from_pb(&c, r->chunks[i]);
		if (ret)
			goto out;
		fs_chunkmap_put(&m, &c);
	}
	fs_session_add_servers(s, r->servers, r->n_servers);

	pthread_mutex_lock(&in->lock);
	if (!in->have_map || (!in->wb && !in->pending.n && !in->size_dirty)) {
		fs_chunkmap_release(&in->map);
		in->map = m;
		fs_chunkmap_init(&m);
		in->size = r->attr->size;
		in->size_dirty = false;
	} else {
		/* This client has uncommitted writes: they stay on top. */
		for (size_t i = 0; i < m.n; i++)
			if (!fs_chunkmap_find(&in->pending, m.v[i].index))
				fs_chunkmap_put(&in->map, &m.v[i]);
		if (!in->size_dirty)
			in->size = r->attr->size;
	}
	if (!in->have_map || !in->nopen)
		fs_ra_init(&in->ra, s->conf->prefetch_max);
	in->have_map = true;
	in->nopen++;
	in->wgen++;
	in->mode = r->attr->mode & S_IFMT;
	if (writable)
		in->wb_handle = handle;
	sig = fs_chunkmap_sig(&in->map, in->size);
	*keep_cache = in->kernel_sig_valid && in->kernel_sig == sig;
	in->kernel_sig = sig;
	in->kernel_sig_valid = true;
	pthread_mutex_unlock(&in->lock);
out:
	fs_chunkmap_release(&m);
	return ret;
}

void fs_io_closed(struct fs_inode *in)
{
	pthread_mutex_lock(&in->lock);
	if (in->nopen)
		in->nopen--;
	if (!in->nopen && !in->wb && !in->pending.n && !in->size_dirty) {
		/* The next open of a small file fetches ahead from this. */
		if (in->size <= GN_CHUNK_SIZE && in->map.n && in->map.v[0].index == 0)
			in->hint = in->map.v[0];
		in->have_map = false;
		fs_chunkmap_release(&in->map);
	}
	pthread_mutex_unlock(&in->lock);
}

void fs_io_truncated(struct fs_inode *in, uint64_t size)
{
	pthread_mutex_lock(&in->lock);
	if (in->have_map) {
		fs_chunkmap_truncate(&in->map, size);
		fs_chunkmap_truncate(&in->pending, size);
		in->size = size;
		in->size_dirty = false;
		in->wgen++;
		if (in->kernel_sig_valid)
			in->kernel_sig = fs_chunkmap_sig(&in->map, in->size);
	}
	pthread_mutex_unlock(&in->lock);
}

bool fs_io_local_size(struct fs_inode *in, uint64_t *size)
{
	bool ret = false;

	pthread_mutex_lock(&in->lock);
	if (in->have_map && (in->wb || in->pending.n || in->size_dirty)) {
		*size = in->size;
		ret = true;
	}
	pthread_mutex_unlock(&in->lock);
	return ret;
}

void fs_io_kernel_cache_dropped(struct fs_inode *in)
{
	pthread_mutex_lock(&in->lock);
	in->kernel_sig_valid = false;
	pthread_mutex_unlock(&in->lock);
}

int fs_io_lseek(struct fs_session *s, struct fs_inode *in, uint64_t off,
		int whence, uint64_t *out)
{
	struct fs_chunkmap m;
	int ret;

	(void)s;
	fs_chunkmap_init(&m);
	pthread_mutex_lock(&in->lock);
	for (size_t i = 0; i < in->map.n; i++)
		fs_chunkmap_put(&m, &in->map.v[i]);
	for (struct fs_wbuf *w = in->wb; w; w = w->next) {
		struct fs_chunk c = { .index = w->index, .version = 1 };
		if (w->nr && !fs_chunkmap_find(&m, w->index))
			fs_chunkmap_put(&m, &c);
	}
	if (whence == SEEK_DATA)
		ret = fs_chunkmap_seek_data(&m, in->size, off, out);
	else
		ret = fs_chunkmap_seek_hole(&m, in->size, off, out);
	pthread_mutex_unlock(&in->lock);
	fs_chunkmap_release(&m);
	return ret;
}
