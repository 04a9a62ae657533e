/*
 * session.c - the mount's session with the MDS.
 *
 * SessionOpen at mount (short deadline, so an unreachable MDS fails the
 * mount in seconds); then one thread keeps a SessionHeartbeat long poll
 * outstanding: it renews the session and carries lease recalls, which are
 * applied to the kernel's caches (fsop's fs_kernel_ops) and acknowledged
 * with the next poll.  When the MDS answers that it does not know the
 * session (it restarted), a new one is opened naming the old id
 * (reclaim_session_id); callers that saw the same epoch share one re-open.
 */
#include "config.h"
#include "fs/fs_i.h"
#include "fs/io.h"
#include "fs/cache.h"
#include "fs/mdsc.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/rpc.h"
#include "common/status.h"
#include "common/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* How long the MDS may hold a heartbeat: short enough that unmount does
 * not wait long for it, recalls wake it at once anyway. */
#define HB_WAIT_MS 1000
/* SessionOpen at mount gives up after this. */
#define MOUNT_DEADLINE_MS 5000

void fs_session_init(struct fs_session *s, struct gn_conf_client *conf)
{
	pthread_condattr_t ca;

	memset(s, 0, sizeof(*s));
	s->conf = conf;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->closes_cond, NULL);
	/* The closer waits with a CLOCK_MONOTONIC deadline. */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->closeq_cond, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&s->ds_lock, NULL);
	pthread_mutex_init(&s->upq_lock, NULL);
	pthread_cond_init(&s->upq_cond, NULL);
	pthread_mutex_init(&s->pfq_lock, NULL);
	pthread_cond_init(&s->pfq_cond, NULL);
	pthread_mutex_init(&s->rd_lock, NULL);
	pthread_cond_init(&s->rd_cond, NULL);
	fs_itab_init(s);
	s->m.read_bytes = gn_metric_counter("gannet_client_read_bytes_total",
					    "bytes returned to applications by read", NULL);
	s->m.written_bytes = gn_metric_counter("gannet_client_written_bytes_total",
					       "bytes accepted from applications by write", NULL);
	s->m.err_read = gn_metric_counter("gannet_client_errors_total",
					  "failures seen by the client", "kind=read");
	s->m.err_upload = gn_metric_counter("gannet_client_errors_total",
					    "failures seen by the client", "kind=upload");
	s->m.err_commit = gn_metric_counter("gannet_client_errors_total",
					    "failures seen by the client", "kind=commit");
	s->m.wb_bytes = gn_metric_gauge("gannet_client_writeback_bytes_in_flight",
					"write-back buffer bytes in use", NULL);
	s->m.cache_hits = gn_metric_counter("gannet_client_cache_hits_total",
					    "64 KiB blocks served from the RAM cache", NULL);
	s->m.cache_misses = gn_metric_counter("gannet_client_cache_misses_total",
					      "64 KiB blocks fetched from data servers", NULL);
	s->m.cache_bytes = gn_metric_gauge("gannet_client_cache_bytes",
					   "bytes held by the RAM cache", NULL);
	s->m.pf_bytes = gn_metric_gauge("gannet_client_prefetch_bytes_in_flight",
					"read-ahead bytes queued or being fetched", NULL);
}

/* The cache keeps its own counters; the metrics follow them at scrape. */
static void collect_cache(struct fs_session *s)
{
	struct fs_cache_stats st;

	if (!s->cache)
		return;
	fs_cache_get_stats(s->cache, &st);
	gn_metric_add(s->m.cache_hits, st.hits - s->m.last_hits);
	gn_metric_add(s->m.cache_misses, st.misses - s->m.last_misses);
	s->m.last_hits = st.hits;
	s->m.last_misses = st.misses;
	gn_metric_set(s->m.cache_bytes, (double)st.used * FS_CACHE_BLOCK);
	pthread_mutex_lock(&s->pfq_lock);
	gn_metric_set(s->m.pf_bytes, (double)s->pf_bytes);
	pthread_mutex_unlock(&s->pfq_lock);
}

