/*
 * store_read.c - reading versions back: opening a version and the files of
 * the versions it shares blocks with, decoding frames, verifying every
 * block against its checksum, and the scrubber's verify.  See store.h.
 */
#include "config.h"
#include "ds/store_i.h"
#include "common/buf.h"
#include "common/log.h"
#include "common/status.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ------------------------------------------------------------------ */
/* zstd contexts and block buffers, one set per thread                */
/* ------------------------------------------------------------------ */

static pthread_key_t zkey;
static pthread_once_t zonce = PTHREAD_ONCE_INIT;

static void zctx_free(void *p)
{
	struct ds_zctx *z = p;

	ZSTD_freeCCtx(z->c);
	ZSTD_freeDCtx(z->d);
	free(z);
}

static void zkey_init(void)
{
	if (pthread_key_create(&zkey, zctx_free))
		BUG("cannot create thread key");
}

struct ds_zctx *ds__zctx(void)
{
	struct ds_zctx *z;

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
/* Decoding                                                           */
/* ------------------------------------------------------------------ */

/*
 * Decode blocks [b0, b1) of a version described by h into dst (block k at
 * dst + k * GN_BLOCK_SIZE) and verify their checksums.  src holds the
 * frames of those blocks as stored from frame b0 on (src[0] is the first
 * byte of frame b0); they must all lie in one file.  src may equal
 * dst + b0 * BLOCK for frames stored raw at their chunk offsets (then
 * nothing is copied).  Returns 0, or -GN_ERR_CKSUM with why filled in.
 */
static int decode_blocks(const struct ds_hdr *h, const uint8_t *src,
			 uint32_t b0, uint32_t b1, uint8_t *dst,
			 char *why, size_t whylen)
{
	uint32_t base = h->frame_off[b0];

	for (uint32_t k = b0; k < b1; k++) {
		uint32_t blen = ds_block_len(h->length, k);
		const uint8_t *f = src + (h->frame_off[k] - base);
		uint8_t *o = dst + (size_t)k * GN_BLOCK_SIZE;

		if (h->frame_len[k] == blen) {
			if (f != o)
				memcpy(o, f, blen);
		} else {
			size_t r = ZSTD_decompressDCtx(ds__zctx()->d, o, blen,
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
	uint32_t blen = ds_block_len(h->length, k);
	struct ds_zctx *z = ds__zctx();
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

/* ------------------------------------------------------------------ */
/* Opening a version                                                  */
/* ------------------------------------------------------------------ */

int ds__ver_open(struct ds_store *st, uint64_t id, uint64_t version,
		 int flags, void *hdrbuf, size_t readlen, struct ds_ver *v)
{
	char name[40];
	ssize_t n;
	int fd, ret;

	memset(v, 0, sizeof(*v));
	v->st = st;
	v->flags = flags;
	for (uint32_t i = 0; i <= DS_MAX_SRC; i++)
		v->fd[i] = -1;
	ds_chunk_name(name, sizeof(name), id, version);
	fd = openat(st->sub_fd[ds_subdir_of(id)], name, O_RDONLY | O_CLOEXEC | flags);
	if (fd < 0 && flags && errno == EINVAL)
		fd = openat(st->sub_fd[ds_subdir_of(id)], name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ENOENT : -errno;
	n = flags & O_DIRECT ? ds_pread_head(fd, hdrbuf, readlen)
			     : ds_pread_full(fd, hdrbuf, readlen, 0);
	if (n == -EINVAL && (flags & O_DIRECT)) {
		/* Direct I/O refused for this file after all: read through
		 * the page cache (dropped again by the caller). */
		close(fd);
		v->flags = 0;
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
	if (n < DS_HDR_SIZE || ds_hdr_decode(hdrbuf, DS_HDR_SIZE, &v->h) ||
	    v->h.chunk_id != id || v->h.version != version) {
		close(fd);
		ds__quarantine(st, id, version, "damaged header");
		return -GN_ERR_CKSUM;
	}
	v->fd[0] = fd;
	return (int)n;
}

void ds__ver_close(struct ds_ver *v)
{
	for (uint32_t i = 0; v->st && i <= DS_MAX_SRC; i++)
		if (v->fd[i] >= 0)
			close(v->fd[i]);
}

/* The file holding the frames of source i (0: the version itself), or
 * -1 with why filled in when it is gone. */
static int ver_fd(struct ds_ver *v, uint32_t i, char *why, size_t whylen)
{
	if (v->fd[i] < 0 && i > 0) {
		v->fd[i] = ds__open_src(v->st, v->h.chunk_id, v->h.src[i - 1], v->flags);
		if (v->fd[i] < 0) {
			snprintf(why, whylen, "version %" PRIu64 " holding its blocks: %s",
				 v->h.src[i - 1], strerror(-v->fd[i]));
			v->fd[i] = -1;
		}
	}
	return v->fd[i];
}

/* Read the frames of blocks [b0, b1), all in file i, into dst (n bytes
 * expected); a short read is damage. */
static int read_frames(struct ds_ver *v, uint32_t i, uint32_t b0, uint32_t b1,
		       uint8_t *dst, char *why, size_t whylen)
{
	const struct ds_hdr *h = &v->h;
	uint32_t start = h->frame_off[b0];
	uint32_t len = h->frame_off[b1 - 1] + h->frame_len[b1 - 1] - start;
	int fd = ver_fd(v, i, why, whylen);
	ssize_t n;

	if (fd < 0)
		return -GN_ERR_CKSUM;
	n = ds_pread_full(fd, dst, len, DS_HDR_SIZE + start);
	if (n < 0)
		return (int)n;
	if (n != (ssize_t)len) {
		snprintf(why, whylen, "file of version %" PRIu64 " is %zd bytes short",
			 i ? h->src[i - 1] : h->version, (ssize_t)len - n);
		return -GN_ERR_CKSUM;
	}
	return 0;
}

const uint8_t *ds__ver_block(struct ds_ver *v, uint32_t k, int *err,
			     char *why, size_t whylen)
{
	uint8_t *frame = ds__zctx()->frame;
	const uint8_t *o;

	*err = read_frames(v, v->h.blk_src[k], k, k + 1, frame, why, whylen);
	if (*err)
		return NULL;
	o = decode_one(&v->h, frame, k, why, whylen);
	if (!o)
		*err = -GN_ERR_CKSUM;
	return o;
}

/* Whether blocks [b0, b1) are stored raw at their chunk offsets (so they
 * can be read straight into place). */
static bool in_place(const struct ds_hdr *h, uint32_t b0, uint32_t b1)
{
	for (uint32_t k = b0; k < b1; k++)
		if (h->frame_off[k] != k * GN_BLOCK_SIZE ||
		    h->frame_len[k] != ds_block_len(h->length, k))
			return false;
	return true;
}

/*
 * Decode blocks [b0, b1) of v to out + DS_HDR_SIZE (block k at its chunk
 * offset), one run of blocks from the same file at a time.  have: blocks
 * of the version's own file already sit in out (read with the header).
 */
static int ver_read(struct ds_ver *v, uint32_t b0, uint32_t b1, uint8_t *out,
		    bool have, char *why, size_t whylen)
{
	const struct ds_hdr *h = &v->h;
	uint8_t *scratch = NULL;
	int ret = 0;

	for (uint32_t a = b0, b; a < b1 && !ret; a = b) {
		uint32_t i = h->blk_src[a];
		uint8_t *src;

		for (b = a + 1; b < b1 && h->blk_src[b] == i; b++)
			;
		src = out + DS_HDR_SIZE + h->frame_off[a];
		if (!in_place(h, a, b)) {
			if (!scratch && !(scratch = gn_bufpool_get_wait(v->st->pool,
								v->st->buf_wait_ms)))
				return -ENOMEM;
			src = scratch;
		}
		if (!(have && i == 0 && src != scratch))
			ret = read_frames(v, i, a, b, src, why, whylen);
		if (!ret)
			ret = decode_blocks(h, src, a, b, out + DS_HDR_SIZE, why, whylen);
	}
	if (scratch)
		gn_bufpool_put(v->st->pool, scratch);
	return ret;
}

/* ------------------------------------------------------------------ */
/* Reading                                                            */
/* ------------------------------------------------------------------ */

void ds_read_free(struct ds_read *r)
{
	if (!r)
		return;
	gn_bufpool_put(r->st->pool, r->buf);
	free(r);
}

/* A version found damaged while reading it: quarantined and reported,
 * unless it was deleted meanwhile (then its sources may have gone with
 * it, and it is simply not here). */
static int damaged(struct ds_store *st, uint64_t id, uint64_t version,
		   const char *why)
{
	return ds__quarantine(st, id, version, why) == -ENOENT ? -ENOENT
								: -GN_ERR_CKSUM;
}

int ds_store_read(struct ds_store *st, uint64_t chunk_id, uint64_t version,
		  uint32_t offset, uint32_t length, struct ds_read **out)
{
	struct ds_chunk_stat s;
	struct ds_read *r = NULL;
	uint64_t want_end;
	uint32_t end = 0;
	struct ds_ver v = { .st = NULL };
	uint8_t *buf = NULL;
	size_t readlen;
	char why[120];
	bool have;
	int ret;
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
	buf = gn_bufpool_get_wait(st->pool, st->buf_wait_ms);
	if (!buf)
		return -ENOMEM;
	/* A whole uncompressed chunk (the common case) is one pread. */
	readlen = DS_HDR_SIZE;
	if (s.compression == DS_COMP_NONE && s.nsrc == 0 && offset == 0)
		readlen += GN_MIN(want_end, s.length);
	ret = ds__ver_open(st, chunk_id, version, 0, buf, readlen, &v);
	if (ret < 0)
		goto out;
	n = ret;
	ret = 0;
	end = (uint32_t)GN_MIN(want_end, (uint64_t)v.h.length);
	if (offset < end) {
		have = offset == 0 && (size_t)n >= DS_HDR_SIZE + end;
		ret = ver_read(&v, offset / GN_BLOCK_SIZE,
			       (uint32_t)gn_cksum_count(end), buf, have,
			       why, sizeof(why));
		if (ret == -GN_ERR_CKSUM)
			ret = damaged(st, chunk_id, version, why);
		if (ret)
			goto out;
	} else {
		end = offset;
	}
	r = xcalloc(1, sizeof(*r));
	r->st = st;
	r->buf = buf;
	r->offset = offset;
	r->chunk_length = v.h.length;
	r->compression = (uint8_t)v.h.compression;
	r->data = buf + DS_HDR_SIZE + offset;
	r->len = end - offset;
	r->ncksums = gn_cksum_count(r->len);
	memcpy(r->cksums, v.h.cksums + offset / GN_BLOCK_SIZE,
	       r->ncksums * sizeof(uint64_t));
out:
	ds__ver_close(&v);
	if (ret) {
		gn_bufpool_put(st->pool, buf);
		return ret;
	}
	*out = r;
	return 0;
}

/* Verify the blocks of v that file i holds, from that file's image (its
 * data read whole into img, n bytes). */
static int verify_file(const struct ds_ver *v, uint32_t i, const uint8_t *img,
		       size_t n, char *why, size_t whylen)
{
	const struct ds_hdr *h = &v->h;

	for (uint32_t k = 0; k < h->nblocks; k++) {
		if (h->blk_src[k] != i)
			continue;
		if ((uint64_t)h->frame_off[k] + h->frame_len[k] > n) {
			snprintf(why, whylen, "file of block %u is short", k);
			return -GN_ERR_CKSUM;
		}
		if (!decode_one(h, img + h->frame_off[k], k, why, whylen))
			return -GN_ERR_CKSUM;
	}
	return 0;
}

/*
 * The scrubber's check: every block of the version, from the disk
 * (O_DIRECT), through whichever file holds it.  Each file is read whole
 * into buf, page aligned, as O_DIRECT wants.
 */
int ds_store_verify(struct ds_store *st, uint64_t chunk_id, uint64_t version,
		    uint64_t *bytes)
{
	struct ds_ver v = { .st = NULL };
	uint64_t total = 0;
	uint8_t *buf;
	char why[120];
	int ret;
	ssize_t n;

	buf = gn_bufpool_get_wait(st->pool, st->buf_wait_ms);
	if (!buf)
		return -ENOMEM;
	ret = ds__ver_open(st, chunk_id, version, O_DIRECT, buf, DS_BUF_SIZE, &v);
	if (ret < 0)
		goto out;
	n = ret;
	ret = 0;
	for (uint32_t i = 0; i <= v.h.nsrc && !ret; i++) {
		int fd = ver_fd(&v, i, why, sizeof(why));

		if (fd < 0) {
			ret = -GN_ERR_CKSUM;
			break;
		}
		if (i > 0)
			n = ds_pread_head(fd, buf, DS_BUF_SIZE);
		if (n < 0) {
			ret = (int)n;
			break;
		}
		posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
		total += (uint64_t)n;
		n = n > DS_HDR_SIZE ? n - DS_HDR_SIZE : 0;
		ret = verify_file(&v, i, buf + DS_HDR_SIZE, (size_t)n, why, sizeof(why));
	}
	ds__ver_close(&v);
	if (ret == -GN_ERR_CKSUM)
		ret = damaged(st, chunk_id, version, why);
	if (!ret && bytes)
		*bytes = total;
out:
	gn_bufpool_put(st->pool, buf);
	return ret;
}
