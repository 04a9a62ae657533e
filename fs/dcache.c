/*
 * dcache.c - the disk cache tier: segment files, index, writer thread.
 * See dcache.h for the format and the guarantees; this file is mechanics.
 */
#include "config.h"
#include "fs/dcache.h"
#include "common/buf.h"
#include "common/cksum.h"
#include "common/log.h"
#include "common/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#define UNIT 512u			/* record alignment, location unit */
#define SEG_MAX ((uint32_t)64 << 20)
#define SEG_MIN ((uint32_t)1 << 20)
#define RESERVE ((uint64_t)64 << 10)	/* directory and lock file */
#define WAYS 8
#define SEG_MAGIC 0x3147455343444e47ULL	/* "GNDCSEG1" */
#define REC_MAGIC 0x52434447u		/* "GDCR" */
#define FORMAT 1

struct seg_hdr {
	uint64_t magic;
	uint32_t format, pad;
	uint64_t seg_size;
	uint64_t gen;
	uint64_t hcksum;		/* of the bytes above */
};

struct rec_hdr {
	uint32_t magic;
	uint32_t len;
	uint64_t gen;
	uint64_t chunk_id;
	uint64_t version;
	uint32_t block, pad;
	uint64_t tag;
	uint64_t cksum;			/* of the data */
	uint64_t hcksum;		/* of the bytes above */
};
_Static_assert(sizeof(struct rec_hdr) == 64, "record header is 64 bytes");

struct seg {
	int fd;
	bool alloc;			/* file is seg_size bytes */
	bool live;			/* records readable; under d->lock */
	uint64_t gen;
	uint32_t woff;			/* end of its records */
};

struct ent {
	uint32_t tag;			/* 0 = empty */
	uint32_t loc;			/* in UNITs from segment 0 */
};

struct qitem {
	struct fs_cache_key key;
	uint64_t tag;
	uint32_t len;
};

struct fs_dcache {
	char *dir;
	int lockfd;
	uint32_t seg_size, nseg;	/* nseg shrinks when the disk fills */
	uint32_t nseg_max;		/* length of segs */
	struct seg *segs;

	pthread_mutex_t lock;		/* index, seg->live/gen, stats */
	struct ent *ents;
	uint64_t nbuckets;
	struct fs_dcache_stats st;

	pthread_mutex_t qlock;		/* the queue */
	pthread_cond_t qwork, qspace;
	unsigned char *qbuf;
	struct qitem qi[FS_DCACHE_QUEUE];
	int freel[FS_DCACHE_QUEUE], nfree;
	int ring[FS_DCACHE_QUEUE], rhead, rcount;
	bool busy, stopping, wfail;
	uint64_t dropped;
	pthread_t writer;
	bool writer_running;

	/* Writer thread only. */
	uint32_t head;
	bool head_ok;
	uint64_t next_gen;
	bool warned_full;
};

static uint32_t round_unit(uint32_t n)
{
	return (n + UNIT - 1) / UNIT * UNIT;
}

static uint64_t key_hash(const struct fs_cache_key *k)
{
	uint64_t v[3] = { k->chunk_id, k->version, k->block };

	return gn_cksum(v, sizeof(v));
}

/* Two candidate buckets per key; inserts go to the emptier one (two
 * choices keep overflow of an 8-way bucket rare at 2/3 load). */
static void buckets_of(struct fs_dcache *d, uint64_t h, uint32_t *tag,
		       struct ent **b)
{
	uint64_t h2 = h * 0x9e3779b97f4a7c15ULL;

	*tag = (uint32_t)h ? (uint32_t)h : 1;
	b[0] = &d->ents[((h >> 32) * d->nbuckets >> 32) * WAYS];
	b[1] = &d->ents[((h2 >> 32) * d->nbuckets >> 32) * WAYS];
}

static uint32_t ups(const struct fs_dcache *d)
{
	return d->seg_size / UNIT;
}

/* Under d->lock. */
static struct ent *index_find(struct fs_dcache *d, uint64_t h)
{
	struct ent *b[2];
	uint32_t tag;

	buckets_of(d, h, &tag, b);
	for (int j = 0; j < 2; j++)
		for (int i = 0; i < WAYS; i++)
			if (b[j][i].tag == tag)
				return &b[j][i];
	return NULL;
}