/* At each scrape: buffers taken from the write-back pool. */
static void collect(void *arg)
{
	struct fs_session *s = arg;

	collect_cache(s);
	fs_session_dcache_collect(s);
	if (s->wbmem)
		gn_metric_set(s->m.wb_bytes, (double)fs_wbmem_used(s->wbmem));
}

void fs_session_release(struct fs_session *s)
{
	fs_itab_release(s);
	for (size_t i = 0; i < s->nds; i++) {
		if (s->ds[i].ch)
			gn_rpc_channel_free(s->ds[i].ch);
		free(s->ds[i].addr);
	}
	free(s->ds);
	if (s->mds)
		gn_rpc_channel_free(s->mds);
	if (s->rpc)
		gn_rpc_client_free(s->rpc);
	fs_wbmem_free(s->wbmem);
	fs_session_dcache_close(s);
	if (s->cache)
		fs_cache_free(s->cache);
	free(s->mds_addr);
	free(s->subdir);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->closes_cond);
	pthread_cond_destroy(&s->closeq_cond);
	free(s->closeq);
	pthread_mutex_destroy(&s->ds_lock);
	pthread_mutex_destroy(&s->upq_lock);
	pthread_cond_destroy(&s->upq_cond);
	pthread_mutex_destroy(&s->pfq_lock);
	pthread_cond_destroy(&s->pfq_cond);
	pthread_mutex_destroy(&s->rd_lock);
	pthread_cond_destroy(&s->rd_cond);
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/* One SessionOpen, retried while unreachable until deadline_ms. */
static int session_open(struct fs_session *s, uint64_t reclaim, int deadline_ms,
			char *err, size_t errlen)
{
	Gannet__SessionOpenRequest req = GANNET__SESSION_OPEN_REQUEST__INIT;
	Gannet__ReqHeader h = GANNET__REQ_HEADER__INIT;
	Gannet__Cred c = GANNET__CRED__INIT;
	Gannet__SessionOpenReply *r;
	struct gn_rpc_result res;
	char host[256], client[320];
	int64_t end = gn_mono_ms() + deadline_ms;
	int ret;

	if (gethostname(host, sizeof(host)))
		strcpy(host, "unknown");
	host[sizeof(host) - 1] = '\0';
	snprintf(client, sizeof(client), "%s %ld", host, (long)getpid());
	h.cred = &c;
	req.h = &h;
	req.client = client;
	req.subdir = gn_rpc_str(s->subdir);
	req.reclaim_session_id = reclaim;
	for (;;) {
		struct gn_rpc_callopts o = { 0 };
		int64_t left = end - gn_mono_ms();

		o.timeout_ms = (int)GN_MAX(1, GN_MIN(left, s->conf->timeout_ms));
		h.deadline_ms = (uint32_t)o.timeout_ms;
		ret = gn_rpc_call(s->mds, "/gannet.Mds/SessionOpen", &req.base,
				  NULL, 0, &gannet__session_open_reply__descriptor,
				  &o, &res);
		if (!ret)
			break;
		if (ret != -EHOSTUNREACH && ret != -ENOTCONN &&
		    ret != -ECONNREFUSED && ret != -ETIMEDOUT)
			break;
		if (gn_mono_ms() + 200 >= end)
			break;
		gn_rpc_result_release(&res);
		sleep_ms(200);
	}
	if (ret) {
		snprintf(err, errlen, "cannot open a session with the metadata server at %s: %s%s%s",
			 s->mds_addr, gn_strerror(ret), res.detail[0] ? ": " : "",
			 res.detail);
		gn_rpc_result_release(&res);
		return ret;
	}
	r = (Gannet__SessionOpenReply *)res.reply;
	if (!r->session_id || !r->root_ino) {
		snprintf(err, errlen, "metadata server at %s sent a bad session reply",
			 s->mds_addr);
		gn_rpc_result_release(&res);
		return -EPROTO;
	}
	pthread_mutex_lock(&s->lock);
	if (s->root_ino && s->root_ino != r->root_ino)
		log_warn("root inode changed after re-registration old=%llu new=%llu",
			 (unsigned long long)s->root_ino,
			 (unsigned long long)r->root_ino);
	else
		s->root_ino = r->root_ino;
	s->session_id = r->session_id;
	s->lease_ms = r->lease_ms;
	s->session_timeout_ms = r->session_timeout_ms;
	s->mds_close_batch = (r->features & GANNET__MDS_FEATURE__MDS_FEATURE_CLOSE_BATCH) != 0;
	s->epoch++;
	s->ack_seq = 0;
	pthread_mutex_unlock(&s->lock);
	gn_rpc_result_release(&res);
	return 0;
}

