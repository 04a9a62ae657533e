/*
 * store_io.c - writing versions (prepare: validate, copy, verify the
 * client's checksums; commit: take unchanged blocks from the base or merge
 * with it, compress, write, sync, publish).  Reading is in store_read.c.
 * See store.h.
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
/* Helpers                                                            */
/* ------------------------------------------------------------------ */

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

/* Write the regions runs (nruns (offset, length) pairs, ascending; the
 * same offsets in img and in the file) to a new file tmp of subdir sub,
 * and sync it.  *bytes gets the bytes written. */
static int write_file(struct ds_store *st, int sub, const char *tmp,
		      uint8_t *img, uint32_t *runs, size_t nruns, uint64_t *bytes)
{
	uint32_t *last = &runs[2 * nruns - 1];
	bool direct;
	int fd, ret = 0;

	fd = open_tmp(st, sub, tmp, &direct);
	if (fd < 0)
		return fd;
	if (direct) {
		/* O_DIRECT wants whole pages: pad the last region with zeros
		 * to 4 KiB (the image buffer has room up to DS_BUF_SIZE; the
		 * others end on a block boundary). */
		uint32_t end = runs[2 * nruns - 2] + *last;
		uint32_t padded = (end + DS_HDR_SIZE - 1) / DS_HDR_SIZE * DS_HDR_SIZE;

		memset(img + end, 0, padded - end);
		*last += padded - end;
	}
	*bytes = 0;
	for (size_t i = 0; i < nruns && !ret; i++) {
		size_t done = 0, len = runs[2 * i + 1];
		off_t off = runs[2 * i];

		while (done < len) {
			ssize_t n = pwrite(fd, img + off + done, len - done, off + (off_t)done);

			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && errno == EINVAL && direct && *bytes == 0 && done == 0) {
				/* The file system takes O_DIRECT at open but
				 * not this alignment: write through the page
				 * cache from now on. */
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
				break;
			}
			done += (size_t)n;
		}
		*bytes += done;
	}
	if (!ret && fdatasync(fd))
		ret = -errno;
	if (close(fd) && !ret)
		ret = -errno;
	return ret;
}

/*
 * Publish the synced file tmp as version s (taking blocks from h's
 * sources) unless a newer version of the chunk appeared meanwhile (allowed
 * for a copy).  A copy of a version that newer ones here take blocks from
 * is not needed (that very file is here) and is dropped; a copy of a kept
 * one is refused, as its name is taken.  Returns 0 with *s set to what is
 * stored, or -errno.
 */
static int publish(struct ds_store *st, const struct ds_hdr *h, const char *tmp,
		   bool copy, struct ds_chunk_stat *s)
{
	pthread_mutex_t *stripe = &st->stripe[h->chunk_id % DS_NSTRIPES];
	int sub = ds_subdir_of(h->chunk_id), ret = 0;
	struct ds_idx_ent *old;
	bool drop = false;
	char name[40];

	ds_chunk_name(name, sizeof(name), h->chunk_id, h->version);
	pthread_mutex_lock(stripe);
	pthread_mutex_lock(&st->lock);
	old = ds_index_ent(&st->ix, h->chunk_id, h->version);
	if (!copy && ds_index_max_version(&st->ix, h->chunk_id) > h->version)
		ret = -GN_ERR_STALE_VERSION;
	else if (old && old->kept)
		ret = -GN_ERR_STALE_VERSION;
	else if (old && old->refs)
		drop = true;
	else
		ret = ds__pin_src(st, h->chunk_id, h->nsrc, h->src);
	if (drop)
		*s = old->s;
	pthread_mutex_unlock(&st->lock);
	if (!ret && !drop && renameat(st->sub_fd[sub], tmp, st->sub_fd[sub], name)) {
		ret = -errno;
		pthread_mutex_lock(&st->lock);
		ds__unpin_src(st, h->chunk_id, h->nsrc, h->src);
		pthread_mutex_unlock(&st->lock);
	}
	if (!ret && !drop) {
		pthread_mutex_lock(&st->lock);
		old = ds_index_ent(&st->ix, h->chunk_id, h->version);
		if (old)	/* the same version again: an idempotent retry */
			ds__retire(st, old, false);
		ds_index_put(&st->ix, s, h->src);
		pthread_mutex_unlock(&st->lock);
	}
	pthread_mutex_unlock(stripe);
	if (drop)
		unlinkat(st->sub_fd[sub], tmp, 0);
	if (ret)
		return ret;
	/* The rename is durable only once the directory is. */
	if (!drop && fsync(st->sub_fd[sub])) {
		log_err("cannot sync chunk directory of '%s': %s", name, strerror(errno));
		return -errno;
	}
	return 0;
}

