/* check_ds_store.c - the data server's chunk store on a temporary dir */
#include "config.h"
#include "ds/store.h"
#include "ds/store_i.h"
#include "common/cksum.h"
#include "common/log.h"
#include "common/status.h"
#include "common/util.h"

#include "t/unit/unit.h"

#include <check.h>
#include <stdbool.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MiB (1u << 20)
#define BS GN_BLOCK_SIZE

static char dir[64];
static struct ds_store *st;
static int nbad;
static uint64_t bad_id, bad_ver;
static bool buffered;	/* write through the page cache, not O_DIRECT */

static void on_bad(void *arg, uint64_t id, uint64_t ver, const char *why)
{
	nbad++;
	bad_id = id;
	bad_ver = ver;
}

static int open_store(uint64_t reserve)
{
	struct ds_store_opts o = {
		.dir = dir, .reserve = reserve, .nbufs = 8, .buf_wait_ms = 2000,
		.on_bad = on_bad, .buffered_io = buffered,
	};
	return ds_store_open(&o, &st);
}

static void setup(void)
{
	strcpy(dir, "/tmp/check_ds_store.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	nbad = 0;
	ck_assert_int_eq(open_store(0), 0);
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
	return remove(p);
}

static void teardown(void)
{
	ds_store_close(st);
	st = NULL;
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void fill_random(void *p, size_t len, unsigned seed)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
	unsigned char *c = p;

	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		c[i] = (unsigned char)x;
	}
}

/* Text-like bytes that zstd compresses well. */
static void fill_text(void *p, size_t len, unsigned seed)
{
	static const char *words[] = { "gannet ", "chunk ", "replica ",
		"version ", "checksum ", "data ", "server\n" };
	char *c = p;
	size_t i = 0, w = seed;

	while (i < len) {
		const char *s = words[w++ % 7];
		for (; *s && i < len; s++)
			c[i++] = *s;
		w = w * 31 + 7;
	}
}

/* Write data[0..len) at offset as a new version over base. */
static int put(uint64_t id, uint64_t ver, uint64_t base, uint32_t base_len,
	       uint32_t off, uint32_t chunk_len, const void *data, size_t len,
	       int comp, struct ds_chunk_stat *s)
{
	uint64_t ck[GN_BLOCKS_PER_CHUNK + 1];	/* + 1: tests of oversize data */
	struct ds_write_req r = {
		.chunk_id = id, .version = ver, .base_version = base,
		.base_length = base_len, .offset = off, .chunk_length = chunk_len,
		.cksums = ck, .ncksums = gn_cksum_blocks(data, len, ck),
		.compression = comp,
	};
	return ds_store_write(st, &r, data, len, s);
}

static int put_full(uint64_t id, uint64_t ver, const void *data, size_t len, int comp)
{
	return put(id, ver, 0, 0, 0, (uint32_t)len, data, len, comp, NULL);
}

/* Read [off, off+len) and compare with expect (whole returned range). */
static void expect_read(uint64_t id, uint64_t ver, uint32_t off, uint32_t len,
			const unsigned char *chunk, uint32_t chunk_len)
{
	struct ds_read *r = NULL;
	uint32_t end;
	uint64_t ck[GN_BLOCKS_PER_CHUNK];

	ck_assert_int_eq(ds_store_read(st, id, ver, off, len, &r), 0);
	end = len ? off + len : chunk_len;
	end = (end + BS - 1) / BS * BS;
	if (end > chunk_len)
		end = chunk_len;
	if (off > end)
		end = off;
	ck_assert_uint_eq(r->offset, off);
	ck_assert_uint_eq(r->chunk_length, chunk_len);
	ck_assert_uint_eq(r->len, end - off);
	ck_assert_int_eq(memcmp(r->data, chunk + off, r->len), 0);
	ck_assert_uint_eq(r->ncksums, gn_cksum_blocks(chunk + off, r->len, ck));
	ck_assert_int_eq(memcmp(r->cksums, ck, r->ncksums * 8), 0);
	ds_read_free(r);
}

static char *chunk_path(uint64_t id, uint64_t ver)
{
	static char p[256];

	snprintf(p, sizeof(p), "%s/chunks/%02x/%016" PRIx64 ".%016" PRIx64,
		 dir, (unsigned)(id & 0xff), id, ver);
	return p;
}