int fs_session_start(struct fs_session *s, char *err, size_t errlen)
{
	int ret;

	ret = gn_rpc_client_new(&s->rpc);
	if (ret) {
		snprintf(err, errlen, "cannot start the RPC client: %s", gn_strerror(ret));
		return ret;
	}
	ret = gn_rpc_channel_new(s->rpc, s->mds_addr, NULL, &s->mds);
	if (ret) {
		snprintf(err, errlen, "bad metadata server address '%s': %s",
			 s->mds_addr, gn_strerror(ret));
		return ret;
	}
	ret = fs_wbmem_new(s->conf->writeback_limit, &s->wbmem);
	if (ret) {
		snprintf(err, errlen, "cannot set up the write-back buffer (%llu bytes)",
			 (unsigned long long)s->conf->writeback_limit);
		return ret;
	}
	if (fs_cache_new(s->conf->cache_size, &s->cache)) {
		log_warn("cannot map the read cache, reading uncached size=%llu",
			 (unsigned long long)s->conf->cache_size);
		s->cache = NULL;
	}
	fs_session_dcache_open(s);
	return session_open(s, 0,
			    (int)GN_MIN((int64_t)MOUNT_DEADLINE_MS, s->conf->timeout_ms),
			    err, errlen);
}

static void inval_attr_cb(struct fs_session *s, struct fs_inode *in, void *arg)
{
	(void)arg;
	if (s->kops)
		s->kops->inval_inode(s, in->ino, false);
}

int fs_session_reopen(struct fs_session *s, uint64_t seen_epoch)
{
	static pthread_mutex_t reopen_lock = PTHREAD_MUTEX_INITIALIZER;
	char err[512];
	uint64_t old;
	int ret = 0;

	pthread_mutex_lock(&reopen_lock);
	pthread_mutex_lock(&s->lock);
	old = s->session_id;
	if (s->epoch != seen_epoch) {
		pthread_mutex_unlock(&s->lock);
		goto out;	/* someone else re-opened it meanwhile */
	}
	pthread_mutex_unlock(&s->lock);
	ret = session_open(s, old, (int)s->conf->op_timeout_ms, err, sizeof(err));
	if (ret) {
		log_warn("%s", err);
		goto out;
	}
	log_info("session re-registered old=%llu new=%llu",
		 (unsigned long long)old, (unsigned long long)s->session_id);
	/* Leases granted by the previous MDS instance are void. */
	fs_itab_foreach(s, inval_attr_cb, NULL);
out:
	pthread_mutex_unlock(&reopen_lock);
	return ret;
}

static void apply_invalidation(struct fs_session *s, const Gannet__Invalidation *iv)
{
	struct fs_inode *in;

	log_debug("lease recall kind=%d ino=%llu name='%s'", (int)iv->kind,
		  (unsigned long long)iv->ino, iv->name ? iv->name : "");
	if (!s->kops)
		return;
	switch (iv->kind) {
	case GANNET__INVALIDATION__KIND__ENTRY:
		if (iv->name && *iv->name && strlen(iv->name) <= FS_NAME_MAX &&
		    !strchr(iv->name, '/'))
			s->kops->inval_entry(s, iv->ino, iv->name);
		break;
	case GANNET__INVALIDATION__KIND__DATA:
		in = fs_inode_find(s, iv->ino);
		if (in) {
			fs_io_kernel_cache_dropped(in);
			fs_inode_put(s, in);
		}
		s->kops->inval_inode(s, iv->ino, true);
		break;
	case GANNET__INVALIDATION__KIND__ATTR:
	default:
		s->kops->inval_inode(s, iv->ino, false);
		break;
	}
}