static int bucket_load(const struct ent *b)
{
	int n = 0;

	for (int i = 0; i < WAYS; i++)
		n += b[i].tag != 0;
	return n;
}

/* Under d->lock.  When both buckets are full the entry in the oldest
 * segment gives way. */
static void index_put(struct fs_dcache *d, uint64_t h, uint32_t loc)
{
	struct ent *b[2], *victim = index_find(d, h);
	uint32_t tag;

	buckets_of(d, h, &tag, b);
	if (!victim) {
		struct ent *e = bucket_load(b[1]) < bucket_load(b[0]) ? b[1] : b[0];
		for (int i = 0; i < WAYS && !victim; i++)
			if (!e[i].tag)
				victim = &e[i];
	}
	if (!victim) {
		victim = &b[0][0];
		for (int j = 0; j < 2; j++)
			for (int i = 0; i < WAYS; i++)
				if (d->segs[b[j][i].loc / ups(d)].gen <
				    d->segs[victim->loc / ups(d)].gen)
					victim = &b[j][i];
		d->st.entries--;
		victim->tag = 0;
	}
	if (!victim->tag)
		d->st.entries++;
	victim->tag = tag;
	victim->loc = loc;
}

static void ent_clear(struct fs_dcache *d, struct ent *e)
{
	e->tag = 0;
	d->st.entries--;
}

/* Forget every entry of segment k (it is about to be rewritten).  The
 * segment is already not live, so lookups of its entries miss; the lock
 * is dropped between slices to keep readers going. */
static void index_sweep(struct fs_dcache *d, uint32_t k)
{
	uint64_t lo = (uint64_t)k * ups(d), hi = lo + ups(d);
	uint64_t n = d->nbuckets * WAYS;

	for (uint64_t i = 0; i < n;) {
		pthread_mutex_lock(&d->lock);
		for (uint64_t e = GN_MIN(n, i + 32768); i < e; i++)
			if (d->ents[i].tag && d->ents[i].loc >= lo && d->ents[i].loc < hi)
				ent_clear(d, &d->ents[i]);
		pthread_mutex_unlock(&d->lock);
	}
}

static char *seg_path(const struct fs_dcache *d, uint32_t k)
{
	return xasprintf("%s/seg-%04u", d->dir, k);
}

static uint64_t seg_hdr_cksum(const struct seg_hdr *h)
{
	return gn_cksum(h, offsetof(struct seg_hdr, hcksum));
}

static uint64_t rec_hdr_cksum(const struct rec_hdr *h)
{
	return gn_cksum(h, offsetof(struct rec_hdr, hcksum));
}

static bool rec_ok(const struct fs_dcache *d, const struct rec_hdr *r,
		   uint64_t gen, uint32_t off)
{
	return r->magic == REC_MAGIC && r->hcksum == rec_hdr_cksum(r) &&
	       r->gen == gen && r->len >= 1 && r->len <= FS_CACHE_BLOCK &&
	       (uint64_t)off + round_unit(sizeof(*r) + r->len) <= d->seg_size;
}

/* ---- the writer ---- */

static void warn_write(struct fs_dcache *d, uint32_t k, int err)
{
	char *p = seg_path(d, k);

	pthread_mutex_lock(&d->lock);
	d->st.errors++;
	pthread_mutex_unlock(&d->lock);
	log_warn("disk cache stops spilling, cannot write '%s': %s", p, strerror(err));
	free(p);
}

/* Make segment k empty and current: allocate it if new, forget its old
 * records, write a header with a new generation.  -ENOSPC when the disk
 * cannot hold it (the file is removed again); other -errno: logged. */
