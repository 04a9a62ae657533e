/* rpc_admin.c - session, data-server and administration handlers */
#include "config.h"
#include "mds/rpc_mds.h"
#include "common/log.h"
#include "common/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

MDS_RPC_HANDLER(session_open)
{
	const Gannet__SessionOpenRequest *q = (const void *)req;
	Gannet__SessionOpenReply r = GANNET__SESSION_OPEN_REPLY__INIT;
	struct mds *m = svc;
	struct mds_cred c;
	uint64_t id, root;
	char subdir[MDS_PATH_MAX + 1];
	int ret;

	ret = mds_rpc_cred(q->h, &c);
	if (ret)
		return ret;
	ret = mds_rpc_text(&q->subdir, MDS_PATH_MAX, -ENAMETOOLONG, subdir);
	if (ret)
		return ret;
	ret = mds_session_open(m, &c, q->client, gn_rpc_call_peer(call), subdir,
			       q->reclaim_session_id, &id, &root);
	if (ret)
		return ret;
	r.session_id = id;
	r.root_ino = root;
	r.lease_ms = (uint32_t)mds_lease_ms(m);
	r.session_timeout_ms = (uint32_t)mds_session_timeout_ms(m);
	r.features = GANNET__MDS_FEATURE__MDS_FEATURE_CLOSE_BATCH;
	return gn_rpc_reply(call, &r.base);
}

MDS_RPC_HANDLER(session_heartbeat)
{
	const Gannet__SessionHeartbeatRequest *q = (const void *)req;
	Gannet__SessionHeartbeatReply r = GANNET__SESSION_HEARTBEAT_REPLY__INIT;
	Gannet__Invalidation *iv = NULL, **ip = NULL;
	struct mds_inval *inv = NULL;
	struct mds *m = svc;
	uint64_t seq = 0;
	size_t n = 0;
	int wait = (int)GN_MIN(q->wait_ms, 5000u), ret;

	/* Answer before the caller's deadline runs out. */
	wait = GN_MIN(wait, gn_rpc_call_remaining_ms(call) - 200);
	if (wait < 0)
		wait = 0;
	ret = mds_session_heartbeat(m, mds_rpc_session(q->h), q->ack_seq, wait,
				    &inv, &n, &seq);
	if (ret)
		return ret;
	iv = xcalloc(n + 1, sizeof(*iv));
	ip = xcalloc(n + 1, sizeof(*ip));
	for (size_t i = 0; i < n; i++) {
		gannet__invalidation__init(&iv[i]);
		iv[i].kind = (Gannet__Invalidation__Kind)inv[i].kind;
		iv[i].ino = inv[i].ino;
		iv[i].name = inv[i].name;
		ip[i] = &iv[i];
	}
	r.n_invalidations = n;
	r.invalidations = ip;
	r.seq = seq;
	ret = gn_rpc_reply(call, &r.base);
	free(ip);
	free(iv);
	free(inv);
	return ret;
}

MDS_RPC_HANDLER(session_close)
{
	const Gannet__SessionCloseRequest *q = (const void *)req;
	Gannet__SessionCloseReply r = GANNET__SESSION_CLOSE_REPLY__INIT;
	int ret = mds_session_close(svc, mds_rpc_session(q->h));

	if (ret)
		return ret;
	return gn_rpc_reply(call, &r.base);
}

static void ds_from_proto(const Gannet__DsInfo *in, struct mds_ds_info *out)
{
	memset(out, 0, sizeof(*out));
	if (!in)
		return;
	out->id = in->id;
	snprintf(out->uuid, sizeof(out->uuid), "%s", in->uuid ? in->uuid : "");
	snprintf(out->addr, sizeof(out->addr), "%s", in->addr ? in->addr : "");
	out->capacity = in->capacity_bytes;
	out->free = in->free_bytes;
	out->chunks = in->chunks;
}

MDS_RPC_HANDLER(ds_register)
{
	const Gannet__DsRegisterRequest *q = (const void *)req;
	Gannet__DsRegisterReply r = GANNET__DS_REGISTER_REPLY__INIT;
	struct mds *m = svc;
	struct mds_ds_info in;
	uint32_t id;
	int ret;

	if (!q->info || !q->info->uuid || !q->info->uuid[0] ||
	    strlen(q->info->uuid) >= sizeof(in.uuid) ||
	    !q->info->addr || !q->info->addr[0] ||
	    strlen(q->info->addr) >= sizeof(in.addr))
		return -EINVAL;
	ds_from_proto(q->info, &in);
	ret = mds_ds_register(m, &in, &id);
	if (ret)
		return ret;
	r.id = id;
	r.heartbeat_ms = (uint32_t)mds_ds_heartbeat_ms(m);
	return gn_rpc_reply(call, &r.base);
}