static void *hb_main(void *arg)
{
	struct fs_session *s = arg;

	for (;;) {
		Gannet__SessionHeartbeatRequest req = GANNET__SESSION_HEARTBEAT_REQUEST__INIT;
		Gannet__ReqHeader h = GANNET__REQ_HEADER__INIT;
		Gannet__Cred c = GANNET__CRED__INIT;
		Gannet__SessionHeartbeatReply *r;
		struct gn_rpc_callopts o = { 0 };
		struct gn_rpc_result res;
		uint64_t epoch;
		uint32_t wait;
		int ret;

		pthread_mutex_lock(&s->lock);
		if (s->stopping) {
			pthread_mutex_unlock(&s->lock);
			break;
		}
		h.session_id = s->session_id;
		h.request_id = ++s->next_req_id;
		req.ack_seq = s->ack_seq;
		epoch = s->epoch;
		wait = HB_WAIT_MS;
		if (s->session_timeout_ms && s->session_timeout_ms / 3 < wait)
			wait = s->session_timeout_ms / 3;
		pthread_mutex_unlock(&s->lock);
		h.cred = &c;
		req.h = &h;
		req.wait_ms = wait;
		o.timeout_ms = (int)(wait + s->conf->timeout_ms);
		h.deadline_ms = (uint32_t)o.timeout_ms;
		ret = gn_rpc_call(s->mds, "/gannet.Mds/SessionHeartbeat", &req.base,
				  NULL, 0, &gannet__session_heartbeat_reply__descriptor,
				  &o, &res);
		/* The MDS forgot us (restart or expiry): ESTALE, or
		 * UNAUTHENTICATED from a stricter server. */
		if (ret == -ESTALE || ret == -EUNATCH) {
			fs_session_reopen(s, epoch);
			continue;
		}
		if (ret) {
			log_debug("heartbeat failed err='%s'", gn_strerror(ret));
			sleep_ms(300);
			continue;
		}
		r = (Gannet__SessionHeartbeatReply *)res.reply;
		for (size_t i = 0; i < r->n_invalidations; i++)
			apply_invalidation(s, r->invalidations[i]);
		pthread_mutex_lock(&s->lock);
		if (s->epoch == epoch && r->seq > s->ack_seq)
			s->ack_seq = r->seq;
		pthread_mutex_unlock(&s->lock);
		gn_rpc_result_release(&res);
	}
	return NULL;
}

int fs_session_run(struct fs_session *s)
{
	int ret;

	ret = fs_upload_start(s, (int)s->conf->upload_threads);
	if (!ret)
		ret = fs_prefetch_start(s);
	if (!ret)
		ret = fs_plist_start(s);
	if (!ret)
		ret = mdsc_closer_start(s);
	if (ret)
		return ret;
	gn_metrics_add_collector(collect, s);
	ret = pthread_create(&s->hb_thread, NULL, hb_main, s);
	if (ret)
		return -ret;
	s->hb_running = true;
	return 0;
}

static void sync_cb(struct fs_session *s, struct fs_inode *in, void *arg)
{
	int ret;

	(void)arg;
	pthread_mutex_lock(&in->lock);
	if (!in->wb && !in->pending.n && !in->size_dirty) {
		pthread_mutex_unlock(&in->lock);
		return;
	}
	pthread_mutex_unlock(&in->lock);
	ret = fs_io_sync(s, in, 0, &fs_cred_root);
	if (ret)
		log_err("cannot write back data of inode at unmount ino=%llu err='%s'",
			(unsigned long long)in->ino, gn_strerror(ret));
}

void fs_session_stop(struct fs_session *s)
{
	Gannet__SessionCloseRequest req = GANNET__SESSION_CLOSE_REQUEST__INIT;
	struct gn_rpc_result res;

	if (!s->mds)
		return;
	/* Data first: everything buffered goes out before we leave. */
	fs_plist_stop(s);
	fs_prefetch_stop(s);
	fs_session_dcache_close(s);
	if (s->upload_threads)
		fs_itab_foreach(s, sync_cb, NULL);
	fs_upload_stop(s);
	pthread_mutex_lock(&s->lock);
	s->stopping = true;
	pthread_mutex_unlock(&s->lock);
	/* Queued closes go out now and end within their deadline. */
	mdsc_closer_stop(s);
	if (s->hb_running) {
		pthread_join(s->hb_thread, NULL);
		s->hb_running = false;
	}
	if (s->session_id) {
		mdsc_call(s, &fs_cred_root, "/gannet.Mds/SessionClose", &req.base,
			  &req.h, &gannet__session_close_reply__descriptor,
			  MDSC_NO_SESSION, (int)GN_MIN(2000, s->conf->timeout_ms), &res);
		gn_rpc_result_release(&res);
	}
}

