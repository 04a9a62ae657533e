/* check_cksum.c - block checksums against known XXH3-64 vectors. */
#include "config.h"
#include "common/cksum.h"

#include "t/unit/unit.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

/* Reference values of XXH3_64bits (seed 0) published with xxHash. */
START_TEST(test_vectors)
{
	ck_assert_uint_eq(gn_cksum("", 0), 0x2D06800538D394C2ULL);
	ck_assert_uint_eq(gn_cksum("a", 1), 0xE6C632B61E964E1FULL);
	ck_assert_uint_eq(gn_cksum("abc", 3), 0x78AF5F94892F3950ULL);
}
END_TEST

START_TEST(test_blocks_split)
{
	size_t len = 2 * GN_BLOCK_SIZE + 100;
	unsigned char *buf = malloc(len);
	uint64_t c[3];

	for (size_t i = 0; i < len; i++)
		buf[i] = (unsigned char)(i * 31 + 7);
	ck_assert_uint_eq(gn_cksum_count(len), 3);
	ck_assert_uint_eq(gn_cksum_blocks(buf, len, c), 3);
	ck_assert_uint_eq(c[0], gn_cksum(buf, GN_BLOCK_SIZE));
	ck_assert_uint_eq(c[1], gn_cksum(buf + GN_BLOCK_SIZE, GN_BLOCK_SIZE));
	ck_assert_uint_eq(c[2], gn_cksum(buf + 2 * GN_BLOCK_SIZE, 100));
	/* One flipped bit changes exactly that block's checksum. */
	buf[GN_BLOCK_SIZE + 5] ^= 1;
	ck_assert_uint_ne(gn_cksum(buf + GN_BLOCK_SIZE, GN_BLOCK_SIZE), c[1]);
	ck_assert_uint_eq(gn_cksum(buf, GN_BLOCK_SIZE), c[0]);
	free(buf);
}
END_TEST

START_TEST(test_digest_order_matters)
{
	uint64_t a[2] = { 1, 2 }, b[2] = { 2, 1 };

	ck_assert_uint_ne(gn_cksum_digest(a, 2), gn_cksum_digest(b, 2));
	ck_assert_uint_eq(gn_cksum_digest(a, 2), gn_cksum_digest(a, 2));
	ck_assert_uint_eq(gn_cksum_count(0), 0);
	ck_assert_uint_eq(GN_BLOCKS_PER_CHUNK, 64);
}
END_TEST

int main(void)
{
	TCase *tc;
	Suite *s = gn_unit_suite("cksum", &tc);

	tcase_add_test(tc, test_vectors);
	tcase_add_test(tc, test_blocks_split);
	tcase_add_test(tc, test_digest_order_matters);
	return gn_unit_run(s);
}
