/*
 * store_io.c - writing versions (prepare: validate, copy, verify the
 * client's checksums; commit: merge with the base version, compress, write,
 * sync, publish) and reading them back with verification.  See store.h.
 *
 * Buffers: every operation takes 4 MiB + 4 KiB buffers from the store's
 * pool.  The first 4 KiB hold the file header and the rest the chunk's
 * bytes at their chunk offsets, so an uncompressed version goes to disk in
 * one page-aligned pwrite and a whole-chunk read is one pread.
 */
#include "config.h"
#include "ds/store_i.h"
#include "common/buf.h"
#include "common/log.h"
#include "common/rpc.h"
#include "common/status.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include <zstd.h>

struct ds_wbuf {
	struct ds_store *st;
	struct ds_write_req req;	/* cksums and extents pointers not kept */
	uint8_t *buf;			/* [header][chunk bytes] */
	size_t len;			/* payload bytes, over all ranges */
	/* The payload's ranges in the chunk as (offset, length) pairs. */
	uint32_t next;
	uint32_t ext[2 * GN_WRITE_EXTENTS_MAX];
	/* Verified client checksums of the blocks the payload covers whole:
	 * bit k of blk_known says blk_ck[k] holds block k's. */
	uint64_t blk_ck[GN_BLOCKS_PER_CHUNK];
	uint64_t blk_known;
	uint8_t *flat;			/* contiguous payload (ds_wbuf_payload) */
	bool committed;
};

/* ------------------------------------------------------------------ */
/* zstd contexts, one pair per thread                                 */
/* ------------------------------------------------------------------ */

struct zctx {
	ZSTD_CCtx *c;
	ZSTD_DCtx *d;
	uint8_t blk[GN_BLOCK_SIZE];	/* one decoded block */
};

static pthread_key_t zkey;
static pthread_once_t zonce = PTHREAD_ONCE_INIT;

static void zctx_free(void *p)
{
	struct zctx *z = p;

	ZSTD_freeCCtx(z->c);
	ZSTD_freeDCtx(z->d);
	free(z);
}

static void zkey_init(void)
{
	if (pthread_key_create(&zkey, zctx_free))
		BUG("cannot create thread key");
}

static struct zctx *zctx_get(void)
{
	struct zctx *z;

	pthread_once(&zonce, zkey_init);
	z = pthread_getspecific(zkey);
	if (!z) {
		z = xcalloc(1, sizeof(*z));
		z->c = ZSTD_createCCtx();
		z->d = ZSTD_createDCtx();
		if (!z->c || !z->d)
			BUG("cannot allocate zstd contexts");
		pthread_setspecific(zkey, z);
	}
	return z;
}

/* ------------------------------------------------------------------ */
/* Helpers                                                            */
/* ------------------------------------------------------------------ */

static uint32_t block_len(uint32_t length, uint32_t k)
{
	uint32_t start = k * GN_BLOCK_SIZE;

	return start >= length ? 0 : GN_MIN(GN_BLOCK_SIZE, length - start);
}

static void *get_buf(struct ds_store *st)
{
	return gn_bufpool_get_wait(st->pool, st->buf_wait_ms);
}

static void put_buf(struct ds_store *st, void *buf)
{
	if (buf)
		gn_bufpool_put(st->pool, buf);
}

/* A read position in a bulk payload's list of buffers. */
struct bulk_cursor {
	const struct gn_bulk *b;
	int i;			/* current iovec */
	size_t off;		/* bytes of it already consumed */
};

/* Copy the next len bytes of the payload to dst. */
static void bulk_next(struct bulk_cursor *c, uint8_t *dst, size_t len)
{
	while (len > 0 && c->i < c->b->iovcnt) {
		const struct iovec *v = &c->b->iov[c->i];
		size_t k = GN_MIN(v->iov_len - c->off, len);

		memcpy(dst, (const uint8_t *)v->iov_base + c->off, k);
		dst += k;
		len -= k;
		c->off += k;
		if (c->off == v->iov_len) {
			c->i++;
			c->off = 0;
		}
	}
}

