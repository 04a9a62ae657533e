/*
 * check_fs_chunkmap.c - the client's chunk map (holes, truncate,
 * SEEK_DATA/SEEK_HOLE, signatures), the read-reply checker (checksums,
 * zeros past a chunk's length, malformed replies) and the inode table's
 * reference counting.  No network.
 */
#include "config.h"
#include "fs/fs_i.h"
#include "fs/io.h"
#include "common/cksum.h"
#include "common/status.h"
#include "common/util.h"
#include "proto/ds.pb-c.h"

#include "t/unit/unit.h"

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define MiB (1ull << 20)
#define CH ((uint64_t)GN_CHUNK_SIZE)

static void put(struct fs_chunkmap *m, uint64_t index, uint64_t version, uint32_t len)
{
	struct fs_chunk c = { .index = index, .id = 100 + index, .version = version,
			      .length = len, .nrep = 1 };
	fs_chunkmap_put(m, &c);
}

START_TEST(test_put_find_sorted)
{
	struct fs_chunkmap m;

	fs_chunkmap_init(&m);
	put(&m, 5, 1, 10);
	put(&m, 1, 1, 10);
	put(&m, 3, 1, 10);
	put(&m, 100, 1, 10);
	ck_assert_uint_eq(m.n, 4);
	for (size_t i = 1; i < m.n; i++)
		ck_assert_uint_lt(m.v[i - 1].index, m.v[i].index);
	ck_assert_ptr_null(fs_chunkmap_find(&m, 2));
	ck_assert_uint_eq(fs_chunkmap_find(&m, 3)->id, 103);
	put(&m, 3, 7, 20);		/* replace keeps one entry */
	ck_assert_uint_eq(m.n, 4);
	ck_assert_uint_eq(fs_chunkmap_find(&m, 3)->version, 7);
	fs_chunkmap_del(&m, 3);
	ck_assert_ptr_null(fs_chunkmap_find(&m, 3));
	ck_assert_uint_eq(m.n, 3);
	fs_chunkmap_del(&m, 3);		/* absent: no-op */
	ck_assert_uint_eq(m.n, 3);
	fs_chunkmap_release(&m);
}
END_TEST

START_TEST(test_truncate)
{
	struct fs_chunkmap m;

	fs_chunkmap_init(&m);
	for (uint64_t i = 0; i < 4; i++)
		put(&m, i, 1, GN_CHUNK_SIZE);
	/* Into the middle of chunk 1: 2 and 3 go, 1 is clamped. */
	fs_chunkmap_truncate(&m, CH + 1000);
	ck_assert_uint_eq(m.n, 2);
	ck_assert_uint_eq(fs_chunkmap_find(&m, 1)->length, 1000);
	ck_assert_uint_eq(fs_chunkmap_find(&m, 0)->length, GN_CHUNK_SIZE);
	/* On a chunk boundary: chunk 1 goes whole. */
	fs_chunkmap_truncate(&m, CH);
	ck_assert_uint_eq(m.n, 1);
	fs_chunkmap_truncate(&m, 0);
	ck_assert_uint_eq(m.n, 0);
	fs_chunkmap_release(&m);
}

END_TEST

START_TEST(test_seek_data_hole)
{
	struct fs_chunkmap m;
	uint64_t out, size = 10 * CH + 5;

	fs_chunkmap_init(&m);
	put(&m, 2, 1, GN_CHUNK_SIZE);
	put(&m, 3, 1, 100);	/* short chunk: still data to its end */
	put(&m, 10, 1, 5);
	/* SEEK_DATA */
	ck_assert_int_eq(fs_chunkmap_seek_data(&m, size, 0, &out), 0);
	ck_assert_uint_eq(out, 2 * CH);
	ck_assert_int_eq(fs_chunkmap_seek_data(&m, size, 2 * CH + 7, &out), 0);
	ck_assert_uint_eq(out, 2 * CH + 7);
	ck_assert_int_eq(fs_chunkmap_seek_data(&m, size, 4 * CH, &out), 0);
	ck_assert_uint_eq(out, 10 * CH);
	ck_assert_int_eq(fs_chunkmap_seek_data(&m, size, size, &out), -ENXIO);
	/* SEEK_HOLE */
	ck_assert_int_eq(fs_chunkmap_seek_hole(&m, size, 0, &out), 0);
	ck_assert_uint_eq(out, 0);
	ck_assert_int_eq(fs_chunkmap_seek_hole(&m, size, 2 * CH + 1, &out), 0);
	ck_assert_uint_eq(out, 4 * CH);
	/* The last chunk runs to the end of file: the hole is at EOF. */
	ck_assert_int_eq(fs_chunkmap_seek_hole(&m, size, 10 * CH, &out), 0);
	ck_assert_uint_eq(out, size);
	ck_assert_int_eq(fs_chunkmap_seek_hole(&m, size, size + 1, &out), -ENXIO);
	/* No data after the last chunk. */
	fs_chunkmap_clear(&m);
	ck_assert_int_eq(fs_chunkmap_seek_data(&m, size, 0, &out), -ENXIO);
	fs_chunkmap_release(&m);
}
END_TEST

