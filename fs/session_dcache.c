/*
 * session_dcache.c - the mount's disk cache tier: open it at mount behind
 * the RAM cache, export its counters, write back the RAM cache at unmount.
 */
#include "config.h"
#include "fs/fs_i.h"
#include "fs/cache.h"
#include "fs/dcache.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/util.h"

#include <stddef.h>
#include <string.h>

static void spill_cb(void *arg, const struct fs_cache_key *key, uint64_t tag,
		     const unsigned char *data, uint32_t len, bool wait)
{
	fs_dcache_spill(arg, key, tag, data, len, wait);
}

/* The tier's counters: name, help, and where fs_dcache_stats keeps it. */
static const struct {
	const char *name, *help;
	size_t off;
} dc_counters[] = {
#define DC(n, h, f) { "gannet_client_disk_cache_" n, h, offsetof(struct fs_dcache_stats, f) }
	DC("hits_total", "blocks served from the disk cache tier", hits),
	DC("misses_total", "RAM misses the disk cache tier could not serve", misses),
	DC("read_bytes_total", "bytes served from the disk cache tier", hit_bytes),
	DC("written_bytes_total", "bytes written to the disk cache tier", spill_bytes),
	DC("dropped_total", "blocks not spilled: queue full or tier unwritable", dropped),
	DC("discarded_total", "disk cache blocks discarded by verification", discarded),
#undef DC
};
_Static_assert(GN_ARRAY_SIZE(dc_counters) == GN_ARRAY_SIZE(((struct fs_session *)0)->m.dc),
	       "one metric per counter");

void fs_session_dcache_open(struct fs_session *s)
{
	const char *dir = s->conf->cache_dir;

	for (size_t i = 0; i < GN_ARRAY_SIZE(dc_counters); i++)
		s->m.dc[i] = gn_metric_counter(dc_counters[i].name, dc_counters[i].help, NULL);
	s->m.dc_bytes = gn_metric_gauge("gannet_client_disk_cache_bytes",
					"bytes of segment files of the disk cache tier", NULL);
	/* Without a RAM cache nothing is evicted and nothing can be filled. */
	if (!dir || !*dir || !s->cache)
		return;
	/* Errors are logged by fs_dcache_open; the mount goes on without. */
	if (fs_dcache_open(dir, s->conf->cache_dir_size, &s->dcache))
		return;
	fs_cache_set_spill(s->cache, spill_cb, s->dcache);
}

void fs_session_dcache_collect(struct fs_session *s)
{
	struct fs_dcache_stats st;

	if (!s->dcache)
		return;
	fs_dcache_get_stats(s->dcache, &st);
	for (size_t i = 0; i < GN_ARRAY_SIZE(dc_counters); i++) {
		uint64_t now;

		memcpy(&now, (const char *)&st + dc_counters[i].off, sizeof(now));
		gn_metric_add(s->m.dc[i], now - s->m.dc_last[i]);
		s->m.dc_last[i] = now;
	}
	gn_metric_set(s->m.dc_bytes, (double)st.disk_bytes);
}

void fs_session_dcache_close(struct fs_session *s)
{
	if (!s->dcache)
		return;
	struct fs_dcache_stats a, b;

	/* What is still in memory goes to disk, so a remount finds it. */
	fs_dcache_get_stats(s->dcache, &a);
	fs_cache_spill_all(s->cache);
	fs_dcache_drain(s->dcache);
	fs_dcache_get_stats(s->dcache, &b);
	log_info("disk cache closing: %llu blocks written from memory, %llu dropped",
		 (unsigned long long)(b.spilled - a.spilled),
		 (unsigned long long)(b.dropped - a.dropped));
	fs_cache_set_spill(s->cache, NULL, NULL);
	fs_dcache_close(s->dcache);
	s->dcache = NULL;
}
