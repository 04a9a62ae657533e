/*
 * check_fs_dcache.c - the disk cache tier (fs/dcache.c) on a temp dir, and
 * the read path (fs/io_read.c) in front of it with no data server: what it
 * serves can only come from the tiers.
 */
#include "config.h"
#include "fs/dcache.h"
#include "fs/fs_i.h"
#include "fs/io.h"
#include "common/conf.h"

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
	ck_assert(fs_dcache_contains(d, &k));
	/* Another version, tag or length is never served (and a wrong tag
	 * or length discards the record). */
	k.version = 6;
	ck_assert(!fs_dcache_contains(d, &k));
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

/* A session with a RAM cache of one block and a disk tier in dir that
 * holds both blocks of chunk c (as an earlier mount left them), and an
 * inode of 2 blocks whose only chunk is c, on a replica 9 the session
 * does not know: reads can only be served from the tiers. */
static const struct fs_chunk tier_c = { .index = 0, .id = 42, .version = 5,
					.digest = 0xd16e57, .length = 2 * BLK,
					.nrep = 1, .rep = { 9 } };
static unsigned char tier_want[2 * BLK];

static struct fs_inode *tier_session(struct fs_session *s, struct gn_conf *conf)
{
	struct fs_inode *in;
	char err[128];

	gn_conf_init(conf);
	ck_assert_int_eq(gn_conf_set(conf, "client", "cache_dir", dir, err, sizeof(err)), 0);
	ck_assert_int_eq(gn_conf_set(conf, "client", "cache_dir_size", "64M", err,
				     sizeof(err)), 0);
	fs_session_init(s, &conf->client);
	ck_assert_int_eq(fs_cache_new(BLK, &s->cache), 0);
	fs_session_dcache_open(s);
	ck_assert_ptr_nonnull(s->dcache);
	for (uint32_t b = 0; b < 2; b++) {
		struct fs_cache_key k = { tier_c.id, tier_c.version, b };

		pattern(tier_c.id, b, tier_want + b * BLK, BLK);
		fs_dcache_spill(s->dcache, &k, tier_c.digest, tier_want + b * BLK, BLK, true);
	}
	fs_dcache_drain(s->dcache);
	in = fs_inode_get(s, 7);
	in->have_map = true;
	in->size = 2 * BLK;
	fs_chunkmap_put(&in->map, &tier_c);
	return in;
}

static void tier_session_end(struct fs_session *s, struct gn_conf *conf,
			     struct fs_inode *in)
{
	fs_inode_put(s, in);
	fs_session_release(s);
	gn_conf_release(conf);
}

/*
 * A block the RAM cache cannot take (every block of its stripe pinned by
 * a fill in flight, as deep prefetch into a small cache_size does) is
 * still read from the disk tier, not sent to the data servers.  Here the
 * RAM cache is one block, pinned, and the network path fails with EIO.
 */
START_TEST(test_read_ram_pinned)
{
	static char got[2 * BLK];
	const unsigned char *want = tier_want;
	struct fs_cache_key other = { 43, 1, 0 };
	struct fs_cache_ref pin;
	struct fs_dcache_stats st;
	struct fs_session s;
	struct fs_inode *in;
	struct gn_conf conf;
	size_t n = 0;

	in = tier_session(&s, &conf);
	ck_assert_int_eq(fs_cache_lookup(s.cache, &other, &pin), FS_CACHE_FILL);
	/* Unaligned at both ends: each block copies only its wanted part. */
	ck_assert_int_eq(fs_io_read(&s, in, 100, 2 * BLK - 300, got, &n), 0);
	ck_assert_uint_eq(n, 2 * BLK - 300);
	ck_assert_mem_eq(got, want + 100, 2 * BLK - 300);
	/* A whole block lands in the destination directly. */
	memset(got, 0, sizeof(got));
	ck_assert_int_eq(fs_io_read(&s, in, BLK, BLK, got, &n), 0);
	ck_assert_mem_eq(got, want + BLK, BLK);
	fs_dcache_get_stats(s.dcache, &st);
	ck_assert_uint_eq(st.hits, 3);
	ck_assert_uint_eq(st.misses, 0);

	/* With the RAM block free again, the disk tier fills it. */
	fs_cache_abort(s.cache, &pin);
	memset(got, 0, sizeof(got));
	ck_assert_int_eq(fs_io_read(&s, in, 0, BLK, got, &n), 0);
	ck_assert_mem_eq(got, want, BLK);
	ck_assert_int_eq(fs_cache_peek(s.cache, &(struct fs_cache_key){ 42, 5, 0 }, &pin),
			 FS_CACHE_HIT);
	fs_cache_put(s.cache, &pin);
	tier_session_end(&s, &conf, in);
}
END_TEST