START_TEST(test_sig)
{
	struct fs_chunkmap a, b;

	fs_chunkmap_init(&a);
	fs_chunkmap_init(&b);
	put(&a, 0, 1, 10);
	put(&b, 0, 1, 10);
	ck_assert_uint_eq(fs_chunkmap_sig(&a, 10), fs_chunkmap_sig(&b, 10));
	ck_assert_uint_ne(fs_chunkmap_sig(&a, 10), fs_chunkmap_sig(&b, 11));
	put(&b, 0, 2, 10);	/* a new version: the kernel's pages are stale */
	ck_assert_uint_ne(fs_chunkmap_sig(&a, 10), fs_chunkmap_sig(&b, 10));
	fs_chunkmap_release(&a);
	fs_chunkmap_release(&b);
}
END_TEST

START_TEST(test_from_pb_validates)
{
	Gannet__ChunkInfo pb = GANNET__CHUNK_INFO__INIT;
	uint32_t reps[9] = { 1, 2, 3, 4, 5, 6, 7, 8, 9 };
	struct fs_chunk c;

	pb.index = 3;
	pb.chunk_id = 77;
	pb.version = 2;
	pb.length = GN_CHUNK_SIZE;
	pb.replicas = reps;
	pb.n_replicas = 2;
	ck_assert_int_eq(fs_chunk_from_pb(&c, &pb), 0);
	ck_assert_uint_eq(c.nrep, 2);
	ck_assert_uint_eq(c.rep[1], 2);
	pb.length = GN_CHUNK_SIZE + 1;
	ck_assert_int_eq(fs_chunk_from_pb(&c, &pb), -EBADMSG);
	pb.length = 1;
	pb.n_replicas = 9;
	ck_assert_int_eq(fs_chunk_from_pb(&c, &pb), -EBADMSG);
	pb.n_replicas = 1;
	pb.version = 0;
	ck_assert_int_eq(fs_chunk_from_pb(&c, &pb), -EBADMSG);
}
END_TEST

/* A fake ReadChunk reply: chunk of clen bytes (byte i = i*7), asked from
 * off; data split into two iovs at `split` to exercise blocks spanning
 * received slices. */
struct fake {
	Gannet__ReadChunkReply r;
	uint64_t cks[GN_BLOCKS_PER_CHUNK];
	struct iovec iov[2];
	char *data;
	struct gn_rpc_result res;
};

/* Byte x of a chunk: differs between blocks at the same offset. */
static char pat(uint32_t x)
{
	return (char)(x * 7 + x / GN_BLOCK_SIZE * 13);
}

static void fake_init(struct fake *f, uint32_t clen, uint32_t off, uint32_t len,
		      size_t split)
{
	uint32_t end = GN_MIN(clen, (off + len + GN_BLOCK_SIZE - 1) / GN_BLOCK_SIZE * GN_BLOCK_SIZE);
	uint32_t n = end > off ? end - off : 0;

	memset(f, 0, sizeof(*f));
	gannet__read_chunk_reply__init(&f->r);
	f->data = malloc(n ? n : 1);
	for (uint32_t i = 0; i < n; i++)
		f->data[i] = pat(off + i);
	f->r.offset = off;
	f->r.chunk_length = clen;
	f->r.n_cksums = gn_cksum_blocks(f->data, n, f->cks);
	f->r.cksums = f->cks;
	split = GN_MIN(split, (size_t)n);
	f->iov[0].iov_base = f->data;
	f->iov[0].iov_len = split;
	f->iov[1].iov_base = f->data + split;
	f->iov[1].iov_len = n - split;
	f->res.reply = &f->r.base;
	f->res.data.iov = f->iov;
	f->res.data.iovcnt = 2;
	f->res.data.len = n;
}