static int seg_start(struct fs_dcache *d, uint32_t k)
{
	struct seg *s = &d->segs[k];
	struct seg_hdr h = { SEG_MAGIC, FORMAT, 0, d->seg_size, d->next_gen, 0 };
	unsigned char page[UNIT] = { 0 };
	char *p = seg_path(d, k);
	int ret = 0;

	if (s->fd < 0) {
		s->fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (s->fd < 0) {
			ret = -errno;
			goto out;
		}
	}
	if (!s->alloc) {
		/* Preallocate: the disk use is fixed from now on, and a full
		 * disk shows here rather than in the middle of a record. */
		if (fallocate(s->fd, 0, 0, d->seg_size)) {
			ret = -errno;
			if (ret == -EOPNOTSUPP)
				ret = ftruncate(s->fd, d->seg_size) ? -errno : 0;
			if (ret == -ENOSPC || ret == -EDQUOT) {
				close(s->fd);
				s->fd = -1;
				unlink(p);
				ret = -ENOSPC;
			}
			if (ret)
				goto out;
		}
		s->alloc = true;
	}
	pthread_mutex_lock(&d->lock);
	s->live = false;
	pthread_mutex_unlock(&d->lock);
	index_sweep(d, k);
	h.hcksum = seg_hdr_cksum(&h);
	memcpy(page, &h, sizeof(h));
	if (pwrite(s->fd, page, sizeof(page), 0) != (ssize_t)sizeof(page)) {
		ret = errno ? -errno : -EIO;
		goto out;
	}
	pthread_mutex_lock(&d->lock);
	s->gen = d->next_gen++;
	s->woff = UNIT;
	s->live = true;
	pthread_mutex_unlock(&d->lock);
out:
	if (ret && ret != -ENOSPC)
		warn_write(d, k, -ret);
	free(p);
	return ret;
}

/* Room for rsz bytes at the head: the next segment in ring order when the
 * current one is full; a full disk shrinks the ring. */
static int make_room(struct fs_dcache *d, uint32_t rsz)
{
	uint32_t k;
	int ret;

	if (d->head_ok && d->segs[d->head].woff + rsz <= d->seg_size)
		return 0;
	k = d->head_ok ? (d->head + 1) % d->nseg : d->head;
	ret = seg_start(d, k);
	if (ret == -ENOSPC) {
		if (!d->warned_full)
			log_warn("disk cache directory '%s' is full, using %u of %u segments",
				 d->dir, k, d->nseg);
		d->warned_full = true;
		if (k == 0) {
			warn_write(d, k, ENOSPC);
			return -ENOSPC;
		}
		pthread_mutex_lock(&d->lock);
		d->nseg = k;
		pthread_mutex_unlock(&d->lock);
		k = 0;
		ret = seg_start(d, k);
	}
	if (ret)
		return ret;
	d->head = k;
	d->head_ok = true;
	return 0;
}

static int write_record(struct fs_dcache *d, const struct qitem *q,
			const unsigned char *data)
{
	static const unsigned char zeros[UNIT];
	uint32_t rsz = round_unit(sizeof(struct rec_hdr) + q->len);
	struct rec_hdr r = { 0 };
	struct iovec iov[3];
	struct seg *s;
	ssize_t n;
	int ret;

	ret = make_room(d, rsz);
	if (ret)
		return ret;
	s = &d->segs[d->head];
	r.magic = REC_MAGIC;
	r.len = q->len;
	r.gen = s->gen;
	r.chunk_id = q->key.chunk_id;
	r.version = q->key.version;
	r.block = q->key.block;
	r.tag = q->tag;
	/* The RAM block was verified against the data server's checksum
	 * when it was filled; this is that same XXH3 value. */
	r.cksum = gn_cksum(data, q->len);
	r.hcksum = rec_hdr_cksum(&r);
	iov[0] = (struct iovec){ &r, sizeof(r) };
	iov[1] = (struct iovec){ (void *)data, q->len };
	iov[2] = (struct iovec){ (void *)zeros, rsz - sizeof(r) - q->len };
	n = pwritev(s->fd, iov, 3, s->woff);
	if (n != (ssize_t)rsz) {
		warn_write(d, d->head, n < 0 ? errno : EIO);
		return -EIO;
	}
	pthread_mutex_lock(&d->lock);
	index_put(d, key_hash(&q->key), d->head * ups(d) + s->woff / UNIT);
	s->woff += rsz;
	d->st.spilled++;
	d->st.spill_bytes += q->len;
	pthread_mutex_unlock(&d->lock);
	return 0;
}

