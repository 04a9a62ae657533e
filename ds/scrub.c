/*
 * scrub.c - background re-verification of every stored version, read from
 * the disk (O_DIRECT where possible) at no more than `rate` bytes per
 * second, in (chunk id, version) order, one pass per `interval` (as
 * Ceph's deep scrub: a store verified back to back would keep its disk
 * busy for good, competing with every foreground read).  Damage is handled
 * by the store (quarantine) and its on_bad callback (count, report to the
 * MDS); this file only walks and paces.
 */
#include "config.h"
#include "ds/ds.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/status.h"
#include "common/util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <time.h>

#define PAGE 64
#define IDLE_MS 1000

struct ds_scrub {
	struct ds *ds;
	uint64_t rate;
	int64_t interval_ns;
	pthread_t thr;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop;
};

/* Sleep until the monotonic time t_ns or stop; returns true on stop. */
static bool sleep_until(struct ds_scrub *s, int64_t t_ns)
{
	struct timespec ts = { .tv_sec = t_ns / 1000000000, .tv_nsec = t_ns % 1000000000 };
	bool stop;

	pthread_mutex_lock(&s->mu);
	while (!s->stop && gn_mono_ns() < t_ns)
		if (pthread_cond_timedwait(&s->cv, &s->mu, &ts))
			break;
	stop = s->stop;
	pthread_mutex_unlock(&s->mu);
	return stop;
}

static void *scrub_main(void *arg)
{
	struct ds_scrub *s = arg;
	struct ds *ds = s->ds;
	struct ds_chunk_stat page[PAGE];
	uint64_t aid = 0, aver = 0, pass_versions = 0;
	int64_t next = gn_mono_ns(), pass_start = next;
	bool stop = false;

	while (!stop) {
		size_t n = 0;
		bool eof = true;

		ds_store_list(ds->store, aid, aver, PAGE, page, &n, &eof);
		for (size_t i = 0; i < n && !stop; i++) {
			uint64_t bytes = 0;
			int ret = ds_store_verify(ds->store, page[i].chunk_id,
						  page[i].version, &bytes);

			aid = page[i].chunk_id;
			aver = page[i].version;
			pass_versions++;
			if (ret == 0) {
				uint64_t nb = gn_cksum_count(page[i].length);

				atomic_fetch_add(&ds->scrubbed_blocks, nb);
				gn_metric_add(ds->m.scrubbed_blocks, nb);
			} else if (ret != -ENOENT && ret != -GN_ERR_CKSUM) {
				log_warn("scrub cannot read chunk %016" PRIx64 " version %"
					 PRIu64 ": %s", aid, aver, gn_strerror(ret));
			}
			/* Pace: each byte read buys 1/rate seconds. */
			next = GN_MAX(next, gn_mono_ns()) +
			       (int64_t)((double)bytes * 1e9 / (double)s->rate);
			stop = sleep_until(s, next);
		}
		if (eof && !stop) {
			if (pass_versions)
				log_debug("scrub pass done versions=%" PRIu64 " seconds=%.1f",
					  pass_versions, (gn_mono_ns() - pass_start) / 1e9);
			aid = aver = 0;
			pass_versions = 0;
			/* Do not spin over an empty or tiny store. */
			stop = sleep_until(s, GN_MAX(GN_MAX(next, pass_start + s->interval_ns),
						     gn_mono_ns() + (int64_t)IDLE_MS * 1000000));
			pass_start = gn_mono_ns();
		}
	}
	return NULL;
}

int ds_scrub_start(struct ds *ds, uint64_t rate, int64_t interval_s,
		   struct ds_scrub **out)
{
	struct ds_scrub *s = xcalloc(1, sizeof(*s));
	pthread_condattr_t ca;
	int ret;

	s->ds = ds;
	s->rate = rate;
	s->interval_ns = interval_s * 1000000000;
	pthread_mutex_init(&s->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->cv, &ca);
	pthread_condattr_destroy(&ca);
	ret = -pthread_create(&s->thr, NULL, scrub_main, s);
	if (ret) {
		pthread_mutex_destroy(&s->mu);
		pthread_cond_destroy(&s->cv);
		free(s);
		return ret;
	}
	*out = s;
	return 0;
}

void ds_scrub_stop(struct ds_scrub *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->mu);
	s->stop = true;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->thr, NULL);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	free(s);
}