START_TEST(test_check_read_ok_and_zeros)
{
	struct fake f;
	uint32_t want = 3 * GN_BLOCK_SIZE;
	char *dst = malloc(want);

	/* Chunk of 100000 bytes read from 65536: 34464 real bytes then zeros. */
	fake_init(&f, 100000, GN_BLOCK_SIZE, want, 1000);
	memset(dst, 0x55, want);
	ck_assert_int_eq(fs_io_check_read(&f.res, GN_BLOCK_SIZE, want, dst), 0);
	for (uint32_t i = 0; i < want; i++) {
		char exp = GN_BLOCK_SIZE + i < 100000 ? pat(GN_BLOCK_SIZE + i) : 0;
		ck_assert_int_eq(dst[i], exp);
	}
	free(f.data);
	free(dst);
}
END_TEST

/* Blocks landing in separate buffers (cache blocks), in any order: each
 * gets its own bytes, the zeros past the chunk's length included. */
START_TEST(test_check_read_blocks)
{
	struct fake f;
	uint32_t want = 3 * GN_BLOCK_SIZE;
	char *buf = malloc(3 * (size_t)GN_BLOCK_SIZE), *blk[3];

	fake_init(&f, 2 * GN_BLOCK_SIZE + 100, 0, want, GN_BLOCK_SIZE / 2);
	for (int k = 0; k < 3; k++)
		blk[k] = buf + (size_t)(2 - k) * GN_BLOCK_SIZE;
	memset(buf, 0x55, 3 * (size_t)GN_BLOCK_SIZE);
	ck_assert_int_eq(fs_io_check_read_blocks(&f.res, 0, want, blk), 0);
	for (uint32_t i = 0; i < want; i++) {
		char exp = i < 2 * GN_BLOCK_SIZE + 100 ? pat(i) : 0;
		ck_assert_int_eq(blk[i / GN_BLOCK_SIZE][i % GN_BLOCK_SIZE], exp);
	}
	free(f.data);
	free(buf);
}
END_TEST

START_TEST(test_check_read_bad_cksum)
{
	struct fake f;
	char *dst = malloc(2 * GN_BLOCK_SIZE);

	fake_init(&f, GN_CHUNK_SIZE, 0, 2 * GN_BLOCK_SIZE, GN_BLOCK_SIZE + 3);
	f.data[GN_BLOCK_SIZE + 10] ^= 1;	/* in the block spanning iovs */
	ck_assert_int_eq(fs_io_check_read(&f.res, 0, 2 * GN_BLOCK_SIZE, dst),
			 -GN_ERR_CKSUM);
	f.data[GN_BLOCK_SIZE + 10] ^= 1;
	ck_assert_int_eq(fs_io_check_read(&f.res, 0, 2 * GN_BLOCK_SIZE, dst), 0);
	/* Malformed: wrong offset, missing checksum, short data. */
	ck_assert_int_eq(fs_io_check_read(&f.res, GN_BLOCK_SIZE, GN_BLOCK_SIZE, dst),
			 -EBADMSG);
	f.r.n_cksums = 1;
	ck_assert_int_eq(fs_io_check_read(&f.res, 0, 2 * GN_BLOCK_SIZE, dst), -EBADMSG);
	f.r.n_cksums = 2;
	f.res.data.len = GN_BLOCK_SIZE;
	f.iov[1].iov_len = 0;
	f.iov[0].iov_len = GN_BLOCK_SIZE;
	ck_assert_int_eq(fs_io_check_read(&f.res, 0, 2 * GN_BLOCK_SIZE, dst), -EBADMSG);
	free(f.data);
	free(dst);
}
END_TEST

START_TEST(test_check_read_past_length)
{
	struct fake f;
	char dst[100];

	/* Asking past the chunk's length: empty reply, all zeros. */
	fake_init(&f, 1000, GN_BLOCK_SIZE, 100, 0);
	memset(dst, 1, sizeof(dst));
	ck_assert_int_eq(fs_io_check_read(&f.res, GN_BLOCK_SIZE, 100, dst), 0);
	for (size_t i = 0; i < sizeof(dst); i++)
		ck_assert_int_eq(dst[i], 0);
	free(f.data);
}
END_TEST