static void *writer_main(void *arg)
{
	struct fs_dcache *d = arg;

	pthread_mutex_lock(&d->qlock);
	for (;;) {
		int b, ret;

		while (!d->rcount && !d->stopping)
			pthread_cond_wait(&d->qwork, &d->qlock);
		if (!d->rcount)
			break;
		b = d->ring[d->rhead];
		d->rhead = (d->rhead + 1) % FS_DCACHE_QUEUE;
		d->rcount--;
		d->busy = true;
		pthread_mutex_unlock(&d->qlock);
		ret = write_record(d, &d->qi[b], d->qbuf + (size_t)b * FS_CACHE_BLOCK);
		pthread_mutex_lock(&d->qlock);
		if (ret)
			d->wfail = true;	/* spills are dropped from now on */
		d->busy = false;
		d->freel[d->nfree++] = b;
		pthread_cond_broadcast(&d->qspace);
	}
	pthread_mutex_unlock(&d->qlock);
	return NULL;
}

bool fs_dcache_contains(struct fs_dcache *d, const struct fs_cache_key *key)
{
	struct ent *e;
	bool have;

	pthread_mutex_lock(&d->lock);
	e = index_find(d, key_hash(key));
	have = e && d->segs[e->loc / ups(d)].live;
	pthread_mutex_unlock(&d->lock);
	return have;
}

void fs_dcache_spill(struct fs_dcache *d, const struct fs_cache_key *key,
		     uint64_t tag, const void *data, uint32_t len, bool wait)
{
	bool have;
	int b;

	if (!len || len > FS_CACHE_BLOCK)
		return;
	pthread_mutex_lock(&d->lock);
	have = index_find(d, key_hash(key)) != NULL;
	pthread_mutex_unlock(&d->lock);
	if (have)
		return;
	pthread_mutex_lock(&d->qlock);
	while (!d->nfree && wait && !d->wfail && !d->stopping)
		pthread_cond_wait(&d->qspace, &d->qlock);
	if (!d->nfree || d->wfail || d->stopping) {
		d->dropped++;
		pthread_mutex_unlock(&d->qlock);
		return;
	}
	b = d->freel[--d->nfree];
	pthread_mutex_unlock(&d->qlock);
	memcpy(d->qbuf + (size_t)b * FS_CACHE_BLOCK, data, len);
	d->qi[b] = (struct qitem){ *key, tag, len };
	pthread_mutex_lock(&d->qlock);
	d->ring[(d->rhead + d->rcount) % FS_DCACHE_QUEUE] = b;
	d->rcount++;
	pthread_cond_signal(&d->qwork);
	pthread_mutex_unlock(&d->qlock);
}

void fs_dcache_drain(struct fs_dcache *d)
{
	pthread_mutex_lock(&d->qlock);
	while (d->nfree < FS_DCACHE_QUEUE)
		pthread_cond_wait(&d->qspace, &d->qlock);
	pthread_mutex_unlock(&d->qlock);
}

/* ---- reads ---- */

int fs_dcache_read(struct fs_dcache *d, const struct fs_cache_key *key,
		   uint64_t tag, void *dst, uint32_t len)
{
	uint64_t h = key_hash(key), gen = 0;
	struct rec_hdr r;
	struct iovec iov[2] = { { &r, sizeof(r) }, { dst, len } };
	struct ent *e;
	uint32_t loc = 0, k, off;
	int fd = -1, ret = -ENOENT;
	ssize_t n;

	pthread_mutex_lock(&d->lock);
	e = index_find(d, h);
	if (e && d->segs[e->loc / ups(d)].live) {
		loc = e->loc;
		k = loc / ups(d);
		fd = d->segs[k].fd;
		gen = d->segs[k].gen;
	}
	pthread_mutex_unlock(&d->lock);
	if (fd < 0 || !len || len > FS_CACHE_BLOCK)
		goto out;
	k = loc / ups(d);
	off = (loc % ups(d)) * UNIT;
	n = preadv(fd, iov, 2, off);
	if (n < 0) {
		log_warn("disk cache cannot read segment %u of '%s': %s", k, d->dir,
			 strerror(errno));
		pthread_mutex_lock(&d->lock);
		d->st.errors++;
		pthread_mutex_unlock(&d->lock);
		goto drop;
	}
	/* A fingerprint collision or a segment recycled meanwhile is a
	 * plain miss; anything else that does not verify is discarded. */
	if (n < (ssize_t)sizeof(r) || !rec_ok(d, &r, gen, off))
		goto drop;
	if (r.chunk_id != key->chunk_id || r.version != key->version ||
	    r.block != key->block)
		goto out;
	if (r.tag != tag || r.len != len || n != (ssize_t)(sizeof(r) + len))
		goto drop;
	if (gn_cksum(dst, len) != r.cksum) {
		log_warn("disk cache discards a corrupted block chunk=%016" PRIx64
			 " v=%" PRIu64 " block=%u in '%s/seg-%04u' at %u",
			 key->chunk_id, key->version, key->block, d->dir, k, off);
		goto drop;
	}
	ret = 0;
	goto out;
drop:
	pthread_mutex_lock(&d->lock);
	e = index_find(d, h);
	if (e && e->loc == loc)
		ent_clear(d, e);
	d->st.discarded++;
	pthread_mutex_unlock(&d->lock);
out:
	pthread_mutex_lock(&d->lock);
	if (ret) {
		d->st.misses++;
	} else {
		d->st.hits++;
		d->st.hit_bytes += len;
	}
	pthread_mutex_unlock(&d->lock);
	return ret;
}

