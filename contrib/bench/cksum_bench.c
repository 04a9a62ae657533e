/*
 * cksum_bench.c - the measurement behind common/cksum.h's choice: per-block
 * checksum candidates against memcpy on 64 KiB blocks in cache and on a
 * 256 MiB buffer out of cache.  Prints GB/s and ratios to memcpy.
 *
 * CRC32C here is a portable slice-by-8 table implementation (what we would
 * have to hand-write without ISA-L) and the SSE4.2 instruction when the
 * CPU has it, so the comparison is fair to CRC32C's best case.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <xxhash.h>
#ifdef __x86_64__
#include <nmmintrin.h>
#endif

static uint32_t crc_table[8][256];

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0x82F63B78 : c >> 1;
		crc_table[0][i] = c;
	}
	for (uint32_t i = 0; i < 256; i++)
		for (int t = 1; t < 8; t++)
			crc_table[t][i] = (crc_table[t - 1][i] >> 8) ^
					  crc_table[0][crc_table[t - 1][i] & 0xff];
}

static uint64_t crc32c_sw(const void *data, size_t len)
{
	const unsigned char *p = data;
	uint32_t c = ~0u;

	while (len >= 8) {
		uint64_t v;
		memcpy(&v, p, 8);
		v ^= c;
		c = crc_table[7][v & 0xff] ^ crc_table[6][(v >> 8) & 0xff] ^
		    crc_table[5][(v >> 16) & 0xff] ^ crc_table[4][(v >> 24) & 0xff] ^
		    crc_table[3][(v >> 32) & 0xff] ^ crc_table[2][(v >> 40) & 0xff] ^
		    crc_table[1][(v >> 48) & 0xff] ^ crc_table[0][v >> 56];
		p += 8;
		len -= 8;
	}
	while (len--)
		c = (c >> 8) ^ crc_table[0][(c ^ *p++) & 0xff];
	return ~c;
}

#ifdef __x86_64__
__attribute__((target("sse4.2")))
static uint64_t crc32c_hw(const void *data, size_t len)
{
	const unsigned char *p = data;
	uint64_t c = ~0u;

	while (len >= 8) {
		uint64_t v;
		memcpy(&v, p, 8);
		c = _mm_crc32_u64(c, v);
		p += 8;
		len -= 8;
	}
	while (len--)
		c = _mm_crc32_u8((uint32_t)c, *p++);
	return ~(uint32_t)c;
}
#endif

static uint64_t xxh3(const void *d, size_t n) { return XXH3_64bits(d, n); }
static uint64_t xxh64(const void *d, size_t n) { return XXH64(d, n, 0); }

static unsigned char *dst;
static uint64_t do_memcpy(const void *d, size_t n)
{
	memcpy(dst, d, n);
	return dst[n / 2];
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* GB/s of fn over buf in 64 KiB blocks, best of 3 passes. */
static double rate(uint64_t (*fn)(const void *, size_t), const unsigned char *buf,
		   size_t len, int passes)
{
	double best = 0;
	volatile uint64_t sink = 0;

	for (int r = 0; r < 3; r++) {
		double t0 = now();
		for (int p = 0; p < passes; p++)
			for (size_t off = 0; off < len; off += 65536)
				sink += fn(buf + off, 65536);
		double gbs = (double)len * passes / (now() - t0) / 1e9;
		if (gbs > best)
			best = gbs;
	}
	(void)sink;
	return best;
}

int main(void)
{
	size_t big = 256 << 20, small = 64 << 10;
	unsigned char *buf = malloc(big);
	struct { const char *name; uint64_t (*fn)(const void *, size_t); } c[] = {
		{ "memcpy", do_memcpy },
		{ "xxh3-64", xxh3 },
		{ "xxh64", xxh64 },
		{ "crc32c-sw", crc32c_sw },
#ifdef __x86_64__
		{ "crc32c-sse4.2", crc32c_hw },
#endif
	};
	double base_hot = 0, base_cold = 0;

	dst = malloc(big);
	for (size_t i = 0; i < big; i++)
		buf[i] = (unsigned char)(i * 2654435761u >> 13);
	memset(dst, 1, big);
	crc_init();
	printf("%-14s %12s %8s %12s %8s\n", "function", "hot GB/s", "ratio",
	       "cold GB/s", "ratio");
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		double hot = rate(c[i].fn, buf, small, 4000);
		double cold = rate(c[i].fn, buf, big, 1);
		if (i == 0) {
			base_hot = hot;
			base_cold = cold;
		}
		printf("%-14s %12.2f %8.2f %12.2f %8.2f\n", c[i].name, hot,
		       hot / base_hot, cold, cold / base_cold);
	}
	printf("(64 KiB blocks; hot = one block in cache, cold = 256 MiB buffer; "
	       "ratio = speed / memcpy speed)\n");
	free(buf);
	free(dst);
	return 0;
}