/* The iov of p as one buffer. */
static size_t gather(const struct fs_io_pinned *p, char *out)
{
	size_t n = 0;

	for (int i = 0; i < p->niov; i++) {
		memcpy(out + n, p->iov[i].iov_base, p->iov[i].iov_len);
		n += p->iov[i].iov_len;
	}
	return n;
}

/*
 * fs_io_read_fill (every read the cache does not hold): it answers from
 * pinned cache blocks when the RAM cache takes the range, and from a
 * buffer of its own when it cannot (a block pinned elsewhere, a range
 * larger than the cache); the bytes are the same either way, a pinned
 * answer points into the cache, and nothing stays pinned after release.
 */
START_TEST(test_read_fill)
{
	static char got[2 * BLK];
	struct fs_cache_key other = { 43, 1, 0 };
	struct fs_io_pinned p;
	struct fs_cache_ref pin;
	struct fs_session s;
	struct fs_inode *in;
	struct gn_conf conf;

	in = tier_session(&s, &conf);
	/* The only RAM block is taken: a copy, from the disk tier. */
	ck_assert_int_eq(fs_cache_lookup(s.cache, &other, &pin), FS_CACHE_FILL);
	ck_assert_int_eq(fs_io_read_fill(&s, in, 100, 2 * BLK - 300, &p), 0);
	ck_assert_ptr_nonnull(p.buf);
	ck_assert_uint_eq(p.len, 2 * BLK - 300);
	ck_assert_uint_eq(gather(&p, got), 2 * BLK - 300);
	ck_assert_mem_eq(got, tier_want + 100, 2 * BLK - 300);
	fs_io_pinned_release(&s, &p);
	ck_assert_ptr_null(p.buf);
	fs_cache_abort(s.cache, &pin);

	/* Room for the block: filled into the cache and answered from it. */
	ck_assert_int_eq(fs_io_read_fill(&s, in, BLK + 10, 1000, &p), 0);
	ck_assert_ptr_null(p.buf);
	ck_assert_int_eq(p.niov, 1);
	ck_assert_uint_eq(p.len, 1000);
	ck_assert_mem_eq(p.iov[0].iov_base, tier_want + BLK + 10, 1000);
	/* Pinned: the one block cannot be taken for another key. */
	ck_assert_int_eq(fs_cache_lookup(s.cache, &other, &pin), -ENOMEM);
	fs_io_pinned_release(&s, &p);
	ck_assert_int_eq(fs_cache_lookup(s.cache, &other, &pin), FS_CACHE_FILL);
	fs_cache_abort(s.cache, &pin);

	/* Two blocks through a one-block cache: a copy again. */
	ck_assert_int_eq(fs_io_read_fill(&s, in, 0, 2 * BLK, &p), 0);
	ck_assert_ptr_nonnull(p.buf);
	ck_assert_uint_eq(gather(&p, got), 2 * BLK);
	ck_assert_mem_eq(got, tier_want, 2 * BLK);
	fs_io_pinned_release(&s, &p);

	/* At and past the end: nothing. */
	ck_assert_int_eq(fs_io_read_fill(&s, in, 2 * BLK, 10, &p), 0);
	ck_assert_int_eq(p.niov, 0);
	ck_assert_uint_eq(p.len, 0);
	fs_io_pinned_release(&s, &p);
	tier_session_end(&s, &conf, in);
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
	tcase_add_test(tc, test_read_ram_pinned);
	tcase_add_test(tc, test_read_fill);
	return gn_unit_run(s);
}
