/* check_fs_cache.c - the client's RAM read cache (fs/cache.c). */
#include "config.h"
#include "fs/cache.h"

#include "t/unit/unit.h"

#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BLK FS_CACHE_BLOCK

/* Content a block of key k must hold: tests verify every hit against it. */
static void pattern(const struct fs_cache_key *k, unsigned char *p, uint32_t len)
{
	for (uint32_t i = 0; i < len; i += 8) {
		uint64_t v = k->chunk_id * 1000003 + k->version * 7919 + k->block * 131 + i;
		memcpy(p + i, &v, len - i < 8 ? len - i : 8);
	}
}

static int check_pattern(const struct fs_cache_key *k, const unsigned char *p, uint32_t len)
{
	static __thread unsigned char want[BLK];
	pattern(k, want, len);
	return memcmp(want, p, len) == 0;
}

/* Look key up; fill it on a miss.  Returns 1 on hit, 0 on fill. */
static int touch(struct fs_cache *c, uint64_t id, uint64_t ver, uint32_t blk)
{
	struct fs_cache_key k = { id, ver, blk };
	struct fs_cache_ref r;
	int ret = fs_cache_lookup(c, &k, &r);

	ck_assert_int_ge(ret, 0);
	if (ret == FS_CACHE_FILL) {
		pattern(&k, r.data, BLK);
		fs_cache_publish(c, &r, BLK);
	} else {
		ck_assert_uint_eq(r.len, BLK);
		ck_assert(check_pattern(&k, r.data, BLK));
	}
	fs_cache_put(c, &r);
	return ret == FS_CACHE_HIT;
}

START_TEST(test_fill_then_hit)
{
	struct fs_cache *c;
	struct fs_cache_key k = { 42, 7, 3 };
	struct fs_cache_ref r;

	struct fs_cache_stats st;

	ck_assert_int_eq(fs_cache_new(8 << 20, &c), 0);
	ck_assert(!fs_cache_contains(c, &k));
	ck_assert_int_eq(fs_cache_lookup(c, &k, &r), FS_CACHE_FILL);
	ck_assert(!fs_cache_contains(c, &k));	/* being filled: not yet */
	ck_assert_uint_eq((uintptr_t)r.data % 4096, 0);
	pattern(&k, r.data, 1000);
	fs_cache_publish(c, &r, 1000);
	fs_cache_put(c, &r);
	/* A report is not a use: no hit counted. */
	ck_assert(fs_cache_contains(c, &k));
	fs_cache_get_stats(c, &st);
	ck_assert_uint_eq(st.hits, 0);
	ck_assert_int_eq(fs_cache_lookup(c, &k, &r), FS_CACHE_HIT);
	ck_assert_uint_eq(r.len, 1000);
	ck_assert(check_pattern(&k, r.data, 1000));
	fs_cache_put(c, &r);
	/* Another version of the same chunk is a different block. */
	k.version = 8;
	ck_assert_int_eq(fs_cache_peek(c, &k, &r), -ENOENT);
	fs_cache_free(c);
}
END_TEST

START_TEST(test_bounded)
{
	struct fs_cache *c;
	struct fs_cache_stats st;

	ck_assert_int_eq(fs_cache_new(16 << 20, &c), 0);	/* 256 blocks */
	for (uint64_t i = 0; i < 5000; i++)
		touch(c, i / 64, 1, i % 64);
	fs_cache_get_stats(c, &st);
	ck_assert_uint_eq(st.blocks, 256);
	ck_assert_uint_le(st.used, 256);
	ck_assert_uint_ge(st.evictions, 5000 - 256);
	ck_assert_uint_eq(st.pinned, 0);
	fs_cache_free(c);
}
END_TEST

/* A hot working set read repeatedly survives one long scan. */
START_TEST(test_scan_resistant)
{
	struct fs_cache *c;
	int hits = 0, hot = 400;

	ck_assert_int_eq(fs_cache_new(64 << 20, &c), 0);	/* 1024 blocks */
	for (int round = 0; round < 3; round++)
		for (int i = 0; i < hot; i++)
			touch(c, 1000 + i, 1, 0);
	/* Scan 8x the cache size, each block read once. */
	for (uint64_t i = 0; i < 8192; i++)
		touch(c, 1 << 20 | i / 64, 1, i % 64);
	for (int i = 0; i < hot; i++)
		hits += touch(c, 1000 + i, 1, 0);
	ck_assert_msg(hits >= hot * 9 / 10, "only %d of %d hot blocks survived", hits, hot);
	fs_cache_free(c);
}
END_TEST