/*
 * Decode blocks [b0, b1) of a version described by h into dst (block k at
 * dst + k * GN_BLOCK_SIZE) and verify their checksums.  src holds the
 * version's stored data from frame b0 on (src[0] is the first byte of frame
 * b0).  For an uncompressed version src may equal dst + b0 * BLOCK (then
 * nothing is copied).  Returns 0, or -GN_ERR_CKSUM with why filled in.
 */
static int decode_blocks(const struct ds_hdr *h, const uint8_t *src,
			 uint32_t b0, uint32_t b1, uint8_t *dst,
			 char *why, size_t whylen)
{
	uint32_t base = h->frame_off[b0];

	for (uint32_t k = b0; k < b1; k++) {
		uint32_t blen = block_len(h->length, k);
		const uint8_t *f = src + (h->frame_off[k] - base);
		uint8_t *o = dst + (size_t)k * GN_BLOCK_SIZE;

		if (h->frame_len[k] == blen) {
			if (f != o)
				memcpy(o, f, blen);
		} else {
			size_t r = ZSTD_decompressDCtx(zctx_get()->d, o, blen,
						       f, h->frame_len[k]);
			if (ZSTD_isError(r) || r != blen) {
				snprintf(why, whylen, "block %u does not decompress", k);
				return -GN_ERR_CKSUM;
			}
		}
		if (gn_cksum(o, blen) != h->cksums[k]) {
			snprintf(why, whylen, "checksum mismatch in block %u", k);
			return -GN_ERR_CKSUM;
		}
	}
	return 0;
}

/* Decode frame f of block k and verify it: returns a pointer to the
 * block's bytes (f itself when stored raw, else the thread's block buffer,
 * valid until the next call on this thread), or NULL with why filled in. */
static const uint8_t *decode_one(const struct ds_hdr *h, const uint8_t *f,
				 uint32_t k, char *why, size_t whylen)
{
	uint32_t blen = block_len(h->length, k);
	struct zctx *z = zctx_get();
	const uint8_t *o = f;

	if (h->frame_len[k] != blen) {
		size_t r = ZSTD_decompressDCtx(z->d, z->blk, GN_BLOCK_SIZE, f,
					       h->frame_len[k]);
		if (ZSTD_isError(r) || r != blen) {
			snprintf(why, whylen, "block %u does not decompress", k);
			return NULL;
		}
		o = z->blk;
	}
	if (gn_cksum(o, blen) != h->cksums[k]) {
		snprintf(why, whylen, "checksum mismatch in block %u", k);
		return NULL;
	}
	return o;
}

/* Open a version and read and check its header into hdrbuf.  A damaged
 * header quarantines the version (-GN_ERR_CKSUM). */
static int open_version(struct ds_store *st, uint64_t id, uint64_t version,
			int flags, void *hdrbuf, size_t readlen, int *fdp,
			struct ds_hdr *h)
{
	char name[40];
	ssize_t n;
	int fd, ret;

