/*
 * check_fs_io.c - the client's write-back buffer without any server: a
 * file with no chunks on the servers (all holes) is written through
 * fs_io_write and read back through fs_io_read, which overlays the
 * buffered bytes.  Checks dirty ranges (exact, merged when they touch or
 * overlap, a new buffer once a chunk's run out), holes as zeros, chunk
 * boundaries, full chunks queued for upload, O_APPEND, sticky upload
 * errors, SEEK_DATA/SEEK_HOLE over buffered data, and the local size.
 */
#include "config.h"
#include "fs/fs_i.h"
#include "fs/io.h"
#include "common/buf.h"
#include "common/conf.h"
#include "common/util.h"

#include "t/unit/unit.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CH ((uint64_t)GN_CHUNK_SIZE)

static struct gn_conf conf;
static struct fs_session s;
static struct fs_inode *in;
static struct fs_file f;

static void setup(void)
{
	gn_conf_init(&conf);
	fs_session_init(&s, &conf.client);
	ck_assert_int_eq(gn_bufpool_new(GN_CHUNK_SIZE, 4, &s.wbpool), 0);
	in = fs_inode_get(&s, 7);
	in->have_map = true;
	memset(&f, 0, sizeof(f));
	f.inode = in;
	f.handle = 99;
	f.flags = O_RDWR;
	f.writable = true;
}

/* Give every buffer back (no upload workers run here). */
static void teardown(void)
{
	while (in->wb) {
		struct fs_wbuf *w = in->wb;
		in->wb = w->next;
		gn_bufpool_put(s.wbpool, w->buf);
		free(w);
	}
	s.upq_head = s.upq_tail = NULL;
	in->nuploading = 0;
	fs_inode_put(&s, in);
	fs_session_release(&s);
	gn_conf_release(&conf);
}

static struct fs_wbuf *wb_of(uint64_t index)
{
	for (struct fs_wbuf *w = in->wb; w; w = w->next)
		if (w->index == index)
			return w;
	return NULL;
}

static void read_all(uint64_t off, size_t len, char *out)
{
	size_t got = 0;

	ck_assert_int_eq(fs_io_read(&s, in, off, len, out, &got), 0);
	ck_assert_uint_eq(got, len);
}

START_TEST(test_ranges_and_gap)
{
	char buf[32], exp[32] = { 0 };
	struct fs_wbuf *w;
	uint64_t size;

	ck_assert_int_eq(fs_io_write(&s, &f, 10, "abc", 3), 0);
	w = wb_of(0);
	ck_assert_ptr_nonnull(w);
	ck_assert_uint_eq(w->lo, 10);
	ck_assert_uint_eq(w->hi, 13);
	ck_assert_uint_eq(in->size, 13);
	ck_assert(in->size_dirty);
	ck_assert(fs_io_local_size(in, &size));
	ck_assert_uint_eq(size, 13);
	/* A gap: a second range; nothing is read to fill it. */
	ck_assert_int_eq(fs_io_write(&s, &f, 20, "xyz", 3), 0);
	ck_assert_uint_eq(w->nr, 2);
	ck_assert_uint_eq(w->lo, 10);
	ck_assert_uint_eq(w->hi, 23);
	/* Before the first range, overlapping it: merged. */
	ck_assert_int_eq(fs_io_write(&s, &f, 8, "12345", 5), 0);
	ck_assert_uint_eq(w->lo, 8);
	ck_assert_uint_eq(w->nr, 2);
	ck_assert_uint_eq(w->r[0].lo, 8);
	ck_assert_uint_eq(w->r[0].hi, 13);
	memcpy(exp + 10, "abc", 3);
	memcpy(exp + 20, "xyz", 3);
	memcpy(exp + 8, "12345", 5);
	read_all(0, 23, buf);
	ck_assert_mem_eq(buf, exp, 23);
	/* Reads stop at the local size. */
	{
		size_t got = 1;
		ck_assert_int_eq(fs_io_read(&s, in, 23, 10, buf, &got), 0);
		ck_assert_uint_eq(got, 0);
	}
}
END_TEST