START_TEST(test_pinned_not_evicted)
{
	struct fs_cache *c;
	struct fs_cache_ref refs[64], r;
	struct fs_cache_key k;

	ck_assert_int_eq(fs_cache_new(64 * BLK, &c), 0);	/* 1 stripe */
	for (uint32_t i = 0; i < 64; i++) {
		k = (struct fs_cache_key){ 1, 1, i };
		ck_assert_int_eq(fs_cache_lookup(c, &k, &refs[i]), FS_CACHE_FILL);
		memset(refs[i].data, (int)i, BLK);
		fs_cache_publish(c, &refs[i], BLK);
	}
	k = (struct fs_cache_key){ 2, 1, 0 };
	ck_assert_int_eq(fs_cache_lookup(c, &k, &r), -ENOMEM);
	/* Pinned blocks kept their bytes. */
	for (uint32_t i = 0; i < 64; i++)
		ck_assert_uint_eq(refs[i].data[BLK - 1], i);
	fs_cache_put(c, &refs[5]);
	ck_assert_int_eq(fs_cache_lookup(c, &k, &r), FS_CACHE_FILL);
	ck_assert_ptr_eq(r.data, refs[5].data ? refs[5].data : r.data);
	fs_cache_abort(c, &r);
	for (uint32_t i = 0; i < 64; i++)
		if (i != 5)
			fs_cache_put(c, &refs[i]);
	fs_cache_free(c);
}
END_TEST

START_TEST(test_drop)
{
	struct fs_cache *c;
	struct fs_cache_ref r;
	struct fs_cache_key k = { 9, 2, 10 };

	ck_assert_int_eq(fs_cache_new(8 << 20, &c), 0);
	touch(c, 9, 2, 10);
	fs_cache_drop(c, 9, 2);
	ck_assert_int_eq(fs_cache_peek(c, &k, &r), -ENOENT);
	fs_cache_free(c);
}
END_TEST

START_TEST(test_zero_size)
{
	struct fs_cache *c;
	struct fs_cache_ref r;
	struct fs_cache_key k = { 1, 1, 0 };

	ck_assert_int_eq(fs_cache_new(0, &c), 0);
	ck_assert_int_eq(fs_cache_lookup(c, &k, &r), -ENOMEM);
	fs_cache_free(c);
}
END_TEST

struct waiter {
	struct fs_cache *c;
	struct fs_cache_key k;
	int result;
	int data_ok;
};

static void *wait_lookup(void *arg)
{
	struct waiter *w = arg;
	struct fs_cache_ref r;

	w->result = fs_cache_lookup(w->c, &w->k, &r);
	if (w->result == FS_CACHE_HIT) {
		w->data_ok = check_pattern(&w->k, r.data, r.len);
		fs_cache_put(w->c, &r);
	} else if (w->result == FS_CACHE_FILL) {
		fs_cache_abort(w->c, &r);
	}
	return NULL;
}

/* A second reader of a block being filled waits and then hits. */
START_TEST(test_concurrent_fill)
{
	struct fs_cache *c;
	struct fs_cache_ref r;
	struct waiter w;
	pthread_t t;

	ck_assert_int_eq(fs_cache_new(8 << 20, &c), 0);
	w = (struct waiter){ c, { 5, 5, 5 }, -1, 0 };
	ck_assert_int_eq(fs_cache_lookup(c, &w.k, &r), FS_CACHE_FILL);
	pthread_create(&t, NULL, wait_lookup, &w);
	usleep(50000);
	ck_assert_int_eq(w.result, -1);		/* still waiting */
	pattern(&w.k, r.data, BLK);
	fs_cache_publish(c, &r, BLK);
	pthread_join(t, NULL);
	ck_assert_int_eq(w.result, FS_CACHE_HIT);
	ck_assert(w.data_ok);
	fs_cache_put(c, &r);

	/* An aborted fill passes the job to the waiter. */
	w = (struct waiter){ c, { 6, 6, 6 }, -1, 0 };
	ck_assert_int_eq(fs_cache_lookup(c, &w.k, &r), FS_CACHE_FILL);
	pthread_create(&t, NULL, wait_lookup, &w);
	usleep(50000);
	fs_cache_abort(c, &r);
	pthread_join(t, NULL);
	ck_assert_int_eq(w.result, FS_CACHE_FILL);
	fs_cache_free(c);
}
END_TEST

static void *stress(void *arg)
{
	struct fs_cache *c = arg;
	unsigned seed = (unsigned)(uintptr_t)pthread_self();

	for (int i = 0; i < 20000; i++)
		touch(c, rand_r(&seed) % 40, 1 + rand_r(&seed) % 2, rand_r(&seed) % 64);
	return NULL;
}

START_TEST(test_threads)
{
	struct fs_cache *c;
	struct fs_cache_stats st;
	pthread_t t[4];

	ck_assert_int_eq(fs_cache_new(32 << 20, &c), 0);
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, stress, c);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	fs_cache_get_stats(c, &st);
	ck_assert_uint_eq(st.pinned, 0);
	ck_assert_uint_le(st.used, st.blocks);
	ck_assert_uint_eq(st.hits + st.misses, 80000);
	fs_cache_free(c);
}
END_TEST

int main(void)
{
	TCase *tc;
	Suite *s = gn_unit_suite("fs_cache", &tc);

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_fill_then_hit);
	tcase_add_test(tc, test_bounded);
	tcase_add_test(tc, test_scan_resistant);
	tcase_add_test(tc, test_pinned_not_evicted);
	tcase_add_test(tc, test_drop);
	tcase_add_test(tc, test_zero_size);
	tcase_add_test(tc, test_concurrent_fill);
	tcase_add_test(tc, test_threads);
	return gn_unit_run(s);
}