static int count_files(const char *sub)
{
	char p[256];
	struct dirent *de;
	int n = 0;
	DIR *d;

	snprintf(p, sizeof(p), "%s/%s", dir, sub);
	d = opendir(p);
	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static void flip_byte(const char *path, off_t off);

static unsigned char *xbuf(size_t n)
{
	unsigned char *p = malloc(n ? n : 1);

	ck_assert_ptr_nonnull(p);
	return p;
}

START_TEST(test_write_read_full)
{
	unsigned char *a = xbuf(4 * MiB);
	struct ds_chunk_stat s;
	uint64_t ck[GN_BLOCKS_PER_CHUNK];

	/* Both write paths: O_DIRECT (where the file system allows it), and
	 * through the page cache. */
	if (_i) {
		ds_store_close(st);
		buffered = true;
		ck_assert_int_eq(open_store(0), 0);
		buffered = false;
	}
	fill_random(a, 4 * MiB, 1);
	ck_assert_int_eq(put(7, 1, 0, 0, 0, 4 * MiB, a, 4 * MiB, 0, &s), 0);
	ck_assert_uint_eq(s.length, 4 * MiB);
	gn_cksum_blocks(a, 4 * MiB, ck);
	ck_assert_uint_eq(s.digest, gn_cksum_digest(ck, 64));
	ck_assert_uint_eq(s.stored_bytes, 4 * MiB + 4096);
	expect_read(7, 1, 0, 0, a, 4 * MiB);
	expect_read(7, 1, 2 * BS, 100, a, 4 * MiB);
	expect_read(7, 1, 63 * BS, 0, a, 4 * MiB);
	expect_read(7, 1, 4 * MiB, 0, a, 4 * MiB);	/* empty, at the end */

	/* An odd length: the last block is short. */
	ck_assert_int_eq(put_full(8, 3, a, 3 * BS + 17, 0), 0);
	expect_read(8, 3, 0, 0, a, 3 * BS + 17);
	expect_read(8, 3, 3 * BS, 0, a, 3 * BS + 17);
	expect_read(8, 3, 2 * BS, BS + 1, a, 3 * BS + 17);
	/* Empty version. */
	ck_assert_int_eq(put_full(9, 1, a, 0, 0), 0);
	expect_read(9, 1, 0, 0, a, 0);
	free(a);
}
END_TEST

START_TEST(test_bad_args)
{
	unsigned char *a = xbuf(4 * MiB + 1);
	struct ds_read *r;
	uint64_t ck[GN_BLOCKS_PER_CHUNK + 1];
	struct ds_write_req req = { .chunk_id = 1, .version = 1, .cksums = ck };

	fill_random(a, 4 * MiB + 1, 2);
	ck_assert_int_eq(put_full(1, 1, a, 4 * MiB + 1, 0), -EFBIG);
	ck_assert_int_eq(put(1, 1, 0, 0, 4 * MiB, 4 * MiB + 10, a, 10, 0, NULL), -EFBIG);
	ck_assert_int_eq(put(1, 1, 0, 0, 100, 50, a, 10, 0, NULL), -EINVAL);
	ck_assert_int_eq(put(0, 1, 0, 0, 0, 10, a, 10, 0, NULL), -EINVAL);
	ck_assert_int_eq(put(1, 0, 0, 0, 0, 10, a, 10, 0, NULL), -EINVAL);
	ck_assert_int_eq(put(1, 2, 2, 0, 0, 10, a, 10, 0, NULL), -EINVAL);
	ck_assert_int_eq(put(1, 1, 0, 0, 0, 10, a, 10, 5, NULL), -EINVAL);
	/* Wrong number of checksums. */
	req.chunk_length = 2 * BS;
	req.ncksums = 1;
	gn_cksum_blocks(a, 2 * BS, ck);
	ck_assert_int_eq(ds_store_write(st, &req, a, 2 * BS, NULL), -EINVAL);
	req.ncksums = 2;
	ck_assert_int_eq(ds_store_write(st, &req, a, 2 * BS, NULL), 0);

	ck_assert_int_eq(ds_store_read(st, 1, 1, 100, 0, &r), -EINVAL);
	ck_assert_int_eq(ds_store_read(st, 1, 1, 4 * MiB + BS, 0, &r), -EFBIG);
	ck_assert_int_eq(ds_store_read(st, 1, 1, BS, 4 * MiB, &r), -EFBIG);
	ck_assert_int_eq(ds_store_read(st, 1, 2, 0, 0, &r), -ENOENT);
	ck_assert_int_eq(ds_store_read(st, 99, 1, 0, 0, &r), -ENOENT);
	ck_assert_int_eq(ds_store_delete(st, 99, 0), -ENOENT);
	free(a);
}
END_TEST

START_TEST(test_client_cksum_refused)
{
	unsigned char *a = xbuf(3 * BS);
	uint64_t ck[3];
	struct ds_write_req r = { .chunk_id = 5, .version = 1,
		.chunk_length = 3 * BS, .cksums = ck, .ncksums = 3 };
	struct ds_chunk_stat s;

	fill_random(a, 3 * BS, 3);
	gn_cksum_blocks(a, 3 * BS, ck);
	a[2 * BS + 5] ^= 1;	/* corrupted in transit */
	ck_assert_int_eq(ds_store_write(st, &r, a, 3 * BS, NULL), -GN_ERR_CKSUM);
	ck_assert_int_eq(ds_store_stat_chunk(st, 5, 1, &s), -ENOENT);
	ck_assert_int_eq(count_files("chunks/05"), 0);
	free(a);
}
END_TEST

START_TEST(test_partial_update_cow)
{
	unsigned char *a = xbuf(4 * MiB), *b = xbuf(4 * MiB), *p = xbuf(300000);
	int comp = _i;	/* none, then zstd */

	if (comp)
		fill_text(a, 4 * MiB, 4);
	else
		fill_random(a, 4 * MiB, 4);
	fill_random(p, 300000, 5);
	ck_assert_int_eq(put_full(11, 1, a, 4 * MiB, comp), 0);

	/* v2: v1 with 5000 bytes replaced in the middle of a block. */
	memcpy(b, a, 4 * MiB);
	memcpy(b + 100000, p, 5000);
	ck_assert_int_eq(put(11, 2, 1, 4 * MiB, 100000, 4 * MiB, p, 5000, comp, NULL), 0);
	expect_read(11, 2, 0, 0, b, 4 * MiB);
	expect_read(11, 1, 0, 0, a, 4 * MiB);	/* the old version is intact */

	/* v3 over v2: base cut at 1 MiB, a hole of zeros, data, zeros. */
	memset(b + MiB, 0, 3 * MiB);
	memcpy(b + 2 * MiB + 3, p, 300000);
	ck_assert_int_eq(put(11, 3, 2, MiB, 2 * MiB + 3, 3 * MiB, p, 300000, comp, NULL), 0);
	expect_read(11, 3, 0, 0, b, 3 * MiB);
	expect_read(11, 3, 2 * MiB, 70000, b, 3 * MiB);

	/* v4 over v3 (3 MiB long): base_length past its end reads as zeros. */
	memcpy(b + 4 * MiB - 10, p, 10);
	ck_assert_int_eq(put(11, 4, 3, 4 * MiB, 4 * MiB - 10, 4 * MiB, p, 10, comp, NULL), 0);
	expect_read(11, 4, 0, 0, b, 4 * MiB);

	/* A base that is not here. */
	ck_assert_int_eq(put(11, 6, 5, MiB, 0, MiB, p, 10, comp, NULL), -ENOENT);
	/* A damaged base block the update needs counts as not here (and is
	 * quarantined). */
	ck_assert_int_eq(put_full(12, 1, a, MiB, comp), 0);
	flip_byte(chunk_path(12, 1), 4096 + 10);
	ck_assert_int_eq(put(12, 2, 1, MiB, 100, MiB, p, 10, comp, NULL), -ENOENT);
	ck_assert_int_eq(nbad, 1);
	ck_assert(!ds_store_has_chunk(st, 12));
	/* The payload hides the whole base. */
	ck_assert_int_eq(put(11, 7, 4, 1000, 0, 2000, p, 2000, comp, NULL), 0);
	expect_read(11, 7, 0, 0, p, 2000);
	free(a);
	free(b);
	free(p);
}
END_TEST

/* Write the ranges ext (n pairs) of chunk (bytes at their chunk offsets)
 * as one new version over base. */
static int put_ranges(uint64_t id, uint64_t ver, uint64_t base, uint32_t base_len,
		      uint32_t chunk_len, const unsigned char *chunk,
		      const uint32_t *ext, size_t n, int comp)
{
	static uint64_t ck[GN_WRITE_EXTENTS_MAX + GN_BLOCKS_PER_CHUNK];
	unsigned char *flat = xbuf(GN_CHUNK_SIZE);
	size_t len = 0, nck = 0;
	int ret;

	for (size_t i = 0; i < n; i++) {
		memcpy(flat + len, chunk + ext[2 * i], ext[2 * i + 1]);
		nck += gn_cksum_blocks(flat + len, ext[2 * i + 1], ck + nck);
		len += ext[2 * i + 1];
	}
	struct ds_write_req r = {
		.chunk_id = id, .version = ver, .base_version = base,
		.base_length = base_len, .chunk_length = chunk_len,
		.extents = ext, .nextents = n, .cksums = ck, .ncksums = nck,
		.compression = comp,
	};
	ret = ds_store_write(st, &r, flat, len, NULL);
	free(flat);
	return ret;
}

/* Random writes into one chunk go out as one version holding every range:
 * the bytes between the ranges are the base's, or zeros past it. */
START_TEST(test_ranges)
{
	unsigned char *a = xbuf(4 * MiB), *b = xbuf(4 * MiB), *p = xbuf(4 * MiB);
	uint32_t ext[2 * GN_WRITE_EXTENTS_MAX + 2] = { 0 };	/* + 2: one too many */
	int comp = _i;	/* none, then zstd */
	size_t n = 0;

	if (comp)
		fill_text(a, 4 * MiB, 6);
	else
		fill_random(a, 4 * MiB, 6);
	fill_random(p, 4 * MiB, 7);
	ck_assert_int_eq(put_full(30, 1, a, 3 * MiB, comp), 0);

	/* 4 KiB pieces here and there, one spanning two blocks, a whole
	 * aligned block, and one past the base's end. */
	memset(b, 0, 4 * MiB);
	memcpy(b, a, 3 * MiB);
	uint32_t at[][2] = { { 0, 4096 }, { 8192, 100 }, { BS - 2048, 4096 },
			     { 3 * BS, BS }, { MiB + 7, 4096 },
			     { 3 * MiB - 10, 20 }, { 3 * MiB + 4096, 4096 } };
	for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		ext[2 * n] = at[i][0];
		ext[2 * n + 1] = at[i][1];
		memcpy(b + at[i][0], p + at[i][0], at[i][1]);
		n++;
	}
	ck_assert_int_eq(put_ranges(30, 2, 1, 3 * MiB, 4 * MiB, b, ext, n, comp), 0);
	expect_read(30, 2, 0, 0, b, 4 * MiB);
	expect_read(30, 1, 0, 0, a, 3 * MiB);	/* the old version is intact */

	/* The most ranges allowed, on a new chunk (no base: zeros between). */
	memset(b, 0, 4 * MiB);
	for (n = 0; n < GN_WRITE_EXTENTS_MAX; n++) {
		ext[2 * n] = (uint32_t)n * 8192;
		ext[2 * n + 1] = 4096;
		memcpy(b + n * 8192, p + n * 8192, 4096);
	}
	ck_assert_int_eq(put_ranges(31, 1, 0, 0, 4 * MiB, b, ext, n, comp), 0);
	expect_read(31, 1, 0, 0, b, 4 * MiB);

	/* Bad ranges: refused, nothing stored. */
	uint32_t overlap[] = { 0, 4096, 4000, 100 };
	uint32_t empty[] = { 0, 4096, 8192, 0 };
	uint32_t past[] = { 0, 4096, 2 * MiB - 10, 20 };
	ck_assert_int_eq(put_ranges(32, 1, 0, 0, 4 * MiB, b, overlap, 2, comp), -EINVAL);
	ck_assert_int_eq(put_ranges(32, 1, 0, 0, 4 * MiB, b, empty, 2, comp), -EINVAL);
	ck_assert_int_eq(put_ranges(32, 1, 0, 0, 2 * MiB, b, past, 2, comp), -EINVAL);
	ext[2 * n] = 4 * MiB - 4096;
	ext[2 * n + 1] = 4096;
	ck_assert_int_eq(put_ranges(32, 1, 0, 0, 4 * MiB, b, ext, n + 1, comp), -EINVAL);
	ck_assert(!ds_store_has_chunk(st, 32));
	free(a);
	free(b);
	free(p);
}
END_TEST