/* Write the image img of version h (the file regions in runs, see
 * write_file) under a temporary name, sync it and publish it. */
static int write_version(struct ds_store *st, const struct ds_hdr *h,
			 uint8_t *img, uint32_t *runs, size_t nruns, bool copy,
			 struct ds_chunk_stat *stat)
{
	int sub = ds_subdir_of(h->chunk_id), ret;
	uint64_t size = 0, seq;
	struct ds_chunk_stat s;
	struct statvfs sv;
	char tmp[64];

	for (size_t i = 0; i < nruns; i++)
		size += runs[2 * i + 1];
	if (fstatvfs(st->dir_fd, &sv))
		return -errno;
	if ((uint64_t)sv.f_bavail * sv.f_frsize < size + st->reserve)
		return -ENOSPC;
	seq = __atomic_add_fetch(&st->tmp_seq, 1, __ATOMIC_RELAXED);
	snprintf(tmp, sizeof(tmp), "%016" PRIx64 ".%016" PRIx64 ".tmp.%" PRIu64,
		 h->chunk_id, h->version, seq);
	ret = write_file(st, sub, tmp, img, runs, nruns, &size);
	if (!ret) {
		s.chunk_id = h->chunk_id;
		s.version = h->version;
		s.length = h->length;
		s.compression = (uint8_t)h->compression;
		s.digest = h->digest;
		s.stored_bytes = size;
		s.nsrc = (uint8_t)h->nsrc;
		ret = publish(st, h, tmp, copy, &s);
	}
	if (ret) {
		unlinkat(st->sub_fd[sub], tmp, 0);
		return ret == -EDQUOT ? -ENOSPC : ret;
	}
	if (stat)
		*stat = s;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Building the new version                                           */
/* ------------------------------------------------------------------ */

/* Bit k set: the payload touches block k. */
static uint64_t touched_blocks(const struct ds_wbuf *w)
{
	uint64_t m = 0;

	for (uint32_t i = 0; i < w->next; i++) {
		uint32_t k0 = w->ext[2 * i] / GN_BLOCK_SIZE;
		uint32_t k1 = (w->ext[2 * i] + w->ext[2 * i + 1] - 1) / GN_BLOCK_SIZE;

		for (uint32_t k = k0; k <= k1; k++)
			m |= (uint64_t)1 << k;
	}
	return m;
}

/* Which version's file holds block k of the base. */
static uint64_t base_holder(const struct ds_ver *base, uint32_t k)
{
	uint32_t i = base->h.blk_src[k];

	return i ? base->h.src[i - 1] : base->h.version;
}

/*
 * Decide which blocks the new version h stores itself ("own": returned as
 * a bit mask) and which it takes from the files holding them in the base
 * (a partial update).  A block can be taken when the payload leaves it
 * alone and it is the base's block unchanged: below the base bytes kept
 * (bl) and of the same length.  Sharing is used only when it saves most
 * of the copy (at most half the blocks own) and the new version would
 * name at most DS_MAX_SRC files; otherwise every block is own and the
 * version is whole.  Fills h's source list, and the frames and checksums
 * of the blocks taken.
 */
static uint64_t plan_blocks(const struct ds_wbuf *w, const struct ds_ver *base,
			    uint32_t bl, struct ds_hdr *h)
{
	uint32_t nb = h->nblocks, nown = 0, n = 0;
	uint64_t touched = touched_blocks(w), own = 0, src[GN_BLOCKS_PER_CHUNK];

	for (uint32_t k = 0; k < nb; k++) {
		uint32_t e = k * GN_BLOCK_SIZE + ds_block_len(h->length, k);

		if (!bl || (touched >> k & 1) || e > bl ||
		    ds_block_len(base->h.length, k) != ds_block_len(h->length, k)) {
			own |= (uint64_t)1 << k;
			nown++;
		}
	}
	if (nown == nb || nown * 2 > nb || w->req.copy)
		return nb ? ~(uint64_t)0 >> (64 - nb) : 0;
	/* The files to name: each block's holder in the base, ascending
	 * (versions are older the further down the list, so an insertion
	 * sort over at most DS_MAX_SRC + 1 entries). */
	for (uint32_t k = 0; k < nb; k++) {
		uint64_t v = base_holder(base, k);
		uint32_t j = 0;

		if (own >> k & 1)
			continue;
		while (j < n && src[j] < v)
			j++;
		if (j < n && src[j] == v)
			continue;
		if (n == DS_MAX_SRC)
			return ~(uint64_t)0 >> (64 - nb);
		memmove(src + j + 1, src + j, (n - j) * sizeof(src[0]));
		src[j] = v;
		n++;
	}
	h->nsrc = n;
	memcpy(h->src, src, n * sizeof(src[0]));
	for (uint32_t k = 0; k < nb; k++) {
		uint32_t j = 0;

		if (own >> k & 1)
			continue;
		while (src[j] != base_holder(base, k))
			j++;
		h->blk_src[k] = (uint8_t)(j + 1);
		h->frame_off[k] = base->h.frame_off[k];
		h->frame_len[k] = base->h.frame_len[k];
		h->cksums[k] = base->h.cksums[k];
	}
	return own;
}

/*
 * Fill the bytes of w's own blocks that the payload does not cover: the
 * base's below bl (read and verified block by block from whichever file
 * holds it), zeros from there on.  Blocks taken from the base are not
 * read at all.
 */
static int fill_gaps(struct ds_wbuf *w, struct ds_ver *base, uint32_t bl,
		     uint64_t own)
{
	uint8_t *d = w->buf + DS_HDR_SIZE;
	const uint8_t *blk = NULL;
	uint32_t pos = 0, have_k = UINT32_MAX;
	char why[120];
	int err;

	for (uint32_t i = 0; i <= w->next; i++) {
		uint32_t gap_end = i < w->next ? w->ext[2 * i] : w->req.chunk_length;

		while (pos < gap_end) {
			uint32_t k = pos / GN_BLOCK_SIZE;
			uint32_t e = GN_MIN((k + 1) * GN_BLOCK_SIZE, gap_end);
			uint32_t top = GN_MIN(e, GN_MAX(pos, bl));

			if (own >> k & 1) {
				if (pos < top && have_k != k) {
					blk = ds__ver_block(base, k, &err, why, sizeof(why));
					if (!blk) {
						/* A damaged base is quarantined (and
						 * reported); for the client it is then
						 * not here: -ENOENT makes it send the
						 * whole chunk, which needs no base. */
						if (err == -GN_ERR_CKSUM)
							ds__quarantine(w->st, w->req.chunk_id,
								       w->req.base_version, why);
						return err == -GN_ERR_CKSUM ? -ENOENT : err;
					}
					have_k = k;
				}
				if (pos < top)
					memcpy(d + pos, blk + (pos - k * GN_BLOCK_SIZE), top - pos);
				memset(d + top, 0, e - top);
			}
			pos = e;
		}
		if (i < w->next)
			pos = w->ext[2 * i] + w->ext[2 * i + 1];
	}
	return 0;
}

/*
 * Checksums of the own blocks of the new version.  A block that is exactly
 * one of the payload's pieces already has its (verified) checksum; only
 * the others are computed, so a whole-chunk write hashes its bytes once.
 */
static void own_cksums(const struct ds_wbuf *w, uint64_t own, struct ds_hdr *h)
{
	const uint8_t *d = w->buf + DS_HDR_SIZE;

	for (uint32_t k = 0; k < h->nblocks; k++) {
		if (!(own >> k & 1))
			continue;
		if (w->blk_known & ((uint64_t)1 << k))
			h->cksums[k] = w->blk_ck[k];
		else
			h->cksums[k] = gn_cksum(d + (size_t)k * GN_BLOCK_SIZE,
						ds_block_len(h->length, k));
	}
}

/* Compress the own blocks of d into img + DS_HDR_SIZE, frame by frame,
 * packed in block order, filling their frame table; returns the data
 * bytes. */
static size_t compress_frames(struct ds_store *st, struct ds_hdr *h,
			      uint64_t own, const uint8_t *d, uint8_t *img)
{
	struct ds_zctx *z = ds__zctx();
	uint8_t *o = img + DS_HDR_SIZE;
	uint32_t pos = 0;

	for (uint32_t k = 0; k < h->nblocks; k++) {
		uint32_t blen = ds_block_len(h->length, k);
		size_t r;

		if (!(own >> k & 1))
			continue;
		/* Keep a frame only when it saves at least 1/16: below that
		 * the decompression costs more than the bytes saved. */
		r = ZSTD_compressCCtx(z->c, o + pos, blen - blen / 16,
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

/* Lay out the own blocks of an uncompressed version at their chunk
 * offsets; the file regions to write, as (offset, length) pairs in runs
 * (room for GN_BLOCKS_PER_CHUNK + 1), the header first.  Returns the
 * number of runs. */
static size_t place_frames(struct ds_hdr *h, uint64_t own, uint32_t *runs)
{
	size_t n = 1;

	runs[0] = 0;
	runs[1] = DS_HDR_SIZE;
	h->data_bytes = 0;
	for (uint32_t k = 0; k < h->nblocks; k++) {
		uint32_t off = k * GN_BLOCK_SIZE, blen = ds_block_len(h->length, k);

		if (!(own >> k & 1))
			continue;
		h->frame_off[k] = off;
		h->frame_len[k] = blen;
		h->data_bytes = off + blen;
		if (runs[2 * n - 2] + runs[2 * n - 1] == DS_HDR_SIZE + off) {
			runs[2 * n - 1] += blen;
		} else {
			runs[2 * n] = DS_HDR_SIZE + off;
			runs[2 * n + 1] = blen;
			n++;
		}
	}
	return n;
}

int ds_store_commit(struct ds_store *st, struct ds_wbuf *w,
		    struct ds_chunk_stat *stat)
{
	const struct ds_write_req *r = &w->req;
	uint8_t *img = w->buf, *scratch = NULL, hdrbuf[DS_HDR_SIZE];
	struct ds_ver base = { .st = NULL };	/* not open */
	uint32_t bl = 0, runs[2 * (GN_BLOCKS_PER_CHUNK + 1)];
	size_t nruns;
	uint64_t own;
	struct ds_hdr h;
	int ret = 0;

	if (w->committed)
		return -EINVAL;
	w->committed = true;
	if (r->base_version && r->base_length && r->chunk_length) {
		ret = ds__ver_open(st, r->chunk_id, r->base_version, 0, hdrbuf,
				   DS_HDR_SIZE, &base);
		if (ret < 0)
			goto out;
		ret = 0;
		bl = GN_MIN(GN_MIN(r->base_length, r->chunk_length), base.h.length);
	}

	memset(&h, 0, sizeof(h));
	h.chunk_id = r->chunk_id;
	h.version = r->version;
	h.length = r->chunk_length;
	h.compression = r->compression;
	h.nblocks = (uint32_t)gn_cksum_count(h.length);
	own = plan_blocks(w, &base, bl, &h);
	ret = fill_gaps(w, &base, bl, own);
	if (ret)
		goto out;
	own_cksums(w, own, &h);
	h.digest = gn_cksum_digest(h.cksums, h.nblocks);
	if (r->compression == DS_COMP_NONE) {
		nruns = place_frames(&h, own, runs);
	} else {
		scratch = get_buf(st);
		if (!scratch) {
			ret = -ENOMEM;
			goto out;
		}
		img = scratch;
		h.data_bytes = compress_frames(st, &h, own, w->buf + DS_HDR_SIZE, img);
		runs[0] = 0;
		runs[1] = (uint32_t)(DS_HDR_SIZE + h.data_bytes);
		nruns = 1;
	}
	ds_hdr_encode(&h, img);
	ret = write_version(st, &h, img, runs, nruns, r->copy, stat);
out:
	ds__ver_close(&base);
	put_buf(st, scratch);
	/* A damaged base header was quarantined: the client sends the whole
	 * chunk, as for a missing base. */
	return ret == -GN_ERR_CKSUM ? -ENOENT : ret;
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
