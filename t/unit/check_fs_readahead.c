/* check_fs_readahead.c - stream detection (fs/readahead.c). */
#include "config.h"
#include "fs/readahead.h"

#include "t/unit/unit.h"

#include <check.h>
#include <stdlib.h>

#define KiB ((uint64_t)1 << 10)
#define MiB ((uint64_t)1 << 20)

START_TEST(test_sequential_grows_to_max)
{
	struct fs_readahead ra;
	uint64_t off, len, prefetched_to = 0, last_len = 0;
	int fetches = 0;

	fs_ra_init(&ra, 16 * MiB);
	ck_assert(!fs_ra_read(&ra, 0, 128 * KiB, &off, &len));
	for (uint64_t pos = 128 * KiB; pos < 256 * MiB; pos += 128 * KiB) {
		if (fs_ra_read(&ra, pos, 128 * KiB, &off, &len)) {
			/* Contiguous, never behind the reader, never past max. */
			if (fetches)
				ck_assert_uint_eq(off, prefetched_to);
			ck_assert_uint_ge(off, pos);
			ck_assert_uint_le(off + len, pos + 128 * KiB + 16 * MiB);
			prefetched_to = off + len;
			last_len = len;
			fetches++;
		}
		/* The reader never catches up with the prefetch once started. */
		if (fetches > 3)
			ck_assert_uint_gt(prefetched_to, pos + 128 * KiB);
	}
	ck_assert_int_gt(fetches, 10);
	ck_assert_uint_ge(last_len, 8 * MiB);	/* window reached max/2 refills */
	ck_assert_uint_eq(ra.s[0].window, 16 * MiB);
}
END_TEST

START_TEST(test_random_no_prefetch)
{
	struct fs_readahead ra;
	uint64_t off, len, total = 0;
	unsigned seed = 1;

	fs_ra_init(&ra, 64 * MiB);
	for (int i = 0; i < 10000; i++) {
		uint64_t pos = ((uint64_t)rand_r(&seed) % (64 * 1024)) * 64 * KiB; /* 4 GiB file */
		if (fs_ra_read(&ra, pos, 4 * KiB, &off, &len))
			total += len;
	}
	/* Random 4 KiB reads of 40 MiB in all: prefetch stays marginal. */
	ck_assert_uint_lt(total, 16 * MiB);
}
END_TEST

/* Four readers of one file, interleaved in time, each sequential. */
START_TEST(test_interleaved_streams)
{
	struct fs_readahead ra;
	uint64_t off, len, got[4] = { 0 };

	fs_ra_init(&ra, 8 * MiB);
	for (uint64_t step = 0; step < 200; step++)
		for (int r = 0; r < 4; r++) {
			uint64_t pos = (uint64_t)r * 1024 * MiB + step * 256 * KiB;
			if (fs_ra_read(&ra, pos, 256 * KiB, &off, &len)) {
				ck_assert_uint_ge(off, (uint64_t)r * 1024 * MiB);
				got[r] += len;
			}
		}
	for (int r = 0; r < 4; r++)
		ck_assert_msg(got[r] >= 40 * MiB, "reader %d prefetched only %lu",
			      r, (unsigned long)got[r]);
}
END_TEST

START_TEST(test_hint_and_off)
{
	struct fs_readahead ra;
	uint64_t off, len;

	fs_ra_init(&ra, 32 * MiB);
	fs_ra_hint(&ra, 100 * MiB);
	ck_assert(fs_ra_read(&ra, 100 * MiB, 4 * KiB, &off, &len));
	ck_assert_uint_eq(off, 100 * MiB + 4 * KiB);	/* after the read itself */
	ck_assert_uint_ge(len, 32 * MiB);

	fs_ra_init(&ra, 0);		/* prefetch_max = 0: off */
	for (uint64_t pos = 0; pos < 64 * MiB; pos += MiB)
		ck_assert(!fs_ra_read(&ra, pos, MiB, &off, &len));
}
END_TEST

int main(void)
{
	TCase *tc;
	Suite *s = gn_unit_suite("fs_readahead", &tc);

	tcase_add_test(tc, test_sequential_grows_to_max);
	tcase_add_test(tc, test_random_no_prefetch);
	tcase_add_test(tc, test_interleaved_streams);
	tcase_add_test(tc, test_hint_and_off);
	return gn_unit_run(s);
}