MDS_RPC_HANDLER(ds_heartbeat)
{
	const Gannet__DsHeartbeatRequest *q = (const void *)req;
	Gannet__DsHeartbeatReply r = GANNET__DS_HEARTBEAT_REPLY__INIT;
	Gannet__ChunkRef *dels = NULL, **dp = NULL;
	Gannet__ReplicateOrder *reps = NULL, **rp = NULL;
	struct mds_ds_work w;
	struct mds_ds_info in;
	int ret;

	if (!q->info)
		return -EINVAL;
	ds_from_proto(q->info, &in);
	ret = mds_ds_heartbeat(svc, &in, &w);
	if (ret)
		return ret;
	dels = xcalloc(w.ndel + 1, sizeof(*dels));
	dp = xcalloc(w.ndel + 1, sizeof(*dp));
	for (size_t i = 0; i < w.ndel; i++) {
		gannet__chunk_ref__init(&dels[i]);
		dels[i].chunk_id = w.del[i].chunk_id;
		dels[i].version = w.del[i].version;
		dp[i] = &dels[i];
	}
	reps = xcalloc(w.nrep + 1, sizeof(*reps));
	rp = xcalloc(w.nrep + 1, sizeof(*rp));
	for (size_t i = 0; i < w.nrep; i++) {
		gannet__replicate_order__init(&reps[i]);
		reps[i].chunk_id = w.rep[i].chunk_id;
		reps[i].version = w.rep[i].version;
		reps[i].source_id = w.rep[i].source_id;
		reps[i].source_addr = w.rep[i].source_addr;
		rp[i] = &reps[i];
	}
	r.n_deletions = w.ndel;
	r.deletions = dp;
	r.n_replicate = w.nrep;
	r.replicate = rp;
	r.draining = w.draining;
	r.unknown = w.unknown;
	ret = gn_rpc_reply(call, &r.base);
	free(dels);
	free(dp);
	free(reps);
	free(rp);
	mds_ds_work_release(&w);
	return ret;
}

MDS_RPC_HANDLER(ds_replicated)
{
	const Gannet__DsReplicatedRequest *q = (const void *)req;
	Gannet__DsReplicatedReply r = GANNET__DS_REPLICATED_REPLY__INIT;
	int ret;

	if (!q->chunk || !q->chunk->chunk_id || !q->chunk->version)
		return -EINVAL;
	ret = mds_ds_replicated(svc, q->ds_id, q->chunk->chunk_id, q->chunk->version);
	if (ret)
		return ret;
	return gn_rpc_reply(call, &r.base);
}

static void dsinfo_array_free(Gannet__DsInfo *v, Gannet__DsInfo **p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].addr);
		free(v[i].uuid);
	}
	free(v);
	free(p);
}

static void dsinfo_array(struct mds *m, Gannet__DsInfo **vout, Gannet__DsInfo ***pout,
			 size_t *n)
{
	struct mds_ds_info *d = NULL;
	Gannet__DsInfo *v, **p;

	mds_ds_list(m, &d, n);
	v = xcalloc(*n + 1, sizeof(*v));
	p = xcalloc(*n + 1, sizeof(*p));
	for (size_t i = 0; i < *n; i++) {
		mds_rpc_dsinfo(&d[i], &v[i]);
		p[i] = &v[i];
	}
	free(d);
	*vout = v;
	*pout = p;
}

MDS_RPC_HANDLER(list_ds)
{
	Gannet__ListDsReply r = GANNET__LIST_DS_REPLY__INIT;
	Gannet__DsInfo *v, **p;
	size_t n;
	int ret;

	dsinfo_array(svc, &v, &p, &n);
	r.n_servers = n;
	r.servers = p;
	ret = gn_rpc_reply(call, &r.base);
	dsinfo_array_free(v, p, n);
	return ret;
}

MDS_RPC_HANDLER(ds_admin)
{
	const Gannet__DsAdminRequest *q = (const void *)req;
	Gannet__DsAdminReply r = GANNET__DS_ADMIN_REPLY__INIT;
	struct mds_cred c;
	int ret;

	ret = mds_rpc_cred(q->h, &c);
	if (ret)
		return ret;
	if (!mds_cred_is_admin(svc, &c))
		return -EPERM;
	ret = mds_ds_admin(svc, q->ds_id, (int)q->op);
	if (ret)
		return ret;
	return gn_rpc_reply(call, &r.base);
}

