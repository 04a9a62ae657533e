/* check_buf.c - page-aligned buffers and the chunk buffer pool. */
#include "config.h"
#include "common/buf.h"

#include "t/unit/unit.h"

#include <check.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

START_TEST(test_alloc_aligned_zeroed)
{
	size_t len = 3 << 20;
	unsigned char *p = gn_buf_alloc(len);

	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq((uintptr_t)p % sysconf(_SC_PAGESIZE), 0);
	for (size_t i = 0; i < len; i += 4096)
		ck_assert_uint_eq(p[i], 0);
	gn_buf_free(p, len);
}
END_TEST

START_TEST(test_pool_exhaustion)
{
	struct gn_bufpool *pool;
	void *b[4];

	ck_assert_int_eq(gn_bufpool_new(4 << 20, 4, &pool), 0);
	ck_assert_uint_eq(gn_bufpool_bufsize(pool), 4 << 20);
	for (int i = 0; i < 4; i++) {
		b[i] = gn_bufpool_get(pool);
		ck_assert_ptr_nonnull(b[i]);
		ck_assert_uint_eq((uintptr_t)b[i] % 4096, 0);
		memset(b[i], i, 4 << 20);	/* whole buffer is usable */
	}
	ck_assert_uint_eq(gn_bufpool_available(pool), 0);
	/* Exhausted: NULL at once, and after a bounded wait. */
	ck_assert_ptr_null(gn_bufpool_get(pool));
	ck_assert_ptr_null(gn_bufpool_get_wait(pool, 50));
	gn_bufpool_put(pool, b[2]);
	ck_assert_ptr_eq(gn_bufpool_get(pool), b[2]);
	for (int i = 0; i < 4; i++)
		gn_bufpool_put(pool, b[i]);
	ck_assert_uint_eq(gn_bufpool_available(pool), 4);
	gn_bufpool_free(pool);
}
END_TEST

struct putter {
	struct gn_bufpool *pool;
	void *buf;
};

static void *put_later(void *arg)
{
	struct putter *p = arg;
	struct timespec ts = { 0, 100 * 1000 * 1000 };

	nanosleep(&ts, NULL);
	gn_bufpool_put(p->pool, p->buf);
	return NULL;
}

START_TEST(test_pool_wait_wakes)
{
	struct gn_bufpool *pool;
	struct putter p;
	pthread_t t;

	ck_assert_int_eq(gn_bufpool_new(8192, 1, &pool), 0);
	p.pool = pool;
	p.buf = gn_bufpool_get(pool);
	pthread_create(&t, NULL, put_later, &p);
	/* Blocks until the other thread puts the buffer back. */
	ck_assert_ptr_eq(gn_bufpool_get_wait(pool, -1), p.buf);
	pthread_join(t, NULL);
	gn_bufpool_put(pool, p.buf);
	gn_bufpool_free(pool);
}
END_TEST

START_TEST(test_pool_foreign_buffer_aborts)
{
	struct gn_bufpool *pool;
	char other[16];

	gn_bufpool_new(4096, 1, &pool);
	gn_bufpool_put(pool, other);	/* BUG(): aborts */
}
END_TEST

int main(void)
{
	TCase *tc;
	Suite *s = gn_unit_suite("buf", &tc);

	tcase_add_test(tc, test_alloc_aligned_zeroed);
	tcase_add_test(tc, test_pool_exhaustion);
	tcase_add_test(tc, test_pool_wait_wakes);
	tcase_add_test_raise_signal(tc, test_pool_foreign_buffer_aborts, 6);
	return gn_unit_run(s);
}