static int write_y_ret = -1;

static void *write_y(void *arg)
{
	(void)arg;
	write_y_ret = fs_io_write(&s, &f, 200, "y", 1);
	return NULL;
}

/* Scattered small writes each add a range; touching ones merge; a write
 * that needs a range more than a buffer holds queues that buffer for
 * upload (writers then wait for it) instead of failing or reading. */
START_TEST(test_scattered_ranges)
{
	char out[8];
	struct fs_wbuf *w;

	for (uint32_t i = 0; i < GN_WRITE_EXTENTS_MAX; i++)
		ck_assert_int_eq(fs_io_write(&s, &f, (uint64_t)i * 8192, "r", 1), 0);
	w = wb_of(0);
	ck_assert_uint_eq(w->nr, GN_WRITE_EXTENTS_MAX);
	ck_assert_int_eq(w->state, FS_WB_DIRTY);
	/* Touching the range at 8192 on both sides: still one range. */
	ck_assert_int_eq(fs_io_write(&s, &f, 8191, "ab", 2), 0);
	ck_assert_int_eq(fs_io_write(&s, &f, 8193, "cd", 2), 0);
	ck_assert_uint_eq(w->nr, GN_WRITE_EXTENTS_MAX);
	ck_assert_uint_eq(w->r[1].lo, 8191);
	ck_assert_uint_eq(w->r[1].hi, 8195);
	/* Bridging two ranges merges them. */
	{
		char *fill = calloc(1, 8193);
		ck_assert_int_eq(fs_io_write(&s, &f, 2 * 8192, fill, 8193), 0);
		free(fill);
	}
	ck_assert_uint_eq(w->nr, GN_WRITE_EXTENTS_MAX - 1);
	read_all(8190, 6, out);
	ck_assert_mem_eq(out, "\0abcd\0", 6);
	read_all(5 * 8192 - 1, 3, out);
	ck_assert_mem_eq(out, "\0r\0", 3);
	/* One more range fits; the next one queues the buffer. */
	ck_assert_int_eq(fs_io_write(&s, &f, 100, "x", 1), 0);
	ck_assert_uint_eq(w->nr, GN_WRITE_EXTENTS_MAX);
	ck_assert_ptr_null(s.upq_head);
	{
		/* The writer waits for the upload; play the upload worker. */
		pthread_t t;
		struct fs_wbuf *nw;

		ck_assert_int_eq(pthread_create(&t, NULL, write_y, NULL), 0);
		for (int i = 0; i < 5000; i++) {
			pthread_mutex_lock(&in->lock);
			bool queued = s.upq_head == w;
			pthread_mutex_unlock(&in->lock);
			if (queued)
				break;
			usleep(1000);
		}
		pthread_mutex_lock(&in->lock);
		ck_assert_ptr_eq(s.upq_head, w);
		ck_assert_int_eq(w->state, FS_WB_QUEUED);
		s.upq_head = s.upq_tail = NULL;
		in->wb = w->next;	/* the only buffer: at the head */
		in->nuploading--;
		gn_bufpool_put(s.wbpool, w->buf);
		free(w);
		pthread_cond_broadcast(&in->cond);
		pthread_mutex_unlock(&in->lock);
		ck_assert_int_eq(pthread_join(t, NULL), 0);
		ck_assert_int_eq(write_y_ret, 0);
		nw = wb_of(0);
		ck_assert_ptr_nonnull(nw);
		ck_assert_uint_eq(nw->nr, 1);
		ck_assert_uint_eq(nw->r[0].lo, 200);
		ck_assert_uint_eq(nw->r[0].hi, 201);
	}
}
END_TEST