void fs_dcache_get_stats(struct fs_dcache *d, struct fs_dcache_stats *st)
{
	uint64_t nalloc = 0;

	pthread_mutex_lock(&d->lock);
	*st = d->st;
	for (uint32_t k = 0; k < d->nseg; k++)
		nalloc += d->segs[k].alloc;
	pthread_mutex_unlock(&d->lock);
	st->disk_bytes = nalloc * d->seg_size;
	pthread_mutex_lock(&d->qlock);
	st->dropped = d->dropped;
	pthread_mutex_unlock(&d->qlock);
}

/* ---- open: geometry, lock, scan ---- */

/* Rebuild the index entries of segment k from its record headers. */
static void seg_scan(struct fs_dcache *d, uint32_t k)
{
	struct seg *s = &d->segs[k];
	struct seg_hdr h;
	struct stat sb;
	char *p = seg_path(d, k);
	uint32_t off = UNIT;

	s->fd = open(p, O_RDWR | O_CLOEXEC);
	free(p);
	if (s->fd < 0)
		return;
	if (fstat(s->fd, &sb) || (uint64_t)sb.st_size != d->seg_size)
		return;		/* another geometry: reallocated on use */
	s->alloc = true;
	if (pread(s->fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h) ||
	    h.magic != SEG_MAGIC || h.format != FORMAT ||
	    h.seg_size != d->seg_size || h.hcksum != seg_hdr_cksum(&h))
		return;
	/* Headers only: no read-ahead of the data between them. */
	posix_fadvise(s->fd, 0, 0, POSIX_FADV_RANDOM);
	for (;;) {
		struct rec_hdr r;

		if (pread(s->fd, &r, sizeof(r), off) != (ssize_t)sizeof(r) ||
		    !rec_ok(d, &r, h.gen, off))
			break;
		struct fs_cache_key key = { r.chunk_id, r.version, r.block };
		index_put(d, key_hash(&key), k * ups(d) + off / UNIT);
		off += round_unit(sizeof(r) + r.len);
	}
	posix_fadvise(s->fd, 0, 0, POSIX_FADV_NORMAL);
	s->gen = h.gen;
	s->woff = off;
	s->live = true;
}

/* Remove segment files the geometry no longer has (cache_dir_size was
 * lowered), so the directory stays within its size. */
static void remove_extra(struct fs_dcache *d)
{
	DIR *dp = opendir(d->dir);
	struct dirent *de;

	if (!dp)
		return;
	while ((de = readdir(dp))) {
		unsigned k;
		char c;

		if (sscanf(de->d_name, "seg-%u%c", &k, &c) == 1 && k >= d->nseg)
			unlinkat(dirfd(dp), de->d_name, 0);
	}
	closedir(dp);
}

static int geometry(struct fs_dcache *d, uint64_t size)
{
	uint64_t usable, seg;

	if (size < 2 * SEG_MIN + RESERVE)
		return -EINVAL;
	usable = GN_MIN(size - RESERVE, (uint64_t)UINT32_MAX * UNIT);
	/* At least 8 segments when possible: FIFO eviction frees 1/nseg. */
	seg = usable / 8 / SEG_MIN * SEG_MIN;
	seg = GN_MAX((uint64_t)SEG_MIN, GN_MIN((uint64_t)SEG_MAX, seg));
	d->seg_size = (uint32_t)seg;
	d->nseg = (uint32_t)GN_MIN(usable / seg, 9999);
	/* About 1.33 entries per full 64 KiB block. */
	d->nbuckets = GN_MAX((uint64_t)1, usable / FS_CACHE_BLOCK / 6);
	return 0;
}