static char *kept_path(uint64_t id, uint64_t ver)
{
	static char p[300];

	snprintf(p, sizeof(p), "%s.kept", chunk_path(id, ver));
	return p;
}

/* Patch 4 KiB at off of the chunk image b (len bytes) as version ver
 * over base; returns what the store says of the new version. */
static struct ds_chunk_stat patch(uint64_t id, uint64_t ver, uint64_t base,
				  unsigned char *b, uint32_t len, uint32_t off,
				  unsigned seed, int comp)
{
	unsigned char p[4096];
	struct ds_chunk_stat s;

	fill_random(p, sizeof(p), seed);
	memcpy(b + off, p, sizeof(p));
	ck_assert_int_eq(put(id, ver, base, len, off, len, p, sizeof(p), comp, &s), 0);
	return s;
}

/* A partial update stores only the blocks it changes and takes the others
 * from older versions' files, which outlive their deletion while used. */
START_TEST(test_shared_blocks)
{
	unsigned char *a = xbuf(4 * MiB), *b = xbuf(4 * MiB), *c = xbuf(4 * MiB);
	struct ds_chunk_stat s;
	struct ds_read *r;
	int comp = _i;

	if (comp)
		fill_text(a, 4 * MiB, 9);
	else
		fill_random(a, 4 * MiB, 9);
	memcpy(b, a, 4 * MiB);
	ck_assert_int_eq(put_full(50, 1, a, 4 * MiB, comp), 0);

	/* v2: one 4 KiB write costs one block (two when it straddles). */
	s = patch(50, 2, 1, b, 4 * MiB, MiB + 7, 1, comp);
	ck_assert_uint_eq(s.nsrc, 1);
	ck_assert_uint_le(s.stored_bytes, 4096 + 2 * BS);
	s = patch(50, 3, 2, b, 4 * MiB, 3 * MiB, 2, comp);
	ck_assert_uint_eq(s.nsrc, 2);		/* v1's blocks and v2's */
	ck_assert_uint_le(s.stored_bytes, 4096 + BS);
	expect_read(50, 3, 0, 0, b, 4 * MiB);
	expect_read(50, 3, MiB, 2 * BS, b, 4 * MiB);
	expect_read(50, 1, 0, 0, a, 4 * MiB);	/* the old versions are intact */
	ck_assert_int_eq(ds_store_verify(st, 50, 3, NULL), 0);

	/* The MDS deletes v1 and v2: their files stay, as kept, while v3
	 * uses them, and nothing shows them. */
	memcpy(c, b, 4 * MiB);
	ck_assert_int_eq(ds_store_delete(st, 50, 1), 0);
	ck_assert_int_eq(ds_store_delete(st, 50, 2), 0);
	ck_assert_int_eq(ds_store_delete(st, 50, 2), -ENOENT);
	ck_assert_int_eq(ds_store_stat_chunk(st, 50, 1, &s), -ENOENT);
	ck_assert_int_eq(ds_store_read(st, 50, 2, 0, 0, &r), -ENOENT);
	ck_assert_int_eq(access(kept_path(50, 1), F_OK), 0);
	ck_assert_int_eq(access(kept_path(50, 2), F_OK), 0);
	{
		struct ds_chunk_stat l[4];
		struct ds_store_info info;
		size_t n;
		bool eof;

		ck_assert_int_eq(ds_store_list(st, 0, 0, 4, l, &n, &eof), 0);
		ck_assert_uint_eq(n, 1);
		ck_assert_uint_eq(l[0].version, 3);
		ck_assert_int_eq(ds_store_info(st, &info), 0);
		ck_assert_uint_eq(info.chunks, 1);
	}
	/* A copy of a kept version is refused (its name is taken); a copy
	 * of a version newer ones use changes nothing. */
	ck_assert_int_eq(put(50, 1, 0, 0, 0, 4 * MiB, a, 4 * MiB, comp, NULL),
			 -GN_ERR_STALE_VERSION);	/* not a copy: stale anyway */
	{
		uint64_t ck[GN_BLOCKS_PER_CHUNK];
		struct ds_write_req q = { .chunk_id = 50, .version = 1,
			.chunk_length = 4 * MiB, .cksums = ck, .copy = true,
			.ncksums = gn_cksum_blocks(a, 4 * MiB, ck), .compression = comp };

		ck_assert_int_eq(ds_store_write(st, &q, a, 4 * MiB, NULL),
				 -GN_ERR_STALE_VERSION);
	}
	/* Everything survives a restart. */
	ds_store_close(st);
	ck_assert_int_eq(open_store(0), 0);
	expect_read(50, 3, 0, 0, c, 4 * MiB);
	ck_assert_int_eq(ds_store_stat_chunk(st, 50, 2, &s), -ENOENT);

	/* A chain of small updates names at most DS_MAX_SRC files; one that
	 * would name more writes the whole version. */
	for (uint64_t v = 4; v < 4 + DS_MAX_SRC + 2; v++) {
		s = patch(50, v, v - 1, c, 4 * MiB, (uint32_t)(v * BS), (unsigned)v, comp);
		ck_assert_uint_le(s.nsrc, DS_MAX_SRC);
		ck_assert_int_eq(ds_store_delete(st, 50, v - 1), 0);
		expect_read(50, v, 0, 0, c, 4 * MiB);
		if (s.nsrc == 0)
			break;
	}
	ck_assert_uint_eq(s.nsrc, 0);
	/* The whole version uses nobody: every kept file is gone. */
	ck_assert_int_eq(count_files("chunks/32"), 1);

	/* An update touching most blocks writes the whole version too. */
	{
		uint64_t v = s.version;

		ck_assert_int_eq(put(50, v + 1, v, 4 * MiB, 0, 4 * MiB, a, 3 * MiB,
				     comp, &s), 0);
		ck_assert_uint_eq(s.nsrc, 0);
	}
	free(a);
	free(b);
	free(c);
}
END_TEST