START_TEST(test_chunk_boundary_and_full_chunk)
{
	char *big = malloc(GN_CHUNK_SIZE), out[8];

	ck_assert_int_eq(fs_io_write(&s, &f, CH - 2, "ABCD", 4), 0);
	ck_assert_ptr_nonnull(wb_of(0));
	ck_assert_ptr_nonnull(wb_of(1));
	ck_assert_uint_eq(wb_of(1)->lo, 0);
	ck_assert_uint_eq(wb_of(1)->hi, 2);
	read_all(CH - 2, 4, out);
	ck_assert_mem_eq(out, "ABCD", 4);
	/* A whole chunk is queued for upload at once; writers then wait
	 * for that upload before touching the chunk again. */
	memset(big, 'z', GN_CHUNK_SIZE);
	ck_assert_int_eq(fs_io_write(&s, &f, 2 * CH, big, GN_CHUNK_SIZE), 0);
	ck_assert_int_eq(wb_of(2)->state, FS_WB_QUEUED);
	ck_assert_ptr_eq(s.upq_head, wb_of(2));
	ck_assert_uint_eq(in->nuploading, 1);
	ck_assert_uint_eq(in->size, 3 * CH);
	read_all(3 * CH - 4, 4, out);
	ck_assert_mem_eq(out, "zzzz", 4);
	/* The hole between reads as zeros. */
	read_all(CH + 100, 8, out);
	ck_assert_mem_eq(out, "\0\0\0\0\0\0\0\0", 8);
	free(big);
}
END_TEST

START_TEST(test_append_and_sticky_error)
{
	char out[6];

	ck_assert_int_eq(fs_io_write(&s, &f, 0, "hello", 5), 0);
	f.flags |= O_APPEND;
	/* O_APPEND ignores the offset: our size is the end. */
	ck_assert_int_eq(fs_io_write(&s, &f, 0, "!", 1), 0);
	read_all(0, 6, out);
	ck_assert_mem_eq(out, "hello!", 6);
	/* An upload error is returned by the next write (and kept for
	 * fsync/close, which clear it). */
	in->wb_err = -ENOSPC;
	ck_assert_int_eq(fs_io_write(&s, &f, 0, "x", 1), -ENOSPC);
	ck_assert_int_eq(fs_io_write(&s, &f, 0, "x", 1), -ENOSPC);
	in->wb_err = 0;
}
END_TEST

START_TEST(test_seek_over_buffers)
{
	uint64_t out;

	/* Data only in a buffer of chunk 3, file size past it. */
	ck_assert_int_eq(fs_io_write(&s, &f, 3 * CH + 5, "d", 1), 0);
	ck_assert_int_eq(fs_io_lseek(&s, in, 0, SEEK_DATA, &out), 0);
	ck_assert_uint_eq(out, 3 * CH);
	ck_assert_int_eq(fs_io_lseek(&s, in, 0, SEEK_HOLE, &out), 0);
	ck_assert_uint_eq(out, 0);
	ck_assert_int_eq(fs_io_lseek(&s, in, 3 * CH, SEEK_HOLE, &out), 0);
	ck_assert_uint_eq(out, 3 * CH + 6);
	ck_assert_int_eq(fs_io_lseek(&s, in, 3 * CH + 6, SEEK_DATA, &out), -ENXIO);
}
END_TEST

START_TEST(test_truncated_drops_local_state)
{
	struct fs_chunk c = { .index = 0, .id = 1, .version = 1,
			      .length = GN_CHUNK_SIZE, .nrep = 1 };

	fs_chunkmap_put(&in->map, &c);
	c.index = 1;
	fs_chunkmap_put(&in->map, &c);
	in->size = 2 * CH;
	fs_io_truncated(in, 100);
	ck_assert_uint_eq(in->size, 100);
	ck_assert_uint_eq(in->map.n, 1);
	ck_assert_uint_eq(in->map.v[0].length, 100);
	ck_assert(!in->size_dirty);
}
END_TEST

static Suite *suite(void)
{
	Suite *su = suite_create("fs_io");
	TCase *tc = tcase_create("writeback");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_ranges_and_gap);
	tcase_add_test(tc, test_scattered_ranges);
	tcase_add_test(tc, test_chunk_boundary_and_full_chunk);
	tcase_add_test(tc, test_append_and_sticky_error);
	tcase_add_test(tc, test_seek_over_buffers);
	tcase_add_test(tc, test_truncated_drops_local_state);
	suite_add_tcase(su, tc);
	return su;
}

int main(void)
{
	return gn_unit_run(suite());
}
