/*
 * mdslink.c - the data server's side of the MDS protocol (proto/mds.proto
 * "data servers"): register (the MDS's id for this store is kept in
 * <data_dir>/ds_id), heartbeat with capacity and chunk count, apply the
 * deletions and replicate orders handed back, obey draining, re-register
 * when the MDS no longer knows us, and send ReportBadChunk for damaged
 * replicas.
 *
 * Three threads: the link thread does every call to the MDS (so an
 * unreachable MDS delays nothing else; start-up never waits for it), the
 * replicator executes replicate orders one at a time, confirming each
 * with DsReplicated, and the deleter applies the deletions heartbeats
 * bring.  Deleting is disk work (a directory sync per batch) and must not
 * make the next heartbeat late: the MDS would think this server down.
 */
#include "config.h"
#include "ds/ds.h"
#include "common/log.h"
#include "common/status.h"
#include "common/util.h"
#include "proto/mds.pb-c.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MDS_CALL_MS 3000
#define REGISTER_BACKOFF_MAX_MS 2000
#define MAX_QUEUED 4096
/* Deletions waiting for the deleter; the MDS hands out at most 1024 per
 * heartbeat, so reaching this means the disk is far behind, and the link
 * thread then waits (heartbeats late is the truth in that case). */
#define MAX_DELETIONS 65536

struct bad_report {
	struct bad_report *next;
	uint64_t chunk_id, version;
	char reason[128];
};

struct order {
	struct order *next;
	uint64_t chunk_id, version;
	char *source;
};

struct ds_mdslink {
	struct ds *ds;
	struct gn_rpc_channel *ch;
	pthread_t link_thr, repl_thr, del_thr;
	bool link_started, repl_started, del_started;

	pthread_mutex_t mu;
	pthread_cond_t link_cv;		/* wakes the link thread */
	pthread_cond_t repl_cv;		/* wakes the replicator */
	bool stop;
	bool kick;			/* a report was queued */
	struct bad_report *bad, **bad_tail;
	size_t nbad;
	struct order *orders, **orders_tail;
	size_t norders;
	uint64_t cur_id, cur_ver;	/* the order being executed */
	pthread_cond_t del_cv;		/* wakes the deleter, or a waiting link */
	struct ds_chunk_ref *dels;	/* queued deletions, in arrival order */
	size_t ndels, dels_cap;
	bool del_busy;			/* the deleter is applying a batch */

	/* link thread only */
	bool registered;
	bool unreachable_logged;
	int hb_ms;
	int64_t next_hb;		/* gn_mono_ms() of the next heartbeat */
};

/* ------------------------------------------------------------------ */
/* Helpers                                                            */
/* ------------------------------------------------------------------ */

static struct timespec deadline_in(int ms)
{
	return gn_mono_after_ns((int64_t)ms * 1000000);
}

static void cond_init_mono(pthread_cond_t *cv)
{
	pthread_condattr_t ca;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(cv, &ca);
	pthread_condattr_destroy(&ca);
}

static uint32_t load_id(struct ds *ds)
{
	char path[4096], buf[32];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/ds_id", ds->o.data_dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return (uint32_t)strtoul(buf, NULL, 10);
}

