/*
 * check_fs_io.c - the client's write-back buffer without any server: a
 * file with no chunks on the servers (all holes) is written through
 * fs_io_write and read back through fs_io_read, which overlays the
 * buffered bytes.  Checks dirty ranges (exact, merged when they touch or
 * overlap, a new buffer once a chunk's run out), holes as zeros, chunk
 * boundaries, full chunks queued for upload, memory charged by the bytes
 * written and the limit pushing out the fullest buffer, O_APPEND, sticky upload
 * errors, SEEK_DATA/SEEK_HOLE over buffered data, and the local size.
 */
#include "config.h"
#include "fs/fs_i.h"
#include "fs/io.h"
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
	ck_assert_int_eq(fs_wbmem_new(4 * CH, &s.wbmem), 0);
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
		fs_wbmem_put(s.wbmem, w->buf, w->charged, false);
		free(w);
	}
	s.upq_head = s.upq_tail = NULL;
	s.wb_inflight = 0;
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
		s.wb_inflight--;
		fs_wbmem_put(s.wbmem, w->buf, w->charged, false);
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

/* Scattered writes are charged by the 64 KiB units they touch, not by
 * whole buffers: 4 KiB in each of 32 chunks fits a 4-chunk limit, and
 * nothing is queued for upload before a sync. */
START_TEST(test_scattered_charge)
{
	const uint64_t U = FS_WBMEM_UNIT;
	char page[4096], out[4096];

	for (int c = 0; c < 32; c++) {
		memset(page, 'a' + c % 26, sizeof(page));
		ck_assert_int_eq(fs_io_write(&s, &f, c * CH + 8192, page, sizeof(page)), 0);
	}
	ck_assert_ptr_null(s.upq_head);
	ck_assert_uint_eq(fs_wbmem_used(s.wbmem), 32 * U);
	/* The same unit again costs nothing; one straddling two costs one. */
	ck_assert_int_eq(fs_io_write(&s, &f, 5 * CH + 12288, page, sizeof(page)), 0);
	ck_assert_uint_eq(fs_wbmem_used(s.wbmem), 32 * U);
	ck_assert_int_eq(fs_io_write(&s, &f, 5 * CH + U - 100, page, 200), 0);
	ck_assert_uint_eq(fs_wbmem_used(s.wbmem), 33 * U);
	ck_assert_uint_eq(wb_of(5)->charged, 2 * U);
	for (int c = 0; c < 32; c++) {
		memset(page, 'a' + c % 26, sizeof(page));
		read_all(c * CH + 8192, sizeof(out), out);
		ck_assert_mem_eq(out, page, sizeof(page));
	}
	read_all(7 * CH, 4096, out);
	memset(page, 0, sizeof(page));
	ck_assert_mem_eq(out, page, sizeof(page));
}
END_TEST

static int write_z_ret = -1;

static void *write_z(void *arg)
{
	(void)arg;
	write_z_ret = fs_io_write(&s, &f, 300 * CH, "z", 1);
	return NULL;
}

/* At the limit a writer waits (it does not fail) and pushes out only the
 * fullest dirty buffer, not every buffer; it goes on once that upload
 * gives its memory back. */