void fs_session_add_servers(struct fs_session *s, Gannet__DsInfo **v, size_t n)
{
	pthread_mutex_lock(&s->ds_lock);
	for (size_t i = 0; i < n; i++) {
		size_t k;

		if (!v[i] || !v[i]->id || !v[i]->addr || !*v[i]->addr)
			continue;
		for (k = 0; k < s->nds; k++)
			if (s->ds[k].id == v[i]->id)
				break;
		if (k < s->nds) {
			if (strcmp(s->ds[k].addr, v[i]->addr)) {
				/* Moved: a new entry for the id, the old one
				 * stays (a reader may use its channel). */
				s->ds[k].id = 0;
			} else {
				continue;
			}
		}
		s->ds = xrealloc(s->ds, (s->nds + 1) * sizeof(*s->ds));
		s->ds[s->nds].id = v[i]->id;
		s->ds[s->nds].addr = xstrdup(v[i]->addr);
		s->ds[s->nds].ch = NULL;
		s->ds[s->nds].suspect_until_ms = 0;
		s->nds++;
	}
	pthread_mutex_unlock(&s->ds_lock);
}

int fs_session_ds(struct fs_session *s, uint32_t id,
		  struct gn_rpc_channel **ch, const char **addr)
{
	struct gn_rpc_channel_opts o = { 0 };
	int ret = -ENOENT;

	pthread_mutex_lock(&s->ds_lock);
	for (size_t k = 0; k < s->nds; k++) {
		if (s->ds[k].id != id)
			continue;
		if (!s->ds[k].ch) {
			ret = gn_rpc_channel_new(s->rpc, s->ds[k].addr, &o, &s->ds[k].ch);
			if (ret)
				break;
		}
		*ch = s->ds[k].ch;
		*addr = s->ds[k].addr;
		ret = 0;
		break;
	}
	pthread_mutex_unlock(&s->ds_lock);
	return ret;
}

void fs_session_ds_failed(struct fs_session *s, uint32_t id, int err)
{
	if (err != -ETIMEDOUT && err != -EHOSTUNREACH && err != -ENOTCONN &&
	    err != -ECONNREFUSED && err != -ECONNRESET)
		return;
	pthread_mutex_lock(&s->ds_lock);
	for (size_t k = 0; k < s->nds; k++)
		if (s->ds[k].id == id)
			s->ds[k].suspect_until_ms = gn_mono_ms() + FS_DS_SUSPECT_MS;
	pthread_mutex_unlock(&s->ds_lock);
}

/* Under ds_lock. */
static bool ds_suspect_locked(struct fs_session *s, uint32_t id, int64_t now)
{
	for (size_t k = 0; k < s->nds; k++)
		if (s->ds[k].id == id)
			return s->ds[k].suspect_until_ms > now;
	return false;
}

void fs_session_ds_order(struct fs_session *s, struct fs_chunk *c)
{
	uint32_t good[FS_MAX_REPLICAS], bad[FS_MAX_REPLICAS];
	unsigned ng = 0, nb = 0;
	int64_t now = gn_mono_ms();

	pthread_mutex_lock(&s->ds_lock);
	for (unsigned i = 0; i < c->nrep && i < FS_MAX_REPLICAS; i++) {
		if (ds_suspect_locked(s, c->rep[i], now))
			bad[nb++] = c->rep[i];
		else
			good[ng++] = c->rep[i];
	}
	pthread_mutex_unlock(&s->ds_lock);
	if (!nb)
		return;
	memcpy(c->rep, good, ng * sizeof(good[0]));
	memcpy(c->rep + ng, bad, nb * sizeof(bad[0]));
}