START_TEST(test_inode_refcount)
{
	struct gn_conf conf;
	struct fs_session s;
	struct fs_inode *in, *again;

	gn_conf_init(&conf);
	fs_session_init(&s, &conf.client);
	/* A reference alone keeps it; the kernel's lookups keep it. */
	in = fs_inode_get(&s, 42);
	fs_inode_lookup(&s, 42, S_IFREG, NULL);
	fs_inode_lookup(&s, 42, S_IFREG, NULL);
	fs_inode_put(&s, in);
	again = fs_inode_find(&s, 42);
	ck_assert_ptr_eq(again, in);
	fs_inode_put(&s, again);
	fs_inode_forget(&s, 42, 1);
	again = fs_inode_find(&s, 42);
	ck_assert_ptr_nonnull(again);
	fs_inode_put(&s, again);
	fs_inode_forget(&s, 42, 1);	/* count reaches 0: freed */
	ck_assert_ptr_null(fs_inode_find(&s, 42));
	/* Forgetting an unknown inode is harmless. */
	fs_inode_forget(&s, 43, 5);
	/* Many inodes: the table grows and finds them all. */
	for (uint64_t i = 1; i <= 5000; i++)
		fs_inode_lookup(&s, i * 977, S_IFREG, NULL);
	for (uint64_t i = 1; i <= 5000; i++) {
		in = fs_inode_find(&s, i * 977);
		ck_assert_ptr_nonnull(in);
		ck_assert_uint_eq(in->ino, i * 977);
		fs_inode_put(&s, in);
		fs_inode_forget(&s, i * 977, 1);
	}
	ck_assert_uint_eq(s.itab_count, 0);
	fs_session_release(&s);
	gn_conf_release(&conf);
}
END_TEST

/* What open trusts to skip dropping the kernel's attributes. */
START_TEST(test_inode_kattr)
{
	struct gn_conf conf;
	struct fs_session s;
	struct fs_inode *in;
	struct stat x = { .st_size = 100 }, y = x;

	gn_conf_init(&conf);
	fs_session_init(&s, &conf.client);
	x.st_mtim.tv_sec = 5;
	y.st_mtim.tv_sec = 6;
	fs_inode_lookup(&s, 7, S_IFREG, NULL);
	in = fs_inode_find(&s, 7);
	/* Nothing handed out yet: the kernel's view is unknown. */
	ck_assert(!fs_inode_kattr_current(in, &x));
	fs_inode_lookup(&s, 7, S_IFREG, &x);
	ck_assert(fs_inode_kattr_current(in, &x));
	ck_assert(!fs_inode_kattr_current(in, &y));
	/* Forgotten after a mismatch: the caller drops the kernel's copy. */
	ck_assert(!fs_inode_kattr_current(in, &x));
	/* Two different replies out: either may be the one the kernel kept. */
	fs_inode_kattr_note(in, &x);
	fs_inode_kattr_note(in, &y);
	ck_assert(!fs_inode_kattr_current(in, &y));
	fs_inode_kattr_note(in, &y);
	ck_assert(fs_inode_kattr_current(in, &y));
	y.st_ctim.tv_nsec = 1;
	ck_assert(!fs_inode_kattr_current(in, &y));
	fs_inode_put(&s, in);
	fs_inode_forget(&s, 7, 2);
	fs_session_release(&s);
	gn_conf_release(&conf);
}
END_TEST

static Suite *suite(void)
{
	Suite *su = suite_create("fs_chunkmap");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_put_find_sorted);
	tcase_add_test(tc, test_inode_kattr);
	tcase_add_test(tc, test_truncate);
	tcase_add_test(tc, test_seek_data_hole);
	tcase_add_test(tc, test_sig);
	tcase_add_test(tc, test_from_pb_validates);
	tcase_add_test(tc, test_check_read_ok_and_zeros);
	tcase_add_test(tc, test_check_read_bad_cksum);
	tcase_add_test(tc, test_check_read_blocks);
	tcase_add_test(tc, test_check_read_past_length);
	tcase_add_test(tc, test_inode_refcount);
	suite_add_tcase(su, tc);
	return su;
}

int main(void)
{
	return gn_unit_run(suite());
}