START_TEST(test_limit_pushes_fullest)
{
	const uint64_t U = FS_WBMEM_UNIT, units = 4 * CH / U;
	char *big = calloc(1, 16 * U);
	struct fs_wbuf *w;
	pthread_t t;
	int n = 0;

	ck_assert_int_eq(fs_io_write(&s, &f, 0, big, 16 * U), 0);
	free(big);
	for (uint64_t c = 1; c <= units - 16; c++)
		ck_assert_int_eq(fs_io_write(&s, &f, c * CH, "x", 1), 0);
	ck_assert_uint_eq(fs_wbmem_used(s.wbmem), 4 * CH);
	ck_assert_ptr_null(s.upq_head);
	ck_assert_int_eq(pthread_create(&t, NULL, write_z, NULL), 0);
	for (int i = 0; i < 5000; i++) {
		pthread_mutex_lock(&in->lock);
		bool queued = s.upq_head != NULL;
		pthread_mutex_unlock(&in->lock);
		if (queued)
			break;
		usleep(1000);
	}
	usleep(300 * 1000);	/* past one wait round: no second push */
	pthread_mutex_lock(&in->lock);
	w = s.upq_head;
	ck_assert_ptr_nonnull(w);
	ck_assert_ptr_null(w->qnext);
	ck_assert_uint_eq(w->index, 0);
	ck_assert_int_eq(w->state, FS_WB_QUEUED);
	for (struct fs_wbuf *o = in->wb; o; o = o->next)
		n += o->state == FS_WB_DIRTY;
	ck_assert_int_eq(n, (int)(units - 16));
	ck_assert_int_eq(write_z_ret, -1);	/* still waiting */
	/* Play the upload worker: the buffer's memory comes back. */
	s.upq_head = s.upq_tail = NULL;
	for (struct fs_wbuf **pp = &in->wb; *pp; pp = &(*pp)->next) {
		if (*pp == w) {
			*pp = w->next;
			break;
		}
	}
	in->nuploading--;
	s.wb_inflight--;
	fs_wbmem_put(s.wbmem, w->buf, w->charged, false);
	free(w);
	pthread_mutex_unlock(&in->lock);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	ck_assert_int_eq(write_z_ret, 0);
	ck_assert_ptr_nonnull(wb_of(300));
	ck_assert_uint_eq(fs_wbmem_used(s.wbmem), (units - 16 + 1) * U);
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

/* The memory under the buffers: a buffer written whole comes back warm
 * (still charged, reused as is); a charge that does not fit unmaps warm
 * ones first, then fails unless forced; waiting times out. */
START_TEST(test_wbmem)
{
	struct fs_wbmem *m;
	size_t c1, c2;
	char *a, *b;

	ck_assert_int_eq(fs_wbmem_new(2 * CH, &m), 0);
	a = fs_wbmem_get(m, &c1);
	ck_assert_ptr_nonnull(a);
	ck_assert_uint_eq(c1, 0);
	ck_assert_int_eq(a[CH - 1], 0);		/* fresh: zeros */
	ck_assert(fs_wbmem_charge(m, CH, false));
	memset(a, 'w', CH);
	fs_wbmem_put(m, a, CH, true);
	ck_assert_uint_eq(fs_wbmem_used(m), 0);	/* idle warm: not in use */
	b = fs_wbmem_get(m, &c2);
	ck_assert_ptr_eq(b, a);
	ck_assert_uint_eq(c2, CH);
	ck_assert_int_eq(b[0], 'w');		/* warm: old bytes, no fault */
	ck_assert_uint_eq(fs_wbmem_used(m), CH);
	fs_wbmem_put(m, b, c2, true);
	/* The warm buffer makes way for a charge of the whole limit. */
	ck_assert(fs_wbmem_charge(m, 2 * CH, false));
	ck_assert_uint_eq(fs_wbmem_used(m), 2 * CH);
	ck_assert(!fs_wbmem_charge(m, 1, false));
	ck_assert(!fs_wbmem_wait(m, 1, 50));
	ck_assert(fs_wbmem_charge(m, FS_WBMEM_UNIT, true));	/* forced */
	a = fs_wbmem_get(m, &c1);
	ck_assert_uint_eq(c1, 0);
	/* A buffer written in part is unmapped with its charge. */
	fs_wbmem_put(m, a, 2 * CH + FS_WBMEM_UNIT, false);
	ck_assert_uint_eq(fs_wbmem_used(m), 0);
	ck_assert(fs_wbmem_wait(m, 2 * CH, 0));
	fs_wbmem_free(m);
}
END_TEST

static Suite *suite(void)
{
	Suite *su = suite_create("fs_io");
	TCase *tc = tcase_create("writeback");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_ranges_and_gap);
	tcase_add_test(tc, test_scattered_ranges);
	tcase_add_test(tc, test_scattered_charge);
	tcase_add_test(tc, test_limit_pushes_fullest);
	tcase_add_test(tc, test_chunk_boundary_and_full_chunk);
	tcase_add_test(tc, test_append_and_sticky_error);
	tcase_add_test(tc, test_seek_over_buffers);
	tcase_add_test(tc, test_truncated_drops_local_state);
	suite_add_tcase(su, tc);
	tc = tcase_create("wbmem");
	tcase_add_test(tc, test_wbmem);
	suite_add_tcase(su, tc);
	return su;
}

int main(void)
{
	return gn_unit_run(suite());
}