/* Damage in a file whose blocks a newer version takes: found on read and
 * by verify of the newer version; a version whose source vanished is
 * quarantined at start-up. */
START_TEST(test_shared_damage)
{
	unsigned char *a = xbuf(MiB), *b = xbuf(MiB);
	struct ds_read *r;
	int comp = _i;

	fill_random(a, MiB, 10);
	memcpy(b, a, MiB);
	ck_assert_int_eq(put_full(60, 1, a, MiB, comp), 0);
	patch(60, 2, 1, b, MiB, 5 * BS, 3, comp);
	ck_assert_int_eq(ds_store_delete(st, 60, 1), 0);
	expect_read(60, 2, 5 * BS, BS, b, MiB);	/* its own block */
	/* Block 0 of v2 lives in v1's (kept) file. */
	flip_byte(kept_path(60, 1), 4096 + 10);
	expect_read(60, 2, 5 * BS, BS, b, MiB);	/* still fine */
	ck_assert_int_eq(ds_store_read(st, 60, 2, 0, 0, &r), -GN_ERR_CKSUM);
	ck_assert_int_eq(nbad, 1);
	ck_assert_uint_eq(bad_id, 60);
	ck_assert_uint_eq(bad_ver, 2);
	ck_assert(!ds_store_has_chunk(st, 60));
	/* With v2 gone, nothing uses v1's file any more. */
	ck_assert_int_eq(access(kept_path(60, 1), F_OK), -1);

	/* verify reads the blocks from the files holding them. */
	memcpy(b, a, MiB);
	ck_assert_int_eq(put_full(61, 1, a, MiB, comp), 0);
	patch(61, 2, 1, b, MiB, 0, 4, comp);
	ck_assert_int_eq(ds_store_verify(st, 61, 2, NULL), 0);
	flip_byte(chunk_path(61, 1), 4096 + 7 * BS + 1);
	ck_assert_int_eq(ds_store_verify(st, 61, 2, NULL), -GN_ERR_CKSUM);
	/* The version verified is the one reported; v1's own check finds
	 * v1's damage. */
	ck_assert_int_eq(nbad, 2);
	ck_assert_uint_eq(bad_ver, 2);
	ck_assert_int_eq(ds_store_verify(st, 61, 1, NULL), -GN_ERR_CKSUM);
	ck_assert_int_eq(nbad, 3);

	/* A source removed behind the store's back: the user goes at open. */
	ck_assert_int_eq(put_full(62, 1, a, MiB, comp), 0);
	patch(62, 2, 1, b, MiB, 0, 5, comp);
	ck_assert_int_eq(unlink(chunk_path(62, 1)), 0);
	ds_store_close(st);
	ck_assert_int_eq(open_store(0), 0);
	ck_assert(!ds_store_has_chunk(st, 62));
	free(a);
	free(b);
}
END_TEST

