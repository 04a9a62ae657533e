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

static void spill_cb(void *arg, const struct fs_cache_key *key, uint64_t tag,
		     const unsigned char *data, uint32_t len, bool wait)
{
	fs_dcache_spill(arg, key, tag, data, len, wait);
}

void fs_session_dcache_open(struct fs_session *s)
{
	const char *dir = s->conf->cache_dir;

	s->m.dc_hits = gn_metric_counter("gannet_client_disk_cache_hits_total",
					 "blocks served from the disk cache tier", NULL);
	s->m.dc_misses = gn_metric_counter("gannet_client_disk_cache_misses_total",
					   "RAM misses the disk cache tier could not serve", NULL);
	s->m.dc_hit_bytes = gn_metric_counter("gannet_client_disk_cache_read_bytes_total",
					      "bytes served from the disk cache tier", NULL);
	s->m.dc_spill_bytes = gn_metric_counter("gannet_client_disk_cache_written_bytes_total",
						"bytes written to the disk cache tier", NULL);
	s->m.dc_dropped = gn_metric_counter("gannet_client_disk_cache_dropped_total",
					    "blocks not spilled: queue full or tier unwritable", NULL);
	s->m.dc_discarded = gn_metric_counter("gannet_client_disk_cache_discarded_total",
					      "disk cache blocks discarded by verification", NULL);
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
	uint64_t now[6];
	struct gn_metric *m[6] = { s->m.dc_hits, s->m.dc_misses, s->m.dc_hit_bytes,
				   s->m.dc_spill_bytes, s->m.dc_dropped,
				   s->m.dc_discarded };

	if (!s->dcache)
		return;
	fs_dcache_get_stats(s->dcache, &st);
	now[0] = st.hits;
	now[1] = st.misses;
	now[2] = st.hit_bytes;
	now[3] = st.spill_bytes;
	now[4] = st.dropped;
	now[5] = st.discarded;
	for (int i = 0; i < 6; i++) {
		gn_metric_add(m[i], now[i] - s->m.dc_last[i]);
		s->m.dc_last[i] = now[i];
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