static void dcache_free(struct fs_dcache *d)
{
	for (uint32_t k = 0; d->segs && k < d->nseg_max; k++)
		if (d->segs[k].fd >= 0)
			close(d->segs[k].fd);
	if (d->lockfd >= 0)
		close(d->lockfd);
	free(d->segs);
	free(d->ents);
	if (d->qbuf)
		gn_buf_free(d->qbuf, (size_t)FS_DCACHE_QUEUE * FS_CACHE_BLOCK);
	pthread_mutex_destroy(&d->lock);
	pthread_mutex_destroy(&d->qlock);
	pthread_cond_destroy(&d->qwork);
	pthread_cond_destroy(&d->qspace);
	free(d->dir);
	free(d);
}

int fs_dcache_open(const char *dir, uint64_t size, struct fs_dcache **out)
{
	struct fs_dcache *d = xcalloc(1, sizeof(*d));
	uint64_t best = 0;
	char *lp = NULL;
	int ret;

	d->dir = xstrdup(dir);
	d->lockfd = -1;
	pthread_mutex_init(&d->lock, NULL);
	pthread_mutex_init(&d->qlock, NULL);
	pthread_cond_init(&d->qwork, NULL);
	pthread_cond_init(&d->qspace, NULL);
	ret = geometry(d, size);
	if (ret) {
		log_warn("disk cache off: cache_dir_size %" PRIu64 " is below %u bytes for '%s'",
			 size, (unsigned)(2 * SEG_MIN + RESERVE), dir);
		goto out;
	}
	lp = xasprintf("%s/.lock", dir);
	d->lockfd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (d->lockfd < 0) {
		ret = -errno;
		log_warn("disk cache off: cannot use cache_dir '%s': %s", dir, strerror(-ret));
		goto out;
	}
	if (flock(d->lockfd, LOCK_EX | LOCK_NB)) {
		ret = errno == EWOULDBLOCK ? -EBUSY : -errno;
		log_warn("disk cache off: cache_dir '%s' is in use by another mount", dir);
		goto out;
	}
	d->qbuf = gn_buf_alloc((size_t)FS_DCACHE_QUEUE * FS_CACHE_BLOCK);
	if (!d->qbuf) {
		ret = -ENOMEM;
		goto out;
	}
	for (int i = 0; i < FS_DCACHE_QUEUE; i++)
		d->freel[d->nfree++] = i;
	d->ents = xcalloc(d->nbuckets * WAYS, sizeof(*d->ents));
	d->nseg_max = d->nseg;
	d->segs = xcalloc(d->nseg, sizeof(*d->segs));
	remove_extra(d);
	for (uint32_t k = 0; k < d->nseg; k++) {
		d->segs[k].fd = -1;
		seg_scan(d, k);
		/* Continue after the newest segment's last record. */
		if (d->segs[k].live && d->segs[k].gen > best) {
			best = d->segs[k].gen;
			d->head = k;
			d->head_ok = true;
		}
	}
	d->next_gen = best + 1;
	ret = pthread_create(&d->writer, NULL, writer_main, d);
	if (ret) {
		ret = -ret;
		goto out;
	}
	d->writer_running = true;
	log_info("disk cache in '%s': %u segments of %u bytes, %" PRIu64 " blocks found",
		 dir, d->nseg, d->seg_size, d->st.entries);
	*out = d;
out:
	free(lp);
	if (ret)
		dcache_free(d);
	return ret;
}

void fs_dcache_close(struct fs_dcache *d)
{
	if (!d)
		return;
	pthread_mutex_lock(&d->qlock);
	d->stopping = true;
	pthread_cond_broadcast(&d->qwork);
	pthread_cond_broadcast(&d->qspace);
	pthread_mutex_unlock(&d->qlock);
	if (d->writer_running)
		pthread_join(d->writer, NULL);
	dcache_free(d);
}