START_TEST(test_stale_version)
{
	unsigned char a[1000];
	struct ds_chunk_stat s;

	fill_random(a, sizeof(a), 6);
	ck_assert_int_eq(put_full(20, 5, a, 1000, 0), 0);
	ck_assert_int_eq(put_full(20, 3, a, 1000, 0), -GN_ERR_STALE_VERSION);
	ck_assert_int_eq(ds_store_stat_chunk(st, 20, 3, &s), -ENOENT);
	/* The same version again replaces it (idempotent retry). */
	ck_assert_int_eq(put_full(20, 5, a, 500, 0), 0);
	ck_assert_int_eq(ds_store_stat_chunk(st, 20, 5, &s), 0);
	ck_assert_uint_eq(s.length, 500);
	ck_assert_int_eq(put_full(20, 6, a, 1000, 0), 0);
	ck_assert_int_eq(count_files("chunks/14"), 2);
	/* A copy of an older version (re-replication) is allowed. */
	{
		uint64_t ck[1];
		struct ds_write_req r = { .chunk_id = 20, .version = 2,
			.chunk_length = 1000, .cksums = ck, .ncksums = 1, .copy = true };

		gn_cksum_blocks(a, 1000, ck);
		ck_assert_int_eq(ds_store_write(st, &r, a, 1000, NULL), 0);
		expect_read(20, 2, 0, 0, a, 1000);
	}
}
END_TEST

