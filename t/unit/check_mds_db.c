/* check_mds_db.c - the MDS store: group commit isolation, map growth */
#include "config.h"
#include "mds/db.h"
#include "common/log.h"
#include "common/util.h"

#include "t/unit/unit.h"

#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char dir[256];
static struct db *db;

static void setup(void)
{
	struct db_opts o = { .map_size = 1 << 20, .group_commit = true };

	snprintf(dir, sizeof(dir), "/tmp/check_mds_db.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	o.dir = dir;
	ck_assert_int_eq(db_open(&o, &db), 0);
}

static void teardown(void)
{
	char cmd[300];

	db_close(db);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

struct put_arg {
	uint64_t key;
	int fail;	/* return this after the put */
	size_t vlen;
};

static int put_fn(struct db_txn *t, void *p)
{
	struct put_arg *a = p;
	uint8_t k[8];
	char *v = xcalloc(1, a->vlen + 1);
	int ret;

	db_be64(k, a->key);
	ret = db_put(t, DB_COUNTER, k, sizeof(k), v, a->vlen, 0);
	free(v);
	return ret ? ret : a->fail;
}

static void *writer(void *p)
{
	struct put_arg *a = p;
	long ret = db_write(db, put_fn, a);
	return (void *)ret;
}

static bool present(uint64_t key)
{
	struct db_txn *t;
	uint8_t k[8];
	int ret;

	db_be64(k, key);
	ck_assert_int_eq(db_read_begin(db, &t), 0);
	ret = db_get(t, DB_COUNTER, k, sizeof(k), NULL, NULL);
	db_txn_end(t);
	return ret == 0;
}

/* Concurrent writers share commits; a failing one leaves no trace and
 * does not disturb the others. */
START_TEST(test_isolation)
{
	struct put_arg a[32];
	pthread_t th[32];
	struct db_stats st;

	for (int round = 0; round < 5; round++) {
		for (int i = 0; i < 32; i++) {
			a[i] = (struct put_arg){ .key = (uint64_t)round * 100 + i,
						 .fail = i % 3 == 0 ? -EINVAL : 0, .vlen = 10 };
			pthread_create(&th[i], NULL, writer, &a[i]);
		}
		for (int i = 0; i < 32; i++) {
			void *ret;
			pthread_join(th[i], &ret);
			ck_assert_int_eq((long)ret, a[i].fail);
		}
		for (int i = 0; i < 32; i++)
			ck_assert_int_eq(present(a[i].key), a[i].fail == 0);
	}
	db_get_stats(db, &st);
	ck_assert_uint_eq(st.ops, 160);
	ck_assert_uint_lt(st.commits, st.ops);
}
END_TEST

/* The map starts at 1 MiB and grows as data comes in. */
START_TEST(test_growth)
{
	struct db_stats st;

	for (int i = 0; i < 200; i++) {
		struct put_arg a = { .key = (uint64_t)i, .vlen = 60000 };
		ck_assert_int_eq(db_write(db, put_fn, &a), 0);
	}
	db_get_stats(db, &st);
	ck_assert_uint_gt(st.map_size, 8 << 20);
	for (int i = 0; i < 200; i++)
		ck_assert(present((uint64_t)i));
}
END_TEST

/* With a hard limit, a write that does not fit fails with ENOSPC and
 * nothing of it is stored; the store keeps working. */
START_TEST(test_limit)
{
	struct db_opts o = { .map_size = 1 << 20, .max_map_size = 2 << 20,
			     .group_commit = false };
	int ret = 0, i;

	db_close(db);
	o.dir = dir;
	ck_assert_int_eq(db_open(&o, &db), 0);
	for (i = 1000; i < 2000 && ret == 0; i++) {
		struct put_arg a = { .key = (uint64_t)i, .vlen = 30000 };
		ret = db_write(db, put_fn, &a);
	}
	ck_assert_int_eq(ret, -ENOSPC);
	ck_assert(!present((uint64_t)i - 1));
	ck_assert(present(1000));
	{
		struct put_arg a = { .key = 1, .vlen = 8 };
		/* Small writes may still fit in freed pages, or fail cleanly. */
		ret = db_write(db, put_fn, &a);
		ck_assert(ret == 0 || ret == -ENOSPC);
	}
}
END_TEST

START_TEST(test_counters)
{
	struct db_txn *t;
	uint64_t v = 0;

	ck_assert_int_eq(db_read_begin(db, &t), 0);
	ck_assert_int_eq(db_counter_get(t, "nothing", &v), 0);
	ck_assert_uint_eq(v, 0);
	db_txn_end(t);
}
END_TEST

int main(void)
{
	TCase *tc;
	Suite *s = gn_unit_suite("mds_db", &tc);

	gn_log_init("check_mds_db", GN_LOG_ERR);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_isolation);
	tcase_add_test(tc, test_growth);
	tcase_add_test(tc, test_limit);
	tcase_add_test(tc, test_counters);
	return gn_unit_run(s);
}