/* Keep the id the MDS gave this store, durably, for the next start. */
static void save_id(struct ds *ds, uint32_t id)
{
	char path[4096], tmp[4100], buf[32];
	int fd, len, ok;

	snprintf(path, sizeof(path), "%s/ds_id", ds->o.data_dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	len = snprintf(buf, sizeof(buf), "%u\n", id);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		goto fail;
	ok = write(fd, buf, (size_t)len) == len && fsync(fd) == 0;
	close(fd);
	if (!ok || rename(tmp, path))
		goto fail;
	fd = open(ds->o.data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	return;
fail:
	log_err("cannot save data server id path='%s': %s", path, strerror(errno));
}

static void header(Gannet__ReqHeader *h)
{
	static uint64_t seq;

	gannet__req_header__init(h);
	h->request_id = __atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED);
	h->deadline_ms = MDS_CALL_MS;
}

static int mds_call(struct ds_mdslink *l, const char *method,
		    const ProtobufCMessage *req,
		    const ProtobufCMessageDescriptor *reply_desc,
		    struct gn_rpc_result *res)
{
	struct gn_rpc_callopts opts = { .timeout_ms = MDS_CALL_MS };

	return gn_rpc_call(l->ch, method, req, NULL, 0, reply_desc, &opts, res);
}

static void note_unreachable(struct ds_mdslink *l, const struct gn_rpc_result *res)
{
	if (l->unreachable_logged)
		return;
	l->unreachable_logged = true;
	log_warn("metadata server unreachable, retrying in the background mds=%s"
		 " err='%s'", l->ds->o.mds, res->detail[0] ? res->detail :
		 gn_strerror(res->err));
}

/* ------------------------------------------------------------------ */
/* Register and heartbeat                                             */
/* ------------------------------------------------------------------ */

static int do_register(struct ds_mdslink *l)
{
	struct ds *ds = l->ds;
	Gannet__DsRegisterRequest rq = GANNET__DS_REGISTER_REQUEST__INIT;
	Gannet__DsInfo info = GANNET__DS_INFO__INIT;
	Gannet__ReqHeader h;
	struct gn_rpc_result res = { 0 };
	const Gannet__DsRegisterReply *rep;
	int ret;

	header(&h);
	ds_fill_info(ds, &info);
	rq.h = &h;
	rq.info = &info;
	ret = mds_call(l, "/gannet.Mds/DsRegister", &rq.base,
		       &gannet__ds_register_reply__descriptor, &res);
	if (ret) {
		if (res.status == GN_STATUS_UNAVAILABLE ||
		    res.status == GN_STATUS_DEADLINE_EXCEEDED)
			note_unreachable(l, &res);
		else
			log_err("metadata server refused registration mds=%s err='%s'",
				ds->o.mds, res.detail[0] ? res.detail : gn_strerror(ret));
		goto out;
	}
	rep = (const Gannet__DsRegisterReply *)res.reply;
	if (rep->id == 0) {
		log_err("metadata server gave data server id 0 mds=%s", ds->o.mds);
		ret = -EPROTO;
		goto out;
	}
	if (rep->id != atomic_load(&ds->id))
		save_id(ds, rep->id);
	atomic_store(&ds->id, rep->id);
	l->hb_ms = ds->o.heartbeat_ms;
	if (rep->heartbeat_ms && (int)rep->heartbeat_ms < l->hb_ms)
		l->hb_ms = (int)rep->heartbeat_ms;
	l->registered = true;
	l->next_hb = 0;
	l->unreachable_logged = false;
	log_info("registered with metadata server mds=%s id=%u addr=%s uuid=%s",
		 ds->o.mds, rep->id, ds->advertise, ds_store_uuid(ds->store));
out:
	gn_rpc_result_release(&res);
	return ret;
}

static void queue_order(struct ds_mdslink *l, const Gannet__ReplicateOrder *o)
{
	struct order *q;

	if (!o->source_addr || !*o->source_addr || o->chunk_id == 0)
		return;
	pthread_mutex_lock(&l->mu);
	for (q = l->orders; q; q = q->next)
		if (q->chunk_id == o->chunk_id && q->version == o->version)
			break;
	if (!q && !(l->cur_id == o->chunk_id && l->cur_ver == o->version) &&
	    l->norders < MAX_QUEUED) {
		q = xcalloc(1, sizeof(*q));
		q->chunk_id = o->chunk_id;
		q->version = o->version;
		q->source = xstrdup(o->source_addr);
		*l->orders_tail = q;
		l->orders_tail = &q->next;
		l->norders++;
		pthread_cond_signal(&l->repl_cv);
	}
	pthread_mutex_unlock(&l->mu);
}

static void queue_deletions(struct ds_mdslink *l,
			    Gannet__ChunkRef *const *refs, size_t n)
{
	pthread_mutex_lock(&l->mu);
	while (l->ndels >= MAX_DELETIONS && !l->stop)
		pthread_cond_wait(&l->del_cv, &l->mu);
	if (l->ndels + n > l->dels_cap) {
		l->dels_cap = GN_MAX(l->ndels + n, 2 * l->dels_cap);
		l->dels = xrealloc(l->dels, l->dels_cap * sizeof(*l->dels));
	}
	for (size_t i = 0; i < n; i++)
		l->dels[l->ndels++] = (struct ds_chunk_ref){ refs[i]->chunk_id,
							     refs[i]->version };
	pthread_cond_broadcast(&l->del_cv);
	pthread_mutex_unlock(&l->mu);
}

/* Takes the whole queue at a time, so a batch costs one sync per touched
 * directory; what is queued at stop is still applied. */
static void *del_main(void *arg)
{
	struct ds_mdslink *l = arg;

	pthread_mutex_lock(&l->mu);
	for (;;) {
		struct ds_chunk_ref *batch;
		size_t n;
		int ret;

		if (!l->ndels) {
			if (l->stop)
				break;
			pthread_cond_wait(&l->del_cv, &l->mu);
			continue;
		}
		batch = l->dels;
		n = l->ndels;
		l->dels = NULL;
		l->ndels = l->dels_cap = 0;
		l->del_busy = true;
		pthread_cond_broadcast(&l->del_cv);
		pthread_mutex_unlock(&l->mu);
		ret = ds_store_delete_many(l->ds->store, batch, n);
		if (ret < 0)
			log_err("deletions not all applied count=%zu err='%s'", n,
				gn_strerror(ret));
		else
			log_debug("deleted chunk versions asked=%zu removed=%d", n, ret);
		free(batch);
		pthread_mutex_lock(&l->mu);
		l->del_busy = false;
		pthread_cond_broadcast(&l->del_cv);
	}
	pthread_mutex_unlock(&l->mu);
	return NULL;
}

static void apply_heartbeat_reply(struct ds_mdslink *l,
				  const Gannet__DsHeartbeatReply *rep)
{
	struct ds *ds = l->ds;

	if (rep->n_deletions)
		queue_deletions(l, rep->deletions, rep->n_deletions);
	for (size_t i = 0; i < rep->n_replicate; i++)
		queue_order(l, rep->replicate[i]);
	if (rep->draining != atomic_load(&ds->draining)) {
		atomic_store(&ds->draining, rep->draining);
		log_info("data server %s draining=%d", ds->advertise, rep->draining);
	}
	if (rep->unknown) {
		log_info("metadata server does not know this data server, registering again");
		l->registered = false;
	}
}

static void do_heartbeat(struct ds_mdslink *l)
{
	Gannet__DsHeartbeatRequest rq = GANNET__DS_HEARTBEAT_REQUEST__INIT;
	Gannet__DsInfo info = GANNET__DS_INFO__INIT;
	Gannet__ReqHeader h;
	struct gn_rpc_result res = { 0 };

	header(&h);
	ds_fill_info(l->ds, &info);
	rq.h = &h;
	rq.info = &info;
	if (mds_call(l, "/gannet.Mds/DsHeartbeat", &rq.base,
		     &gannet__ds_heartbeat_reply__descriptor, &res)) {
		if (res.status == GN_STATUS_NOT_FOUND) {
			l->registered = false;
		} else {
			note_unreachable(l, &res);
		}
	} else {
		if (l->unreachable_logged)
			log_info("metadata server reachable again mds=%s", l->ds->o.mds);
		l->unreachable_logged = false;
		apply_heartbeat_reply(l, (const Gannet__DsHeartbeatReply *)res.reply);
	}
	gn_rpc_result_release(&res);
}

/* Send queued bad-replica reports; a report that fails stays queued. */
static void flush_bad(struct ds_mdslink *l)
{
	for (;;) {
		Gannet__ReportBadChunkRequest rq = GANNET__REPORT_BAD_CHUNK_REQUEST__INIT;
		Gannet__ReqHeader h;
		struct gn_rpc_result res = { 0 };
		struct bad_report *b;
		int ret;

		pthread_mutex_lock(&l->mu);
		b = l->bad;
		pthread_mutex_unlock(&l->mu);
		if (!b)
			return;
		header(&h);
		rq.h = &h;
		rq.chunk_id = b->chunk_id;
		rq.version = b->version;
		rq.ds_id = atomic_load(&l->ds->id);
		rq.reason = b->reason;
		ret = mds_call(l, "/gannet.Mds/ReportBadChunk", &rq.base,
			       &gannet__report_bad_chunk_reply__descriptor, &res);
		gn_rpc_result_release(&res);
		if (ret == -ENOENT && res.status == GN_STATUS_NOT_FOUND)
			ret = 0;	/* the MDS no longer has the chunk */
		if (ret && (res.status == GN_STATUS_UNAVAILABLE ||
			    res.status == GN_STATUS_DEADLINE_EXCEEDED))
			return;		/* try again later */
		if (ret)
			log_warn("metadata server refused bad chunk report chunk=%016"
				 PRIx64 " err='%s'", b->chunk_id, gn_strerror(ret));
		else
			log_info("reported bad chunk chunk=%016" PRIx64 " version=%"
				 PRIu64 " reason='%s'", b->chunk_id, b->version, b->reason);
		pthread_mutex_lock(&l->mu);
		l->bad = b->next;
		if (!l->bad)
			l->bad_tail = &l->bad;
		l->nbad--;
		pthread_mutex_unlock(&l->mu);
		free(b);
	}
}

static void *link_main(void *arg)
{
	struct ds_mdslink *l = arg;
	int backoff = 0;

	for (;;) {
		struct timespec ts;
		int wait_ms;
		bool stop;

		pthread_mutex_lock(&l->mu);
		stop = l->stop;
		l->kick = false;
		pthread_mutex_unlock(&l->mu);
		if (stop)
			break;
		if (!l->registered && do_register(l)) {
			backoff = GN_MIN(GN_MAX(backoff * 2, 50), REGISTER_BACKOFF_MAX_MS);
			wait_ms = backoff;
		} else {
			backoff = 0;
			flush_bad(l);
			if (gn_mono_ms() >= l->next_hb) {
				do_heartbeat(l);
				l->next_hb = gn_mono_ms() + l->hb_ms;
			}
			if (!l->registered)
				continue;	/* the MDS forgot us: at once */
			wait_ms = (int)GN_MAX(l->next_hb - gn_mono_ms(), 1);
		}
		pthread_mutex_lock(&l->mu);
		if (!l->stop && !l->kick) {
			ts = deadline_in(wait_ms);
			pthread_cond_timedwait(&l->link_cv, &l->mu, &ts);
		}
		pthread_mutex_unlock(&l->mu);
	}
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Replicate orders                                                   */
/* ------------------------------------------------------------------ */

static void confirm(struct ds_mdslink *l, const struct order *o,
		    const struct ds_chunk_stat *s)
{
	Gannet__DsReplicatedRequest rq = GANNET__DS_REPLICATED_REQUEST__INIT;
	Gannet__ChunkRef ref = GANNET__CHUNK_REF__INIT;
	Gannet__ReqHeader h;

	ref.chunk_id = o->chunk_id;
	ref.version = o->version;
	rq.h = &h;
	rq.chunk = &ref;
	rq.length = s->length;
	rq.digest = s->digest;
	for (int attempt = 0; attempt < 3; attempt++) {
		struct gn_rpc_result res = { 0 };
		int ret;

		header(&h);
		rq.ds_id = atomic_load(&l->ds->id);
		ret = mds_call(l, "/gannet.Mds/DsReplicated", &rq.base,
			       &gannet__ds_replicated_reply__descriptor, &res);
		gn_rpc_result_release(&res);
		if (!ret) {
			log_info("replicated chunk=%016" PRIx64 " version=%" PRIu64
				 " source=%s", o->chunk_id, o->version, o->source);
			return;
		}
		if (res.status != GN_STATUS_UNAVAILABLE &&
		    res.status != GN_STATUS_DEADLINE_EXCEEDED) {
			log_warn("metadata server refused replica confirmation chunk=%016"
				 PRIx64 " version=%" PRIu64 " err='%s'", o->chunk_id,
				 o->version, gn_strerror(ret));
			return;
		}
		usleep(200000);
	}
}

static void *repl_main(void *arg)
{
	struct ds_mdslink *l = arg;

	pthread_mutex_lock(&l->mu);
	while (!l->stop) {
		struct order *o = l->orders;
		struct ds_chunk_stat s;

		if (!o) {
			pthread_cond_wait(&l->repl_cv, &l->mu);
			continue;
		}
		/* Deletions the MDS handed out before this order come first,
		 * as when they were applied in the heartbeat: a version it
		 * took from this server and now asks for again must be copied
		 * afresh, not found here and then deleted. */
		if (l->ndels || l->del_busy) {
			pthread_cond_wait(&l->del_cv, &l->mu);
			continue;
		}
		l->orders = o->next;
		if (!l->orders)
			l->orders_tail = &l->orders;
		l->norders--;
		l->cur_id = o->chunk_id;
		l->cur_ver = o->version;
		pthread_mutex_unlock(&l->mu);
		if (ds_replicate(l->ds, o->chunk_id, o->version, o->source, &s,
				 NULL, 0) == 0)
			confirm(l, o, &s);
		free(o->source);
		free(o);
		pthread_mutex_lock(&l->mu);
		l->cur_id = l->cur_ver = 0;
	}
	pthread_mutex_unlock(&l->mu);
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Life cycle                                                         */
/* ------------------------------------------------------------------ */

void ds_mdslink_report_bad(struct ds_mdslink *l, uint64_t chunk_id,
			   uint64_t version, const char *reason)
{
	struct bad_report *b;

	if (!l)
		return;
	b = xcalloc(1, sizeof(*b));
	b->chunk_id = chunk_id;
	b->version = version;
	snprintf(b->reason, sizeof(b->reason), "%s", reason);
	pthread_mutex_lock(&l->mu);
	if (l->nbad >= MAX_QUEUED) {
		pthread_mutex_unlock(&l->mu);
		log_warn("too many unsent bad chunk reports, dropping chunk=%016" PRIx64,
			 chunk_id);
		free(b);
		return;
	}
	*l->bad_tail = b;
	l->bad_tail = &b->next;
	l->nbad++;
	l->kick = true;
	pthread_cond_signal(&l->link_cv);
	pthread_mutex_unlock(&l->mu);
}

int ds_mdslink_start(struct ds *ds, struct ds_mdslink **out)
{
	struct ds_mdslink *l = xcalloc(1, sizeof(*l));
	int ret;

	l->ds = ds;
	l->hb_ms = ds->o.heartbeat_ms;
	l->bad_tail = &l->bad;
	l->orders_tail = &l->orders;
	pthread_mutex_init(&l->mu, NULL);
	cond_init_mono(&l->link_cv);
	pthread_cond_init(&l->repl_cv, NULL);
	pthread_cond_init(&l->del_cv, NULL);
	atomic_store(&ds->id, load_id(ds));
	ret = gn_rpc_channel_new(ds->cli, ds->o.mds, NULL, &l->ch);
	if (ret) {
		log_err("bad metadata server address mds='%s'", ds->o.mds);
		goto out;
	}
	/* The deleter and replicator first: the link thread hands them
	 * work from its first heartbeat on. */
	ret = -pthread_create(&l->del_thr, NULL, del_main, l);
	if (ret)
		goto out;
	l->del_started = true;
	ret = -pthread_create(&l->repl_thr, NULL, repl_main, l);
	if (ret)
		goto out;
	l->repl_started = true;
	ret = -pthread_create(&l->link_thr, NULL, link_main, l);
	if (ret)
		goto out;
	l->link_started = true;
out:
	if (ret) {
		ds_mdslink_stop(l);
		return ret;
	}
	*out = l;
	return 0;
}

void ds_mdslink_stop(struct ds_mdslink *l)
{
	if (!l)
		return;
	pthread_mutex_lock(&l->mu);
	l->stop = true;
	pthread_cond_broadcast(&l->link_cv);
	pthread_cond_broadcast(&l->repl_cv);
	pthread_cond_broadcast(&l->del_cv);
	pthread_mutex_unlock(&l->mu);
	if (l->link_started)
		pthread_join(l->link_thr, NULL);
	if (l->repl_started)
		pthread_join(l->repl_thr, NULL);
	if (l->del_started)
		pthread_join(l->del_thr, NULL);
	free(l->dels);
	while (l->bad) {
		struct bad_report *b = l->bad;

		l->bad = b->next;
		free(b);
	}
	while (l->orders) {
		struct order *o = l->orders;

		l->orders = o->next;
		free(o->source);
		free(o);
	}
	gn_rpc_channel_free(l->ch);
	pthread_mutex_destroy(&l->mu);
	pthread_cond_destroy(&l->link_cv);
	pthread_cond_destroy(&l->repl_cv);
	pthread_cond_destroy(&l->del_cv);
	free(l);
}