static void flip_byte(const char *path, off_t off)
{
	unsigned char c;
	int fd = open(path, O_RDWR);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pread(fd, &c, 1, off), 1);
	c ^= 0x40;
	ck_assert_int_eq(pwrite(fd, &c, 1, off), 1);
	close(fd);
}

START_TEST(test_damage_detected_on_read)
{
	unsigned char *a = xbuf(MiB);
	struct ds_read *r;
	int comp = _i;

	if (comp)
		fill_text(a, MiB, 7);
	else
		fill_random(a, MiB, 7);
	ck_assert_int_eq(put_full(30, 1, a, MiB, comp), 0);
	ck_assert_int_eq(put_full(31, 1, a, MiB, comp), 0);
	/* Damage data of block 0 of chunk 30. */
	flip_byte(chunk_path(30, 1), 4096 + 50);
	/* A read of another block is still served. */
	expect_read(30, 1, 5 * BS, BS, a, MiB);
	ck_assert_int_eq(ds_store_read(st, 30, 1, 0, 0, &r), -GN_ERR_CKSUM);
	ck_assert_int_eq(nbad, 1);
	ck_assert_uint_eq(bad_id, 30);
	ck_assert_uint_eq(bad_ver, 1);
	/* Quarantined: gone from the store, kept aside. */
	ck_assert_int_eq(ds_store_read(st, 30, 1, 0, 0, &r), -ENOENT);
	ck_assert_int_eq(count_files("quarantine"), 1);
	ck_assert_int_eq(access(chunk_path(30, 1), F_OK), -1);

	/* The scrubber's verify finds damage too (header this time). */
	ck_assert_int_eq(ds_store_verify(st, 31, 1, NULL), 0);
	flip_byte(chunk_path(31, 1), 20);
	ck_assert_int_eq(ds_store_verify(st, 31, 1, NULL), -GN_ERR_CKSUM);
	ck_assert_int_eq(nbad, 2);
	ck_assert_int_eq(count_files("quarantine"), 2);
	free(a);
}
END_TEST

START_TEST(test_verify_detects_data_damage)
{
	unsigned char *a = xbuf(MiB);
	uint64_t bytes = 0;
	int comp = _i;

	if (comp)
		fill_text(a, MiB, 8);
	else
		fill_random(a, MiB, 8);
	ck_assert_int_eq(put_full(40, 2, a, MiB, comp), 0);
	ck_assert_int_eq(ds_store_verify(st, 40, 2, &bytes), 0);
	ck_assert_uint_gt(bytes, 4096);
	flip_byte(chunk_path(40, 2), 4096 + (comp ? 30 : MiB - 1));
	ck_assert_int_eq(ds_store_verify(st, 40, 2, NULL), -GN_ERR_CKSUM);
	ck_assert_int_eq(nbad, 1);
	ck_assert_int_eq(ds_store_verify(st, 40, 2, NULL), -ENOENT);
	free(a);
}
END_TEST

START_TEST(test_compression)
{
	unsigned char *a = xbuf(4 * MiB);
	struct ds_chunk_stat s;

	/* Half text, half random: text frames shrink, random stay raw. */
	fill_text(a, 2 * MiB, 9);
	fill_random(a + 2 * MiB, 2 * MiB, 9);
	ck_assert_int_eq(put(50, 1, 0, 0, 0, 4 * MiB, a, 4 * MiB, 1, &s), 0);
	ck_assert_uint_eq(s.compression, 1);
	ck_assert_uint_lt(s.stored_bytes, 2 * MiB + MiB / 2);
	ck_assert_uint_gt(s.stored_bytes, 2 * MiB);
	/* Random reads decode only their frames. */
	for (uint32_t b = 0; b < 62; b += 7)
		expect_read(50, 1, b * BS, 3 * BS - 1, a, 4 * MiB);
	expect_read(50, 1, 0, 0, a, 4 * MiB);
	expect_read(50, 1, 31 * BS, 2 * BS, a, 4 * MiB);

	/* A compressible chunk, partial length. */
	fill_text(a, 4 * MiB, 10);
	ck_assert_int_eq(put(51, 1, 0, 0, 0, 1000000, a, 1000000, 1, &s), 0);
	ck_assert_uint_lt(s.stored_bytes, 1000000 / 4);
	expect_read(51, 1, 0, 0, a, 1000000);
	expect_read(51, 1, 15 * BS, 0, a, 1000000);
	free(a);
}
END_TEST