	ds_chunk_name(name, sizeof(name), id, version);
	fd = openat(st->sub_fd[ds_subdir_of(id)], name, O_RDONLY | O_CLOEXEC | flags);
	if (fd < 0 && flags && errno == EINVAL)
		fd = openat(st->sub_fd[ds_subdir_of(id)], name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ENOENT : -errno;
	n = ds_pread_full(fd, hdrbuf, readlen, 0);
	if (n == -EINVAL && (flags & O_DIRECT)) {
		/* Direct I/O refused for this file after all: read through
		 * the page cache (dropped again by the caller). */
		close(fd);
		fd = openat(st->sub_fd[ds_subdir_of(id)], name, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return errno == ENOENT ? -ENOENT : -errno;
		n = ds_pread_full(fd, hdrbuf, readlen, 0);
	}
	if (n < 0) {
		ret = (int)n;
		log_err("cannot read chunk %016" PRIx64 " version %" PRIu64 ": %s",
			id, version, strerror(-ret));
		close(fd);
		return ret == -EINVAL ? -EIO : ret;
	}
	if (n < DS_HDR_SIZE || ds_hdr_decode(hdrbuf, DS_HDR_SIZE, h) ||
	    h->chunk_id != id || h->version != version) {
		close(fd);
		ds__quarantine(st, id, version, "damaged header");
		return -GN_ERR_CKSUM;
	}
	*fdp = fd;
	return (int)n;
}

/* ------------------------------------------------------------------ */
/* Writing                                                            */
/* ------------------------------------------------------------------ */

/* The ranges of a request as (offset, length) pairs into ext: checked
 * against the chunk length, the payload's length and its checksum count.
 * Returns the number of ranges, or -EINVAL. */
static int request_extents(const struct ds_write_req *r, size_t len, uint32_t *ext)
{
	uint64_t end = 0, sum = 0, nck = 0;

	if (!r->nextents) {
		if ((uint64_t)r->offset + len > r->chunk_length ||
		    r->ncksums != gn_cksum_count(len))
			return -EINVAL;
		ext[0] = r->offset;
		ext[1] = (uint32_t)len;
		return len ? 1 : 0;
	}
	if (r->nextents > GN_WRITE_EXTENTS_MAX)
		return -EINVAL;
	for (size_t i = 0; i < r->nextents; i++) {
		uint32_t off = r->extents[2 * i], l = r->extents[2 * i + 1];

		if (l == 0 || off < end || (uint64_t)off + l > r->chunk_length)
			return -EINVAL;
		end = (uint64_t)off + l;
		sum += l;
		nck += gn_cksum_count(l);
		ext[2 * i] = off;
		ext[2 * i + 1] = l;
	}
	if (sum != len || nck != r->ncksums)
		return -EINVAL;
	return (int)r->nextents;
}

static int check_write_req(const struct ds_write_req *r, size_t len)
{
	if (r->chunk_length > GN_CHUNK_SIZE || r->offset > GN_CHUNK_SIZE ||
	    len > GN_CHUNK_SIZE)
		return -EFBIG;
	if (r->chunk_id == 0 || r->version == 0 ||
	    (r->base_version && r->base_version >= r->version) ||
	    (r->compression != DS_COMP_NONE && r->compression != DS_COMP_ZSTD))
		return -EINVAL;
	return 0;
}

/* Copy the payload (from data, or from the bulk cursor) to its ranges in
 * w->buf one 64 KiB piece at a time, while it is in cache, verifying each
 * piece against the client's checksum. */
static int copy_payload(struct ds_wbuf *w, const uint64_t *cksums,
			const uint8_t *data, struct bulk_cursor *cur)
{
	uint8_t *d = w->buf + DS_HDR_SIZE;
	size_t j = 0;

	for (uint32_t i = 0; i < w->next; i++) {
		uint32_t off = w->ext[2 * i], l = w->ext[2 * i + 1];

		for (uint32_t done = 0; done < l; done += GN_BLOCK_SIZE, j++) {
			uint32_t pos = off + done, k = GN_MIN(GN_BLOCK_SIZE, l - done);

			if (data) {
				memcpy(d + pos, data, k);
				data += k;
			} else {
				bulk_next(cur, d + pos, k);
			}
			if (gn_cksum(d + pos, k) != cksums[j])
				return -GN_ERR_CKSUM;
			/* A piece that is a whole block of the new version. */
			if (pos % GN_BLOCK_SIZE == 0 &&
			    pos + k == GN_MIN(pos + GN_BLOCK_SIZE, w->req.chunk_length)) {
				w->blk_ck[pos / GN_BLOCK_SIZE] = cksums[j];
				w->blk_known |= (uint64_t)1 << (pos / GN_BLOCK_SIZE);
			}
		}
	}
	return 0;
}

int ds_store_prepare(struct ds_store *st, const struct ds_write_req *req,
		     const void *data, const struct gn_bulk *bulk, size_t len,
		     struct ds_wbuf **out)
{
	struct bulk_cursor cur = { .b = bulk };
	struct ds_wbuf *w = NULL;
	int ret;

	ret = check_write_req(req, len);
	if (ret)
		return ret;
	w = xcalloc(1, sizeof(*w));
	ret = request_extents(req, len, w->ext);
	if (ret < 0)
		goto out;
	w->next = (uint32_t)ret;
	ret = 0;
	pthread_mutex_lock(&st->lock);
	if (req->base_version &&
	    !ds_index_find(&st->ix, req->chunk_id, req->base_version))
		ret = -ENOENT;
	else if (!req->copy &&
		 ds_index_max_version(&st->ix, req->chunk_id) > req->version)
		ret = -GN_ERR_STALE_VERSION;
	pthread_mutex_unlock(&st->lock);
	if (ret)
		goto out;

	w->st = st;
	w->req = *req;
	w->req.cksums = NULL;
	w->req.extents = NULL;
	w->len = len;
	w->buf = get_buf(st);
	if (!w->buf) {
		ret = -ENOMEM;
		goto out;
	}
	ret = copy_payload(w, req->cksums, data, &cur);
out:
	if (ret) {
		w->st = st;
		ds_wbuf_free(w);
		return ret;
	}
	*out = w;
	return 0;
}

const void *ds_wbuf_payload(struct ds_wbuf *w, size_t *len)
{
	const uint8_t *d = w->buf + DS_HDR_SIZE;

	*len = w->len;
	if (w->next <= 1)
		return d + (w->next ? w->ext[0] : 0);
	if (!w->flat) {
		uint8_t *p = w->flat = xmalloc(w->len);

		for (uint32_t i = 0; i < w->next; i++) {
			memcpy(p, d + w->ext[2 * i], w->ext[2 * i + 1]);
			p += w->ext[2 * i + 1];
		}
	}
	return w->flat;
}

void ds_wbuf_free(struct ds_wbuf *w)
{
	if (!w)
		return;
	if (w->buf)
		put_buf(w->st, w->buf);
	free(w->flat);
	free(w);
}

/* The base version's blocks, decoded and verified one at a time as the
 * gaps between the payload's ranges need them. */
struct base_src {
	struct ds_store *st;
	const struct ds_write_req *r;
	const struct ds_hdr *h;
	const uint8_t *frames;		/* frames as read, from frame_off[0] */
	uint32_t start;			/* frame_off[0] */
	uint32_t bl;			/* base bytes kept: [0, bl) */
	uint32_t k;			/* block at blk, or UINT32_MAX */
	const uint8_t *blk;
};

/* Fill d[a, b) of a gap: base bytes below bl, zeros from there on. */
static int fill_gap(struct base_src *src, uint8_t *d, uint32_t a, uint32_t b)
{
	uint32_t top = GN_MIN(b, src->bl);
	char why[64];

	for (uint32_t pos = a; pos < top;) {
		uint32_t k = pos / GN_BLOCK_SIZE, s = k * GN_BLOCK_SIZE;
		uint32_t e = GN_MIN(s + GN_BLOCK_SIZE, top);

		if (src->k != k) {
			src->blk = decode_one(src->h, src->frames +
					      (src->h->frame_off[k] - src->start),
					      k, why, sizeof(why));
			if (!src->blk) {
				ds__quarantine(src->st, src->r->chunk_id,
					       src->r->base_version, why);
				return -ENOENT;
			}
			src->k = k;
		}
		memcpy(d + pos, src->blk + (pos - s), e - pos);
		pos = e;
	}
	if (b > GN_MAX(a, src->bl))
		memset(d + GN_MAX(a, src->bl), 0, b - GN_MAX(a, src->bl));
	return 0;
}

/* Whether any byte of [0, bl) lies outside w's ranges. */
static bool gap_below(const struct ds_wbuf *w, uint32_t bl)
{
	uint32_t pos = 0;

	for (uint32_t i = 0; i < w->next && pos < bl; i++) {
		if (w->ext[2 * i] > pos)
			return true;
		pos = w->ext[2 * i] + w->ext[2 * i + 1];
	}
	return pos < bl;
}

/*
 * Fill the chunk bytes of w outside its payload's ranges: the base
 * version's first base_length bytes (read and verified through scratch),
 * zeros elsewhere.  The base's frames are read into scratch and decoded one
 * block at a time (into the thread's 64 KiB block buffer when compressed),
 * so only the bytes in the gaps are copied into w; blocks the payload
 * covers whole are not decoded at all.
 */
static int merge_base(struct ds_store *st, struct ds_wbuf *w, uint8_t *scratch)
{
	const struct ds_write_req *r = &w->req;
	uint8_t *d = w->buf + DS_HDR_SIZE;
	struct base_src src = { .st = st, .r = r, .k = UINT32_MAX };
	uint32_t bl = GN_MIN(r->base_length, r->chunk_length), pos = 0;
	struct ds_hdr h;
	int fd = -1, ret = 0;

	if (r->base_version && bl > 0) {
		ret = open_version(st, r->chunk_id, r->base_version, 0, scratch,
				   DS_HDR_SIZE, &fd, &h);
		if (ret == -GN_ERR_CKSUM)
			ret = -ENOENT;	/* quarantined: see below */
		if (ret < 0)
			goto out;
		ret = 0;
		bl = GN_MIN(bl, h.length);	/* past the base's end: zeros */
	} else {
		bl = 0;
	}
	if (bl > 0 && gap_below(w, bl)) {
		uint32_t nb = (uint32_t)gn_cksum_count(bl);
		uint32_t end = h.frame_off[nb - 1] + h.frame_len[nb - 1];
		ssize_t n = ds_pread_full(fd, scratch + DS_HDR_SIZE, end - h.frame_off[0],
					  DS_HDR_SIZE + h.frame_off[0]);

		if (n < 0) {
			ret = (int)n;
			goto out;
		}
		/* A damaged base is quarantined (and reported); for the client
		 * it is then simply not here: -ENOENT makes it send the whole
		 * chunk, which needs no base. */
		if (n != (ssize_t)(end - h.frame_off[0])) {
			ds__quarantine(st, r->chunk_id, r->base_version, "short file");
			ret = -ENOENT;
			goto out;
		}
		src.h = &h;
		src.frames = scratch + DS_HDR_SIZE;
		src.start = h.frame_off[0];
		src.bl = bl;
	}
	for (uint32_t i = 0; i <= w->next && !ret; i++) {
		uint32_t gap_end = i < w->next ? w->ext[2 * i] : r->chunk_length;

		if (gap_end > pos)
			ret = fill_gap(&src, d, pos, gap_end);
		if (i < w->next)
			pos = w->ext[2 * i] + w->ext[2 * i + 1];
	}
out:
	if (fd >= 0)
		close(fd);
	return ret;
}

/*
 * Create a temporary version file.  Chunk files are written with O_DIRECT
 * when the file system allows it: measured here (ext4 on virtio, 4 MiB
 * files, write + fdatasync + rename + directory fsync) it is about twice as
 * fast as writing through the page cache, whose write-back stalls behind
 * the journal commits of the directory syncs (see contrib/bench/ds-bench).
 * Reads stay buffered so hot chunks are served from the page cache.
 */
static int open_tmp(struct ds_store *st, int sub, const char *tmp, bool *direct)
{
	int flags = O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, fd;

	*direct = __atomic_load_n(&st->direct, __ATOMIC_RELAXED);
	fd = openat(st->sub_fd[sub], tmp, flags | (*direct ? O_DIRECT : 0), 0644);
	if (fd < 0 && *direct && errno == EINVAL) {
		/* tmpfs and some others refuse O_DIRECT at open. */
		__atomic_store_n(&st->direct, false, __ATOMIC_RELAXED);
		*direct = false;
		fd = openat(st->sub_fd[sub], tmp, flags, 0644);
	}
	return fd < 0 ? -errno : fd;
}

/* Write the file image img (header + data, size bytes) as version h under
 * a temporary name, sync it, and publish it unless a newer version of the
 * chunk appeared meanwhile (allowed for a copy). */
static int write_version(struct ds_store *st, const struct ds_hdr *h,
			 uint8_t *img, size_t size, bool copy,
			 struct ds_chunk_stat *stat)
{
	pthread_mutex_t *stripe = &st->stripe[h->chunk_id % DS_NSTRIPES];
	int sub = ds_subdir_of(h->chunk_id);
	char name[40], tmp[64];
	struct ds_chunk_stat s;
	struct statvfs sv;
	size_t done = 0;
	uint64_t seq;
	bool direct;
	int fd = -1, ret = 0;

	if (fstatvfs(st->dir_fd, &sv))
		return -errno;
	if ((uint64_t)sv.f_bavail * sv.f_frsize < size + st->reserve)
		return -ENOSPC;
	ds_chunk_name(name, sizeof(name), h->chunk_id, h->version);
	seq = __atomic_add_fetch(&st->tmp_seq, 1, __ATOMIC_RELAXED);
	snprintf(tmp, sizeof(tmp), "%s.tmp.%" PRIu64, name, seq);
	fd = open_tmp(st, sub, tmp, &direct);
	if (fd < 0)
		return fd;
	if (direct) {
		/* O_DIRECT wants whole blocks: pad with zeros to 4 KiB (the
		 * image buffer has room up to DS_BUF_SIZE). */
		size_t padded = (size + DS_HDR_SIZE - 1) / DS_HDR_SIZE * DS_HDR_SIZE;

		memset((uint8_t *)img + size, 0, padded - size);
		size = padded;
	}
	while (done < size) {
		ssize_t n = pwrite(fd, img + done, size - done, (off_t)done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EINVAL && direct && done == 0) {
			/* The file system takes O_DIRECT at open but not this
			 * alignment: write through the page cache from now on. */
			log_warn("direct I/O refused, using buffered writes dir='%s'", st->dir);
			__atomic_store_n(&st->direct, false, __ATOMIC_RELAXED);
			close(fd);
			unlinkat(st->sub_fd[sub], tmp, 0);
			fd = open_tmp(st, sub, tmp, &direct);
			if (fd < 0)
				return fd;
			continue;
		}
		if (n <= 0) {
			ret = n < 0 ? -errno : -EIO;
			goto out;
		}
		done += (size_t)n;
	}
	if (fdatasync(fd)) {
		ret = -errno;
		goto out;
	}
	ret = close(fd) ? -errno : 0;
	fd = -1;
	if (ret)
		goto out;

	s.chunk_id = h->chunk_id;
	s.version = h->version;
	s.length = h->length;
	s.compression = (uint8_t)h->compression;
	s.digest = h->digest;
	s.stored_bytes = size;
	pthread_mutex_lock(stripe);
	pthread_mutex_lock(&st->lock);
	if (!copy && ds_index_max_version(&st->ix, h->chunk_id) > h->version)
		ret = -GN_ERR_STALE_VERSION;
	pthread_mutex_unlock(&st->lock);
	if (!ret && renameat(st->sub_fd[sub], tmp, st->sub_fd[sub], name))
		ret = -errno;
	if (!ret) {
		pthread_mutex_lock(&st->lock);
		ds_index_put(&st->ix, &s);
		pthread_mutex_unlock(&st->lock);
	}
	pthread_mutex_unlock(stripe);
	if (ret)
		goto out;
	/* The rename is durable only once the directory is. */
	if (fsync(st->sub_fd[sub])) {
		ret = -errno;
		log_err("cannot sync chunk directory of '%s': %s", name, strerror(errno));
		return ret;
	}
	if (stat)
		*stat = s;
	return 0;
out:
	if (fd >= 0)
		close(fd);
	unlinkat(st->sub_fd[sub], tmp, 0);
	if (ret == -EDQUOT)
		ret = -ENOSPC;
	return ret;
}

/* Compress the chunk bytes d (length bytes) into img + DS_HDR_SIZE, frame
 * by frame, filling h's frame table; returns the data bytes. */
static size_t compress_frames(struct ds_store *st, struct ds_hdr *h,
			      const uint8_t *d, uint8_t *img)
{
	struct zctx *z = zctx_get();
	uint8_t *o = img + DS_HDR_SIZE;
	uint32_t pos = 0;

	for (uint32_t k = 0; k < h->nblocks; k++) {
		uint32_t blen = block_len(h->length, k);
		/* Keep a frame only when it saves at least 1/16: below that
		 * the decompression costs more than the bytes saved. */
		size_t r = ZSTD_compressCCtx(z->c, o + pos, blen - blen / 16,
					     d + (size_t)k * GN_BLOCK_SIZE, blen,
					     st->zstd_level);

		h->frame_off[k] = pos;
		if (ZSTD_isError(r) || r >= blen) {
			memcpy(o + pos, d + (size_t)k * GN_BLOCK_SIZE, blen);
			r = blen;
		}
		h->frame_len[k] = (uint32_t)r;
		pos += (uint32_t)r;
	}
	return pos;
}

/*
 * Checksums of every block of the new version.  A block that is exactly
 * one of the payload's pieces already has its (verified) checksum; only
 * the others are computed, so a whole-chunk write hashes its bytes once.
 */
static size_t block_cksums(const struct ds_wbuf *w, uint64_t *out)
{
	const uint8_t *d = w->buf + DS_HDR_SIZE;
	uint32_t len = w->req.chunk_length;
	size_t n = gn_cksum_count(len);

	for (uint32_t k = 0; k < n; k++) {
		uint32_t s = k * GN_BLOCK_SIZE;

		if (w->blk_known & ((uint64_t)1 << k))
			out[k] = w->blk_ck[k];
		else
			out[k] = gn_cksum(d + s, GN_MIN(s + GN_BLOCK_SIZE, len) - s);
	}
	return n;
}

int ds_store_commit(struct ds_store *st, struct ds_wbuf *w,
		    struct ds_chunk_stat *stat)
{
	const struct ds_write_req *r = &w->req;
	uint8_t *d = w->buf + DS_HDR_SIZE, *img = w->buf;
	uint8_t *scratch = NULL;
	struct ds_hdr h;
	int ret;

	if (w->committed)
		return -EINVAL;
	w->committed = true;
	if ((r->base_version && r->base_length) || r->compression != DS_COMP_NONE) {
		scratch = get_buf(st);
		if (!scratch)
			return -ENOMEM;
	}
	ret = merge_base(st, w, scratch);
	if (ret)
		goto out;

	memset(&h, 0, sizeof(h));
	h.chunk_id = r->chunk_id;
	h.version = r->version;
	h.length = r->chunk_length;
	h.compression = r->compression;
	h.nblocks = (uint32_t)block_cksums(w, h.cksums);
	h.digest = gn_cksum_digest(h.cksums, h.nblocks);
	if (r->compression == DS_COMP_NONE) {
		for (uint32_t k = 0; k < h.nblocks; k++) {
			h.frame_off[k] = k * GN_BLOCK_SIZE;
			h.frame_len[k] = block_len(h.length, k);
		}
		h.data_bytes = h.length;
	} else {
		img = scratch;
		h.data_bytes = compress_frames(st, &h, d, img);
	}
	ds_hdr_encode(&h, img);
	ret = write_version(st, &h, img, DS_HDR_SIZE + h.data_bytes, r->copy, stat);
out:
	put_buf(st, scratch);
	return ret;
}

int ds_store_write(struct ds_store *st, const struct ds_write_req *req,
		   const void *data, size_t len, struct ds_chunk_stat *stat)
{
	struct ds_wbuf *w;
	int ret;

	ret = ds_store_prepare(st, req, data ? data : "", NULL, len, &w);
	if (ret)
		return ret;
	ret = ds_store_commit(st, w, stat);
	ds_wbuf_free(w);
	return ret;
}

/* ------------------------------------------------------------------ */
/* Reading                                                            */
/* ------------------------------------------------------------------ */

void ds_read_free(struct ds_read *r)
{
	if (!r)
		return;
	put_buf(r->st, r->buf);
	free(r);
}

/* Read frames of blocks [b0, b1) of the open version fd into a buffer
 * and decode them to out + HDR (block k at its chunk offset). */
static int read_blocks(struct ds_store *st, int fd, const struct ds_hdr *h,
		       uint32_t b0, uint32_t b1, uint8_t *out, bool have,
		       char *why, size_t whylen)
{
	uint32_t start = h->frame_off[b0];
	uint32_t end = h->frame_off[b1 - 1] + h->frame_len[b1 - 1];
	uint8_t *src = out + DS_HDR_SIZE + start, *scratch = NULL;
	ssize_t n;
	int ret;

	if (h->compression != DS_COMP_NONE) {
		scratch = get_buf(st);
		if (!scratch)
			return -ENOMEM;
		src = scratch;
		have = false;
	}
	if (!have) {
		n = ds_pread_full(fd, src, end - start, DS_HDR_SIZE + start);
		if (n < 0) {
			ret = (int)n;
			goto out;
		}
		if (n != (ssize_t)(end - start)) {
			snprintf(why, whylen, "file is %zd bytes short", (ssize_t)(end - start) - n);
			ret = -GN_ERR_CKSUM;
			goto out;
		}
	}
	ret = decode_blocks(h, src, b0, b1, out + DS_HDR_SIZE, why, whylen);
out:
	put_buf(st, scratch);
	return ret;
}

int ds_store_read(struct ds_store *st, uint64_t chunk_id, uint64_t version,
		  uint32_t offset, uint32_t length, struct ds_read **out)
{
	struct ds_chunk_stat s;
	struct ds_read *r = NULL;
	uint64_t want_end;
	uint32_t end = 0;
	struct ds_hdr h;
	uint8_t *buf = NULL;
	size_t readlen;
	char why[80];
	bool have;
	int fd = -1, ret;
	ssize_t n;

	if (offset % GN_BLOCK_SIZE)
		return -EINVAL;
	want_end = length ? (uint64_t)offset + length : GN_CHUNK_SIZE;
	if (offset > GN_CHUNK_SIZE || want_end > GN_CHUNK_SIZE)
		return -EFBIG;
	want_end = (want_end + GN_BLOCK_SIZE - 1) / GN_BLOCK_SIZE * GN_BLOCK_SIZE;
	ret = ds_store_stat_chunk(st, chunk_id, version, &s);
	if (ret)
		return ret;
	buf = get_buf(st);
	if (!buf)
		return -ENOMEM;
	/* A whole uncompressed chunk (the common case) is one pread. */
	readlen = DS_HDR_SIZE;
	if (s.compression == DS_COMP_NONE && offset == 0)
		readlen += GN_MIN(want_end, s.length);
	ret = open_version(st, chunk_id, version, 0, buf, readlen, &fd, &h);
	if (ret < 0)
		goto out;
	n = ret;
	ret = 0;
	end = (uint32_t)GN_MIN(want_end, (uint64_t)h.length);
	if (offset < end) {
		have = h.compression == DS_COMP_NONE && offset == 0 &&
		       (size_t)n >= DS_HDR_SIZE + end;
		ret = read_blocks(st, fd, &h, offset / GN_BLOCK_SIZE,
				  (uint32_t)gn_cksum_count(end), buf, have,
				  why, sizeof(why));
		if (ret == -GN_ERR_CKSUM)
			ds__quarantine(st, chunk_id, version, why);
		if (ret)
			goto out;
	} else {
		end = offset;
	}
	r = xcalloc(1, sizeof(*r));
	r->st = st;
	r->buf = buf;
	r->offset = offset;
	r->chunk_length = h.length;
	r->compression = (uint8_t)h.compression;
	r->data = buf + DS_HDR_SIZE + offset;
	r->len = end - offset;
	r->ncksums = gn_cksum_count(r->len);
	memcpy(r->cksums, h.cksums + offset / GN_BLOCK_SIZE,
	       r->ncksums * sizeof(uint64_t));
out:
	if (fd >= 0)
		close(fd);
	if (ret) {
		put_buf(st, buf);
		return ret;
	}
	*out = r;
	return 0;
}

int ds_store_verify(struct ds_store *st, uint64_t chunk_id, uint64_t version,
		    uint64_t *bytes)
{
	uint8_t *buf, *out = NULL;
	struct ds_hdr h;
	char why[80];
	int fd = -1, ret;
	ssize_t n;

	buf = get_buf(st);
	if (!buf)
		return -ENOMEM;
	/* O_DIRECT so that the disk, not the page cache, is verified. */
	ret = open_version(st, chunk_id, version, O_DIRECT, buf, DS_BUF_SIZE,
			   &fd, &h);
	if (ret < 0)
		goto out;
	n = ret;
	ret = 0;
	posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	if (h.nblocks == 0)
		goto done;
	if ((uint64_t)n < DS_HDR_SIZE + h.data_bytes) {
		snprintf(why, sizeof(why), "file is short");
		ret = -GN_ERR_CKSUM;
	} else if (h.compression == DS_COMP_NONE) {
		ret = decode_blocks(&h, buf + DS_HDR_SIZE, 0, h.nblocks,
				    buf + DS_HDR_SIZE, why, sizeof(why));
	} else {
		out = get_buf(st);
		if (!out) {
			ret = -ENOMEM;
			goto out;
		}
		ret = decode_blocks(&h, buf + DS_HDR_SIZE + h.frame_off[0], 0,
				    h.nblocks, out + DS_HDR_SIZE, why, sizeof(why));
	}
	if (ret == -GN_ERR_CKSUM) {
		close(fd);
		fd = -1;
		ds__quarantine(st, chunk_id, version, why);
		goto out;
	}
done:
	if (bytes)
		*bytes = (uint64_t)n;
out:
	if (fd >= 0)
		close(fd);
	put_buf(st, out);
	put_buf(st, buf);
	return ret;
}