MDS_RPC_HANDLER(list_sessions)
{
	Gannet__ListSessionsReply r = GANNET__LIST_SESSIONS_REPLY__INIT;
	struct mds_session_info *s = NULL;
	Gannet__SessionInfo *v, **p;
	size_t n = 0;
	int ret;

	mds_list_sessions(svc, &s, &n);
	v = xcalloc(n + 1, sizeof(*v));
	p = xcalloc(n + 1, sizeof(*p));
	for (size_t i = 0; i < n; i++) {
		gannet__session_info__init(&v[i]);
		v[i].session_id = s[i].id;
		v[i].client = s[i].client;
		v[i].peer = s[i].peer;
		v[i].opened_ns = s[i].opened_ns;
		v[i].last_seen_ns = s[i].last_seen_ns;
		v[i].open_files = s[i].open_files;
		p[i] = &v[i];
	}
	r.n_sessions = n;
	r.sessions = p;
	ret = gn_rpc_reply(call, &r.base);
	free(v);
	free(p);
	free(s);
	return ret;
}

MDS_RPC_HANDLER(status)
{
	Gannet__StatusReply r = GANNET__STATUS_REPLY__INIT;
	struct mds_status st;
	Gannet__DsInfo *v, **p;
	size_t n;
	int ret;

	ret = mds_get_status(svc, &st);
	if (ret)
		return ret;
	dsinfo_array(svc, &v, &p, &n);
	r.version = (char *)PACKAGE_VERSION;
	r.started_ns = st.started_ns;
	r.inodes = st.inodes;
	r.chunks = st.chunks;
	r.degraded_chunks = st.degraded;
	r.damaged_chunks = st.damaged;
	r.sessions = st.sessions;
	r.n_servers = n;
	r.servers = p;
	ret = gn_rpc_reply(call, &r.base);
	dsinfo_array_free(v, p, n);
	return ret;
}

/* The ids a DegradedChunk carries: replicas, down ones, the bad one. */
#define DEGRADED_IDS (2 * DB_MAX_REPLICAS + 1)

MDS_RPC_HANDLER(list_degraded)
{
	const Gannet__ListDegradedRequest *q = (const void *)req;
	Gannet__ListDegradedReply r = GANNET__LIST_DEGRADED_REPLY__INIT;
	struct mds_degraded_page pg = { 0 };
	Gannet__DegradedChunk *v, **p;
	Gannet__DsInfo **servers = NULL;
	uint32_t *ids, *named, max = q->max_chunks ? q->max_chunks : MDS_DEGRADED_DEFAULT;
	size_t nnamed = 0, nservers;
	struct mds_cred c;
	int ret;

	ret = mds_rpc_cred(q->h, &c);
	if (ret)
		return ret;
	if (!mds_cred_is_admin(svc, &c))
		return -EPERM;
	if (max > MDS_DEGRADED_MAX)
		return -EINVAL;
	ret = mds_ns_list_degraded(svc, q->start_ino, q->start_index, max, 0, &pg);
	if (ret)
		return ret;
	v = xcalloc(pg.n + 1, sizeof(*v));
	p = xcalloc(pg.n + 1, sizeof(*p));
	ids = xcalloc(pg.n * DEGRADED_IDS + 1, sizeof(*ids));
	named = xcalloc(pg.n * (DB_MAX_REPLICAS + 1) + 1, sizeof(*named));
	for (size_t i = 0; i < pg.n; i++) {
		const struct mds_degraded *d = &pg.v[i];
		uint32_t *reps = ids + i * DEGRADED_IDS;	/* replicas, down, bad */
		uint32_t nreps = GN_MIN(d->c.nreplicas, DB_MAX_REPLICAS);

		gannet__degraded_chunk__init(&v[i]);
		v[i].ino = d->ino;
		v[i].index = d->index;
		v[i].chunk_id = d->c.chunk_id;
		v[i].version = d->c.version;
		v[i].policy_replicas = d->want;
		v[i].live_replicas = d->live;
		v[i].damaged = d->damaged;
		memcpy(reps, d->c.replicas, nreps * sizeof(*reps));
		memcpy(reps + nreps, d->down, d->ndown * sizeof(*reps));
		memcpy(named + nnamed, reps, nreps * sizeof(*reps));
		nnamed += nreps;
		v[i].replicas = reps;
		v[i].n_replicas = nreps;
		v[i].down = reps + nreps;
		v[i].n_down = d->ndown;
		if (d->bad) {
			reps[nreps + d->ndown] = d->bad;
			v[i].bad = reps + nreps + d->ndown;
			v[i].n_bad = 1;
			named[nnamed++] = d->bad;
		}
		p[i] = &v[i];
	}
	nservers = mds_rpc_servers_of(svc, named, nnamed, &servers);
	r.n_chunks = pg.n;
	r.chunks = p;
	r.n_servers = nservers;
	r.servers = servers;
	r.eof = pg.eof;
	r.next_ino = pg.next_ino;
	r.next_index = pg.next_index;
	ret = gn_rpc_reply(call, &r.base);
	mds_rpc_servers_free(servers, nservers);
	free(named);
	free(ids);
	free(p);
	free(v);
	mds_degraded_page_release(&pg);
	return ret;
}