START_TEST(test_leftovers_and_persistence)
{
	unsigned char *a = xbuf(MiB);
	char p[300];
	struct ds_chunk_stat s;
	int fd;

	fill_random(a, MiB, 11);
	ck_assert_int_eq(put_full(0x1ff, 3, a, MiB, 0), 0);
	ck_assert_int_eq(put_full(0x2ff, 1, a, 70000, 1), 0);
	ck_assert_int_eq(ds_store_delete(st, 0x2ff, 1), 0);
	ck_assert_int_eq(put_full(0x2ff, 2, a, 70000, 1), 0);
	ds_store_close(st);
	st = NULL;

	/* What a crash mid-write leaves: a temporary file... */
	snprintf(p, sizeof(p), "%s.tmp.77", chunk_path(0x3ff, 1));
	fd = open(p, O_WRONLY | O_CREAT, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, a, 5000), 5000);
	close(fd);
	/* ... and a version file whose header is garbage. */
	fd = open(chunk_path(0x4ff, 1), O_WRONLY | O_CREAT, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, a, 8192), 8192);
	close(fd);

	/* A quarantined file from two weeks ago. */
	snprintf(p, sizeof(p), "%s/quarantine/0000000000000005.0000000000000001.%lld",
		 dir, (long long)(gn_now_ns() - 14LL * 86400 * 1000000000));
	fd = open(p, O_WRONLY | O_CREAT, 0644);
	ck_assert_int_ge(fd, 0);
	close(fd);
	snprintf(p, sizeof(p), "%s.tmp.77", chunk_path(0x3ff, 1));

	ck_assert_int_eq(open_store(0), 0);
	ck_assert_int_eq(access(p, F_OK), -1);
	ck_assert_int_eq(access(chunk_path(0x4ff, 1), F_OK), -1);
	ck_assert_int_eq(count_files("quarantine"), 1);
	ck_assert_int_eq(count_files("chunks/ff"), 2);
	expect_read(0x1ff, 3, 0, 0, a, MiB);
	expect_read(0x2ff, 2, 0, 0, a, 70000);
	ck_assert_int_eq(ds_store_stat_chunk(st, 0x2ff, 1, &s), -ENOENT);
	ck_assert_int_eq(ds_store_stat_chunk(st, 0x2ff, 2, &s), 0);
	ck_assert_uint_eq(s.length, 70000);
	ck_assert_uint_eq(s.compression, 1);
	/* The stale check survives the restart. */
	ck_assert_int_eq(put_full(0x1ff, 2, a, 10, 0), -GN_ERR_STALE_VERSION);
	free(a);
}
END_TEST

START_TEST(test_lock_and_uuid)
{
	struct ds_store *other;
	struct ds_store_opts o = { .dir = dir };
	char uuid[37];

	ck_assert_int_eq(ds_store_open(&o, &other), -EBUSY);
	ck_assert_uint_eq(strlen(ds_store_uuid(st)), 36);
	strcpy(uuid, ds_store_uuid(st));
	ds_store_close(st);
	st = NULL;
	ck_assert_int_eq(open_store(0), 0);
	ck_assert_str_eq(ds_store_uuid(st), uuid);
}
END_TEST

START_TEST(test_enospc_reserve)
{
	unsigned char a[1000];
	struct ds_store_info info;
	struct ds_chunk_stat s;

	ds_store_close(st);
	/* Keep the whole disk in reserve: nothing fits. */
	ck_assert_int_eq(open_store(UINT64_MAX / 4), 0);
	fill_random(a, sizeof(a), 12);
	ck_assert_int_eq(put_full(60, 1, a, 1000, 0), -ENOSPC);
	ck_assert_int_eq(ds_store_stat_chunk(st, 60, 1, &s), -ENOENT);
	ck_assert_int_eq(count_files("chunks/3c"), 0);
	ck_assert_int_eq(ds_store_info(st, &info), 0);
	ck_assert_uint_eq(info.free_bytes, 0);
	ck_assert_uint_gt(info.capacity_bytes, 0);
}
END_TEST

START_TEST(test_list_and_delete)
{
	unsigned char a[100];
	struct ds_chunk_stat out[20];
	struct ds_store_info info;
	size_t n, total = 0;
	uint64_t aid = 0, aver = 0, prev_id = 0, prev_ver = 0;
	bool eof = false;

	fill_random(a, sizeof(a), 13);
	for (uint64_t id = 1; id <= 10; id++) {
		ck_assert_int_eq(put_full(id * 1000, 1, a, 100, 0), 0);
		ck_assert_int_eq(put_full(id * 1000, 2, a, 50, 0), 0);
	}
	while (!eof) {
		ck_assert_int_eq(ds_store_list(st, aid, aver, 3, out, &n, &eof), 0);
		ck_assert_uint_le(n, 3);
		for (size_t i = 0; i < n; i++) {
			ck_assert(out[i].chunk_id > prev_id ||
				  (out[i].chunk_id == prev_id && out[i].version > prev_ver));
			prev_id = out[i].chunk_id;
			prev_ver = out[i].version;
			ck_assert_uint_eq(out[i].length, out[i].version == 1 ? 100 : 50);
		}
		total += n;
		if (n) {
			aid = out[n - 1].chunk_id;
			aver = out[n - 1].version;
		}
	}
	ck_assert_uint_eq(total, 20);
	ck_assert_int_eq(ds_store_info(st, &info), 0);
	ck_assert_uint_eq(info.chunks, 20);
	ck_assert(ds_store_has_chunk(st, 5000));
	ck_assert_int_eq(ds_store_delete(st, 5000, 0), 0);
	ck_assert(!ds_store_has_chunk(st, 5000));
	ck_assert_int_eq(ds_store_delete(st, 6000, 1), 0);
	ck_assert_int_eq(ds_store_delete(st, 6000, 1), -ENOENT);
	ck_assert_int_eq(ds_store_info(st, &info), 0);
	ck_assert_uint_eq(info.chunks, 17);
	ck_assert_int_eq(ds_store_list(st, 0, 0, 20, out, &n, &eof), 0);
	ck_assert_uint_eq(n, 17);
	ck_assert(eof);
	ck_assert_int_eq(ds_store_list(st, 0, 0, 0, out, &n, &eof), -EINVAL);
}
END_TEST

/* A deletion batch: present, absent and whole-chunk entries across
 * directories; what it removed stays removed after a reopen, what it did
 * not name stays readable. */
