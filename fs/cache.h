/*
 * cache.h - the client's RAM read cache.
 *
 * One page-aligned arena of `size` bytes, mapped once at creation (with
 * huge pages when the kernel offers them) and never grown: the cache's
 * memory is bounded by construction.  The arena is cut into blocks of
 * FS_CACHE_BLOCK bytes (the checksum block size, so a block is verified as
 * a unit), each holding one 64 KiB-aligned piece of one chunk version.
 *
 * Keys are (chunk id, version, block index).  A chunk rewritten gets a new
 * version, so stale data can never be served: old versions are simply
 * never looked up again and age out.
 *
 * Eviction is S3-FIFO (Yang et al., SOSP'23): new blocks enter a small
 * FIFO (10 %); blocks read again while there move to the main FIFO; blocks
 * evicted from the small FIFO unread leave a "ghost" key, and a block
 * whose key is a ghost goes straight to main when it comes back.  A main
 * block read since its last pass gets another pass.  One large sequential
 * scan therefore flows through the small FIFO without flushing the hot
 * working set in main.
 *
 * Concurrency: the key space is split into stripes, each with its own
 * lock, index, queues and share of the arena, so FUSE threads reading
 * different blocks rarely contend.  A block handed out is pinned (never
 * evicted or reused) until fs_cache_put().
 *
 * Filling: a miss is filled by exactly one thread.  fs_cache_lookup()
 * either pins a ready block (hit), or reserves an empty block in FILLING
 * state for the caller (miss: the caller fetches, then publishes or
 * aborts), or waits while another thread fills that key.
 *
 * All functions are thread-safe.
 */
#ifndef FS_CACHE_H
#define FS_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FS_CACHE_BLOCK ((uint32_t)64 << 10)

struct fs_cache;

struct fs_cache_key {
	uint64_t chunk_id;
	uint64_t version;
	uint32_t block;		/* block index within the chunk, 0..63 */
};

/* A pinned block.  data is FS_CACHE_BLOCK bytes of arena memory; len is
 * the number of valid bytes (a chunk's last block may be short). */
struct fs_cache_ref {
	unsigned char *data;
	uint32_t len;
	uint32_t slot;		/* private */
	uint16_t stripe;	/* private */
};

struct fs_cache_stats {
	uint64_t hits;
	uint64_t misses;
	uint64_t evictions;
	uint64_t waits;		/* lookups that waited for another's fill */
	uint64_t blocks;	/* capacity in blocks */
	uint64_t used;		/* blocks holding data */
	uint64_t pinned;
};

/*
 * Create a cache of `size` bytes (rounded down to whole blocks; at least
 * one block per stripe is used, so very small sizes get fewer stripes).
 * size 0 is allowed and makes every lookup fail with -ENOMEM (cache off).
 * -ENOMEM if the arena cannot be mapped.
 */
int fs_cache_new(size_t size, struct fs_cache **out);
/* Free; no block may be pinned. */
void fs_cache_free(struct fs_cache *c);

enum fs_cache_result {
	FS_CACHE_HIT = 0,	/* ref pins a ready block */
	FS_CACHE_FILL = 1,	/* ref pins an empty block the caller must fill,
				   then fs_cache_publish() or fs_cache_abort() */
};

/*
 * Look key up.  Returns FS_CACHE_HIT or FS_CACHE_FILL with *ref set, or
 * -ENOMEM when every block of the key's stripe is pinned (the caller then
 * reads without caching).  Blocks while another thread fills the same
 * key; if that fill is aborted, this caller gets FS_CACHE_FILL itself.
 */
int fs_cache_lookup(struct fs_cache *c, const struct fs_cache_key *key,
		    struct fs_cache_ref *ref);

/* Like fs_cache_lookup but never reserves or waits: FS_CACHE_HIT or
 * -ENOENT (absent or being filled). */
int fs_cache_peek(struct fs_cache *c, const struct fs_cache_key *key,
		  struct fs_cache_ref *ref);

/* Whether key is ready in the cache now; no pin, and no effect on
 * eviction or the statistics (a report, not a use). */
bool fs_cache_contains(struct fs_cache *c, const struct fs_cache_key *key);

/* The caller filled ref->data with len valid bytes: make it visible to
 * lookups and wake waiters.  The block stays pinned until fs_cache_put. */
void fs_cache_publish(struct fs_cache *c, struct fs_cache_ref *ref,
		      uint32_t len);
/* Same, with an opaque tag kept with the block and handed to the spill
 * hook (the client stores the chunk digest). */
void fs_cache_publish_tag(struct fs_cache *c, struct fs_cache_ref *ref,
			  uint32_t len, uint64_t tag);

/*
 * Spill hook (the disk tier): called with each ready block the cache
 * evicts, on the evicting thread, without any cache lock held, before the
 * block's memory is reused; data is valid only during the call, which
 * must not block on I/O unless wait (only fs_cache_spill_all sets it).
 * Blocks dropped by fs_cache_drop or aborted fills are not offered.
 */
typedef void (*fs_cache_spill_fn)(void *arg, const struct fs_cache_key *key,
				  uint64_t tag, const unsigned char *data,
				  uint32_t len, bool wait);
/* Install the hook before the cache is used (not thread-safe). */
void fs_cache_set_spill(struct fs_cache *c, fs_cache_spill_fn fn, void *arg);
/* Offer every ready block to the hook with wait set (at unmount, so a
 * remount finds what was still in memory).  Pins each block during its
 * call; blocking. */
void fs_cache_spill_all(struct fs_cache *c);
/* The fill failed: drop the block, wake waiters (one of them retries),
 * and release the pin.  ref is dead afterwards. */
void fs_cache_abort(struct fs_cache *c, struct fs_cache_ref *ref);
/* Release a pin from a hit or a published fill. */
void fs_cache_put(struct fs_cache *c, struct fs_cache_ref *ref);

/* Drop the unpinned blocks of one chunk version (it was superseded):
 * frees memory early instead of waiting for eviction. */
void fs_cache_drop(struct fs_cache *c, uint64_t chunk_id, uint64_t version);

void fs_cache_get_stats(struct fs_cache *c, struct fs_cache_stats *st);

#endif
