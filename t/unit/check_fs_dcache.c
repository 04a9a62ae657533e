/* check_fs_dcache.c - the disk cache tier (fs/dcache.c) on a temp dir. */
#include "config.h"
#include "fs/dcache.h"

#include "t/unit/unit.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BLK FS_CACHE_BLOCK
#define MiB ((uint64_t)1 << 20)
#define SMALL (8 * MiB + (64 << 10))	/* 8 segments of 1 MiB */

static char dir[64];

static void setup(void)
{
	strcpy(dir, "/tmp/check_dcache.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static void pattern(uint64_t id, uint32_t blk, unsigned char *p, uint32_t len)
{
	for (uint32_t i = 0; i < len; i++)
		p[i] = (unsigned char)(id * 31 + blk * 7 + i * 13 + (i >> 9));
}

static void put(struct fs_dcache *d, uint64_t id, uint32_t blk, uint32_t len)
{
	static unsigned char buf[BLK];
	struct fs_cache_key k = { id, 5, blk };

	pattern(id, blk, buf, len);
	fs_dcache_spill(d, &k, id ^ 0xabc, buf, len, true);
}

/* 1 when the block reads back verified with the right bytes. */
static int get(struct fs_dcache *d, uint64_t id, uint32_t blk, uint32_t len)
{
	static unsigned char buf[BLK], want[BLK];
	struct fs_cache_key k = { id, 5, blk };

	if (fs_dcache_read(d, &k, id ^ 0xabc, buf, len))
		return 0;
	pattern(id, blk, want, len);
	ck_assert_mem_eq(buf, want, len);
	return 1;
}

static uint64_t du(void)
{
	DIR *dp = opendir(dir);
	struct dirent *de;
	uint64_t sum = 0;

	ck_assert_ptr_nonnull(dp);
	while ((de = readdir(dp))) {
		struct stat st;
		if (!fstatat(dirfd(dp), de->d_name, &st, 0))
			sum += (uint64_t)st.st_blocks * 512;
	}
	closedir(dp);
	return sum;
}

START_TEST(test_spill_read_reopen)
{
	struct fs_dcache *d;
	struct fs_cache_key k = { 1, 5, 0 };
	unsigned char buf[BLK];
	struct fs_dcache_stats st;

	ck_assert_int_eq(fs_dcache_open(dir, 64 * MiB, &d), 0);
	put(d, 1, 0, BLK);
	put(d, 2, 3, 1000);		/* a short last block */
	fs_dcache_drain(d);
	ck_assert_int_eq(get(d, 1, 0, BLK), 1);
	ck_assert_int_eq(get(d, 2, 3, 1000), 1);
	/* Another version, tag or length is never served. */
	k.version = 6;
	ck_assert_int_eq(fs_dcache_read(d, &k, 1 ^ 0xabc, buf, BLK), -ENOENT);
	k.version = 5;
	ck_assert_int_eq(fs_dcache_read(d, &k, 77, buf, BLK), -ENOENT);
	ck_assert_int_eq(get(d, 2, 3, 999), 0);
	ck_assert_int_eq(get(d, 3, 0, BLK), 0);
	fs_dcache_get_stats(d, &st);
	ck_assert_uint_eq(st.spilled, 2);
	ck_assert_uint_eq(st.hits, 2);
	fs_dcache_close(d);

	/* The index is rebuilt from the segments. */
	ck_assert_int_eq(fs_dcache_open(dir, 64 * MiB, &d), 0);
	fs_dcache_get_stats(d, &st);
	/* (2,3) was only forgotten in memory (asked with another length). */
	ck_assert_uint_eq(st.entries, 2);
	ck_assert_int_eq(get(d, 1, 0, BLK), 1);
	/* Spilling a stored key again writes nothing. */
	put(d, 1, 0, BLK);
	put(d, 4, 1, BLK);
	fs_dcache_drain(d);
	fs_dcache_get_stats(d, &st);
	ck_assert_uint_eq(st.spilled, 1);
	fs_dcache_close(d);
	ck_assert_int_eq(fs_dcache_open(dir, 64 * MiB, &d), 0);
	ck_assert_int_eq(get(d, 1, 0, BLK), 1);
	ck_assert_int_eq(get(d, 4, 1, BLK), 1);
	fs_dcache_close(d);
}
END_TEST

/* XOR one byte of a file on disk with mask (a corruption to detect). */
static void flip_byte(const char *path, off_t off, unsigned char mask)
{
	unsigned char c;
	int fd = open(path, O_RDWR);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pread(fd, &c, 1, off), 1);
	c ^= mask;
	ck_assert_int_eq(pwrite(fd, &c, 1, off), 1);
	close(fd);
}

/* Flip one byte of a record's data on disk: the read misses, the entry
 * is discarded, and a torn tail after a remount loses only that record. */
START_TEST(test_corruption_discarded)
{
	struct fs_dcache *d;
	struct fs_dcache_stats st;
	char path[128];

	ck_assert_int_eq(fs_dcache_open(dir, 64 * MiB, &d), 0);
	for (uint32_t b = 0; b < 3; b++)
		put(d, 9, b, BLK);
	fs_dcache_drain(d);
	fs_dcache_close(d);
	snprintf(path, sizeof(path), "%s/seg-0000", dir);
	/* Record 1 starts at 512 + 66048; its data 64 bytes later. */
	flip_byte(path, 512 + 66048 + 64 + 100, 0x40);
	ck_assert_int_eq(fs_dcache_open(dir, 64 * MiB, &d), 0);
	ck_assert_int_eq(get(d, 9, 0, BLK), 1);
	ck_assert_int_eq(get(d, 9, 1, BLK), 0);
	ck_assert_int_eq(get(d, 9, 2, BLK), 1);
	fs_dcache_get_stats(d, &st);
	ck_assert_uint_eq(st.discarded, 1);
	ck_assert_int_eq(get(d, 9, 1, BLK), 0);	/* gone, not retried */
	fs_dcache_close(d);

	/* A corrupted record header ends the segment's walk there. */
	flip_byte(path, 512 + 2 * 66048 + 8, 0xff);
	ck_assert_int_eq(fs_dcache_open(dir, 64 * MiB, &d), 0);
	ck_assert_int_eq(get(d, 9, 0, BLK), 1);
	ck_assert_int_eq(get(d, 9, 2, BLK), 0);
	fs_dcache_close(d);
}
END_TEST

/* Far more spilled than fits: the directory never exceeds its size,
 * the newest blocks are kept, the oldest are gone (FIFO). */
START_TEST(test_bound_fifo)
{
	struct fs_dcache *d;
	struct fs_dcache_stats st;
	int newest = 0, oldest = 0;

	ck_assert_int_eq(fs_dcache_open(dir, SMALL, &d), 0);
	for (uint32_t i = 0; i < 400; i++) {
		put(d, 100 + i / 64, i % 64, BLK);
		if (i % 50 == 0) {
			fs_dcache_drain(d);
			ck_assert_uint_le(du(), SMALL);
		}
	}
	fs_dcache_drain(d);
	ck_assert_uint_le(du(), SMALL);
	fs_dcache_get_stats(d, &st);
	ck_assert_uint_eq(st.spilled, 400);
	ck_assert_uint_le(st.disk_bytes, SMALL);
	for (uint32_t i = 0; i < 400; i++) {
		int got = get(d, 100 + i / 64, i % 64, BLK);
		if (i >= 300)
			newest += got;
		if (i < 100)
			oldest += got;
	}
	ck_assert_int_eq(newest, 100);
	ck_assert_int_eq(oldest, 0);
	fs_dcache_close(d);
	/* A smaller size later: extra segment files are removed. */
	ck_assert_int_eq(fs_dcache_open(dir, 4 * MiB + (64 << 10), &d), 0);
	ck_assert_uint_le(du(), 4 * MiB + (64 << 10));
	fs_dcache_close(d);
}
END_TEST

START_TEST(test_bad_dirs)
{
	struct fs_dcache *d, *d2;
	char missing[128];

	snprintf(missing, sizeof(missing), "%s/nope", dir);
	ck_assert_int_eq(fs_dcache_open(missing, 64 * MiB, &d), -ENOENT);
	ck_assert_int_eq(fs_dcache_open(dir, MiB, &d), -EINVAL);
	ck_assert_int_eq(fs_dcache_open(dir, 64 * MiB, &d), 0);
	ck_assert_int_eq(fs_dcache_open(dir, 64 * MiB, &d2), -EBUSY);
	fs_dcache_close(d);
}
END_TEST

int main(void)
{
	TCase *tc;
	Suite *s = gn_unit_suite("fs_dcache", &tc);

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_spill_read_reopen);
	tcase_add_test(tc, test_corruption_discarded);
	tcase_add_test(tc, test_bound_fifo);
	tcase_add_test(tc, test_bad_dirs);
	return gn_unit_run(s);
}