START_TEST(test_delete_many)
{
	unsigned char a[100];
	struct ds_chunk_ref refs[] = {
		{ 1000, 1 }, { 1000, 7 }, { 2000, 0 }, { 3001, 2 }, { 4000, 0 },
		{ 99, 1 }, { 3001, 2 },
	};
	struct ds_store_info info;

	fill_random(a, sizeof(a), 14);
	for (uint64_t id = 1000; id <= 3000; id += 1000) {
		ck_assert_int_eq(put_full(id, 1, a, 100, 0), 0);
		ck_assert_int_eq(put_full(id, 2, a, 50, 0), 0);
	}
	ck_assert_int_eq(put_full(3001, 2, a, 100, 0), 0);
	/* 1000/1, both of 2000, 3001/2; 1000/7, 4000, 99 and the repeat of
	 * 3001/2 are not there. */
	ck_assert_int_eq(ds_store_delete_many(st, refs, GN_ARRAY_SIZE(refs)), 3);
	ck_assert_int_eq(ds_store_delete_many(st, refs, 0), 0);
	ds_store_close(st);
	st = NULL;
	ck_assert_int_eq(open_store(0), 0);
	ck_assert_int_eq(ds_store_info(st, &info), 0);
	ck_assert_uint_eq(info.chunks, 3);
	ck_assert(!ds_store_has_chunk(st, 2000));
	ck_assert(!ds_store_has_chunk(st, 3001));
	expect_read(1000, 2, 0, 0, a, 50);
	expect_read(3000, 1, 0, 0, a, 100);
	expect_read(3000, 2, 0, 0, a, 50);
	ck_assert_int_eq(access(chunk_path(1000, 1), F_OK), -1);
}
END_TEST

/* The index alone: growth past many buckets, newest version, paging. */
START_TEST(test_index)
{
	struct ds_index ix;
	struct ds_chunk_stat s = { 0 }, out[1000];
	uint64_t vers[8], aid = 0, aver = 0, total = 0, prev = 0;
	size_t n;
	bool eof = false;

	ds_index_init(&ix);
	for (uint64_t id = 1; id <= 5000; id++) {
		for (uint64_t v = 1; v <= (id % 3) + 1; v++) {
			s.chunk_id = id * 7919;
			s.version = v * 10;
			s.stored_bytes = 100;
			ds_index_put(&ix, &s, NULL);
		}
	}
	ck_assert_uint_eq(ix.count, 10001);
	ck_assert_uint_eq(ix.stored_bytes, 1000100);
	ck_assert_uint_eq(ds_index_max_version(&ix, 5 * 7919), 30);
	ck_assert_uint_eq(ds_index_max_version(&ix, 6 * 7919), 10);
	ck_assert_uint_eq(ds_index_max_version(&ix, 12345), 0);
	ck_assert_uint_eq(ds_index_versions(&ix, 4 * 7919, vers, 8), 2);
	ck_assert_ptr_nonnull(ds_index_find(&ix, 4 * 7919, 20));
	ck_assert_ptr_null(ds_index_find(&ix, 4 * 7919, 30));
	/* Replacing keeps the count. */
	s.chunk_id = 4 * 7919;
	s.version = 20;
	s.stored_bytes = 50;
	ds_index_put(&ix, &s, NULL);
	ck_assert_uint_eq(ix.count, 10001);
	ck_assert_uint_eq(ix.stored_bytes, 1000100 - 50);
	ck_assert(ds_index_del(&ix, 4 * 7919, 20));
	ck_assert(!ds_index_del(&ix, 4 * 7919, 20));
	while (!eof) {
		ds_index_list(&ix, aid, aver, 1000, out, &n, &eof);
		for (size_t i = 0; i < n; i++) {
			uint64_t key = out[i].chunk_id * 100 + out[i].version;

			ck_assert_uint_gt(key, prev);
			prev = key;
		}
		total += n;
		if (n) {
			aid = out[n - 1].chunk_id;
			aver = out[n - 1].version;
		}
	}
	ck_assert_uint_eq(total, 10000);
	ds_index_release(&ix);
}
END_TEST

START_TEST(test_delete_many_versions)
{
	unsigned char a[10];

	fill_random(a, sizeof(a), 14);
	for (uint64_t v = 1; v <= 70; v++)
		ck_assert_int_eq(put_full(77, v, a, 10, 0), 0);
	ck_assert_int_eq(ds_store_delete(st, 77, 0), 0);
	ck_assert(!ds_store_has_chunk(st, 77));
	ck_assert_int_eq(count_files("chunks/4d"), 0);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("ds_store");
	TCase *tc = tcase_create("store");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, test_write_read_full, 0, 2);
	tcase_add_test(tc, test_bad_args);
	tcase_add_test(tc, test_client_cksum_refused);
	tcase_add_loop_test(tc, test_partial_update_cow, 0, 2);
	tcase_add_loop_test(tc, test_ranges, 0, 2);
	tcase_add_loop_test(tc, test_shared_blocks, 0, 2);
	tcase_add_loop_test(tc, test_shared_damage, 0, 2);
	tcase_add_test(tc, test_stale_version);
	tcase_add_loop_test(tc, test_damage_detected_on_read, 0, 2);
	tcase_add_loop_test(tc, test_verify_detects_data_damage, 0, 2);
	tcase_add_test(tc, test_compression);
	tcase_add_test(tc, test_leftovers_and_persistence);
	tcase_add_test(tc, test_lock_and_uuid);
	tcase_add_test(tc, test_enospc_reserve);
	tcase_add_test(tc, test_list_and_delete);
	tcase_add_test(tc, test_delete_many);
	tcase_add_test(tc, test_index);
	tcase_add_test(tc, test_delete_many_versions);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	gn_log_init("check_ds_store", GN_LOG_ERR);
	return gn_unit_run(suite());
}
