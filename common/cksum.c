/* cksum.c - see cksum.h */
#include "config.h"
#include "common/cksum.h"

#include <endian.h>
#define XXH_STATIC_LINKING_ONLY	/* XXH3_state_t on the stack */
#include <xxhash.h>

uint64_t gn_cksum(const void *data, size_t len)
{
	return XXH3_64bits(data, len);
}

size_t gn_cksum_blocks(const void *data, size_t len, uint64_t *out)
{
	const unsigned char *p = data;
	size_t n = 0;

	while (len > 0) {
		size_t k = len < GN_BLOCK_SIZE ? len : GN_BLOCK_SIZE;
		out[n++] = XXH3_64bits(p, k);
		p += k;
		len -= k;
	}
	return n;
}

uint64_t gn_cksum_digest(const uint64_t *cksums, size_t n)
{
	XXH3_state_t st;

	XXH3_64bits_reset(&st);
	for (size_t i = 0; i < n; i++) {
		uint64_t le = htole64(cksums[i]);
		XXH3_64bits_update(&st, &le, sizeof(le));
	}
	return XXH3_64bits_digest(&st);
}
