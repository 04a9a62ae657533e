/*
 * ctl_cluster.c - gannetctl status, ds, df, sessions, degraded: views of
 * the cluster as the MDS knows it.
 */
#include "config.h"
#include "fs/ctl_i.h"
#include "common/util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *pct(char *buf, size_t len, uint64_t used, uint64_t total)
{
	if (!total)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%u%%", (unsigned)((used * 100 + total / 2) / total));
	return buf;
}

/* The data server table of `status` and `ds list`. */
static void print_ds_table(Gannet__DsInfo **servers, size_t n)
{
	static const char *const head[] = { "ID", "ADDRESS", "STATE", "SIZE",
					    "FREE", "USE%", "CHUNKS", "UUID" };
	struct ctl_table t;

	ctl_table_init(&t, head, 8, 1u << 0 | 1u << 3 | 1u << 4 | 1u << 5 | 1u << 6);
	for (size_t i = 0; i < n; i++) {
		const Gannet__DsInfo *d = servers[i];
		char id[16], cap[32], fr[32], use[8], ch[24];

		snprintf(id, sizeof(id), "%u", d->id);
		snprintf(ch, sizeof(ch), "%" PRIu64, d->chunks);
		ctl_table_row(&t, id, d->addr, ctl_ds_state(d->state),
			      gn_fmt_bytes(cap, sizeof(cap), d->capacity_bytes),
			      gn_fmt_bytes(fr, sizeof(fr), d->free_bytes),
			      pct(use, sizeof(use), d->capacity_bytes - GN_MIN(d->free_bytes,
				  d->capacity_bytes), d->capacity_bytes),
			      ch, *d->uuid ? d->uuid : "-");
	}
	ctl_table_print(&t, stdout);
	ctl_table_release(&t);
}

static const char *health(const Gannet__StatusReply *s, size_t up)
{
	if (s->damaged_chunks)
		return "damaged";
	if (!up)
		return "no data servers";
	if (s->degraded_chunks)
		return "degraded";
	return "ok";
}

int ctl_cmd_status(struct ctl *c, int argc, char **argv)
{
	Gannet__StatusRequest req = GANNET__STATUS_REQUEST__INIT;
	Gannet__StatusReply *s;
	struct gn_rpc_result res;
	size_t count[4] = { 0 };
	uint64_t cap = 0, fr = 0;
	char b1[32], b2[32], b3[48];

	if (argc != 1 || ctl_only_opts(c, "status", 0)) {
		if (argc != 1)
			ctl_err(c, "usage: gannetctl status");
		return CTL_USAGE;
	}
	req.h = ctl_hdr(c);
	if (ctl_mds_call(c, "Status", "status", &req.base,
			 &gannet__status_reply__descriptor, &res))
		return CTL_FAIL;
	s = (Gannet__StatusReply *)res.reply;
	for (size_t i = 0; i < s->n_servers; i++) {
		const Gannet__DsInfo *d = s->servers[i];

		if (d->state <= GANNET__DS_INFO__STATE__REMOVED)
			count[d->state]++;
		if (d->state == GANNET__DS_INFO__STATE__UP ||
		    d->state == GANNET__DS_INFO__STATE__DRAINING) {
			cap += d->capacity_bytes;
			fr += d->free_bytes;
		}
	}
	if (c->json) {
		struct ctl_json j;

		cj_begin(&j, stdout);
		cj_str(&j, "mds", c->mds_addr);
		cj_str(&j, "version", s->version);
		cj_i64(&j, "started_ns", s->started_ns);
		cj_str(&j, "health", health(s, count[0] + count[2]));
		cj_u64(&j, "inodes", s->inodes);
		cj_u64(&j, "chunks", s->chunks);
		cj_u64(&j, "degraded_chunks", s->degraded_chunks);
		cj_u64(&j, "damaged_chunks", s->damaged_chunks);
		cj_u64(&j, "sessions", s->sessions);
		cj_u64(&j, "capacity_bytes", cap);
		cj_u64(&j, "free_bytes", fr);
		cj_obj(&j, "ds_count");
		cj_u64(&j, "up", count[0]);
		cj_u64(&j, "down", count[1]);
		cj_u64(&j, "draining", count[2]);
		cj_u64(&j, "removed", count[3]);
		cj_close_obj(&j);
		cj_arr(&j, "servers");
		for (size_t i = 0; i < s->n_servers; i++)
			ctl_ds_json(&j, s->servers[i]);
		cj_close_arr(&j);
		cj_end_doc(&j);
	} else {
		int64_t now = gn_now_ns();

		printf("mds:       %s (gannet %s, up %s)\n", c->mds_addr, s->version,
		       s->started_ns ? ctl_fmt_age(b3, sizeof(b3), now - s->started_ns) : "?");
		printf("health:    %s\n", health(s, count[0] + count[2]));
		printf("servers:   %zu up, %zu down, %zu draining, %zu removed\n",
		       count[0], count[1], count[2], count[3]);
		printf("capacity:  %s, %s free (%s used)\n",
		       gn_fmt_bytes(b1, sizeof(b1), cap), gn_fmt_bytes(b2, sizeof(b2), fr),
		       pct(b3, sizeof(b3), cap - GN_MIN(fr, cap), cap));
		printf("inodes:    %" PRIu64 "\n", s->inodes);
		printf("chunks:    %" PRIu64 " (%" PRIu64 " degraded, %" PRIu64 " damaged)\n",
		       s->chunks, s->degraded_chunks, s->damaged_chunks);
		printf("sessions:  %u\n", s->sessions);
		if (s->n_servers) {
			putchar('\n');
			print_ds_table(s->servers, s->n_servers);
		}
	}
	gn_rpc_result_release(&res);
	return CTL_OK;
}

static int ds_list(struct ctl *c)
{
	Gannet__ListDsReply *r;
	struct gn_rpc_result res;

	if (ctl_list_ds(c, &res, &r))
		return CTL_FAIL;
	if (c->json) {
		struct ctl_json j;

		cj_begin(&j, stdout);
		cj_arr(&j, "servers");
		for (size_t i = 0; i < r->n_servers; i++)
			ctl_ds_json(&j, r->servers[i]);
		cj_close_arr(&j);
		cj_end_doc(&j);
	} else {
		print_ds_table(r->servers, r->n_servers);
	}
	gn_rpc_result_release(&res);
	return CTL_OK;
}

int ctl_cmd_ds(struct ctl *c, int argc, char **argv)
{
	static const struct { const char *name; int op; const char *done; } ops[] = {
		{ "drain", GANNET__DS_ADMIN_REQUEST__OP__DRAIN, "draining" },
		{ "undrain", GANNET__DS_ADMIN_REQUEST__OP__UNDRAIN, "undrained" },
		{ "remove", GANNET__DS_ADMIN_REQUEST__OP__REMOVE, "removed" },
	};
	Gannet__DsAdminRequest req = GANNET__DS_ADMIN_REQUEST__INIT;
	struct gn_rpc_result res;
	char what[64];
	int64_t id;
	size_t i;

	if (ctl_only_opts(c, "ds", 0))
		return CTL_USAGE;
	if (argc == 2 && !strcmp(argv[1], "list"))
		return ds_list(c);
	for (i = 0; argc == 3 && i < GN_ARRAY_SIZE(ops); i++)
		if (!strcmp(argv[1], ops[i].name))
			break;
	if (argc != 3 || i == GN_ARRAY_SIZE(ops)) {
		ctl_err(c, "usage: gannetctl ds list | ds drain|undrain|remove ID");
		return CTL_USAGE;
	}
	if (gn_parse_int(argv[2], &id) || id < 1 || id > UINT32_MAX) {
		ctl_err(c, "'%s' is not a data server id", argv[2]);
		return CTL_USAGE;
	}
	req.h = ctl_hdr(c);
	req.ds_id = (uint32_t)id;
	req.op = ops[i].op;
	snprintf(what, sizeof(what), "%s data server %u", ops[i].name, req.ds_id);
	if (ctl_mds_call(c, "DsAdmin", what, &req.base,
			 &gannet__ds_admin_reply__descriptor, &res))
		return CTL_FAIL;
	gn_rpc_result_release(&res);
	if (c->json) {
		struct ctl_json j;

		cj_begin(&j, stdout);
		cj_u64(&j, "id", req.ds_id);
		cj_str(&j, "op", ops[i].name);
		cj_bool(&j, "ok", true);
		cj_end_doc(&j);
	} else {
		printf("data server %u %s\n", req.ds_id, ops[i].done);
	}
	return CTL_OK;
}

int ctl_cmd_df(struct ctl *c, int argc, char **argv)
{
	Gannet__StatFsRequest req = GANNET__STAT_FS_REQUEST__INIT;
	Gannet__StatFsReply *s;
	struct gn_rpc_result res;
	uint64_t used;

	if (argc != 1 || ctl_only_opts(c, "df", 0)) {
		if (argc != 1)
			ctl_err(c, "usage: gannetctl df");
		return CTL_USAGE;
	}
	req.h = ctl_hdr(c);
	if (ctl_mds_call(c, "StatFs", "statfs", &req.base,
			 &gannet__stat_fs_reply__descriptor, &res))
		return CTL_FAIL;
	s = (Gannet__StatFsReply *)res.reply;
	used = s->total_bytes - GN_MIN(s->free_bytes, s->total_bytes);
	if (c->json) {
		struct ctl_json j;

		cj_begin(&j, stdout);
		cj_u64(&j, "total_bytes", s->total_bytes);
		cj_u64(&j, "used_bytes", used);
		cj_u64(&j, "free_bytes", s->free_bytes);
		cj_u64(&j, "files", s->files);
		cj_u64(&j, "max_files", s->max_files);
		cj_end_doc(&j);
	} else {
		static const char *const head[] = { "SIZE", "USED", "AVAIL", "USE%",
						    "FILES", "MAX_FILES" };
		struct ctl_table t;
		char b1[32], b2[32], b3[32], b4[8], f1[24], f2[24];

		ctl_table_init(&t, head, 6, 0x3f);
		snprintf(f1, sizeof(f1), "%" PRIu64, s->files);
		snprintf(f2, sizeof(f2), "%" PRIu64, s->max_files);
		ctl_table_row(&t, gn_fmt_bytes(b1, sizeof(b1), s->total_bytes),
			      gn_fmt_bytes(b2, sizeof(b2), used),
			      gn_fmt_bytes(b3, sizeof(b3), s->free_bytes),
			      pct(b4, sizeof(b4), used, s->total_bytes), f1, f2);
		ctl_table_print(&t, stdout);
		ctl_table_release(&t);
	}
	gn_rpc_result_release(&res);
	return CTL_OK;
}

int ctl_cmd_sessions(struct ctl *c, int argc, char **argv)
{
	Gannet__ListSessionsRequest req = GANNET__LIST_SESSIONS_REQUEST__INIT;
	Gannet__ListSessionsReply *r;
	struct gn_rpc_result res;
	int64_t now = gn_now_ns();

	if (argc != 1 || ctl_only_opts(c, "sessions", 0)) {
		if (argc != 1)
			ctl_err(c, "usage: gannetctl sessions");
		return CTL_USAGE;
	}
	req.h = ctl_hdr(c);
	if (ctl_mds_call(c, "ListSessions", "list sessions", &req.base,
			 &gannet__list_sessions_reply__descriptor, &res))
		return CTL_FAIL;
	r = (Gannet__ListSessionsReply *)res.reply;
	if (c->json) {
		struct ctl_json j;

		cj_begin(&j, stdout);
		cj_arr(&j, "sessions");
		for (size_t i = 0; i < r->n_sessions; i++) {
			const Gannet__SessionInfo *s = r->sessions[i];

			cj_obj(&j, NULL);
			cj_u64(&j, "id", s->session_id);
			cj_str(&j, "client", s->client);
			cj_str(&j, "peer", s->peer);
			cj_i64(&j, "opened_ns", s->opened_ns);
			cj_i64(&j, "last_seen_ns", s->last_seen_ns);
			cj_u64(&j, "open_files", s->open_files);
			cj_close_obj(&j);
		}
		cj_close_arr(&j);
		cj_end_doc(&j);
	} else {
		static const char *const head[] = { "ID", "CLIENT", "PEER", "OPENED",
						    "LAST_SEEN", "OPEN_FILES" };
		struct ctl_table t;

		ctl_table_init(&t, head, 6, 1u << 0 | 1u << 5);
		for (size_t i = 0; i < r->n_sessions; i++) {
			const Gannet__SessionInfo *s = r->sessions[i];
			char id[24], op[32], seen[40], age[24], nf[16];

			snprintf(id, sizeof(id), "%" PRIu64, s->session_id);
			snprintf(nf, sizeof(nf), "%u", s->open_files);
			snprintf(seen, sizeof(seen), "%s ago",
				 ctl_fmt_age(age, sizeof(age), now - s->last_seen_ns));
			ctl_table_row(&t, id, *s->client ? s->client : "-",
				      *s->peer ? s->peer : "-",
				      ctl_fmt_time(op, sizeof(op), s->opened_ns),
				      s->last_seen_ns ? seen : "-", nf);
		}
		ctl_table_print(&t, stdout);
		ctl_table_release(&t);
	}
	gn_rpc_result_release(&res);
	return CTL_OK;
}

/* ---- degraded ---- */

/* Chunks asked for per ListDegraded call. */
#define CTL_DEGRADED_PAGE 1024

static const Gannet__DsInfo *page_ds(const Gannet__ListDegradedReply *r, uint32_t id)
{
	for (size_t i = 0; i < r->n_servers; i++)
		if (r->servers[i]->id == id)
			return r->servers[i];
	return NULL;
}

static bool id_in(const uint32_t *v, size_t n, uint32_t id)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == id)
			return true;
	return false;
}

/* Replica i of a listed chunk: its replicas, then the servers whose copy
 * was reported bad. */
struct replica_view {
	uint32_t id;
	const char *addr;	/* NULL: a server the MDS does not know */
	const char *state;	/* of the server now, or "bad" */
	bool counts;		/* towards the policy */
};

static void replica_view(const Gannet__ListDegradedReply *r,
			 const Gannet__DegradedChunk *k, size_t i,
			 struct replica_view *out)
{
	bool bad = i >= k->n_replicas;
	const Gannet__DsInfo *d;

	out->id = bad ? k->bad[i - k->n_replicas] : k->replicas[i];
	d = page_ds(r, out->id);
	out->addr = d ? d->addr : NULL;
	out->state = bad ? "bad" : d ? ctl_ds_state(d->state) : "unknown";
	out->counts = !bad && !id_in(k->down, k->n_down, out->id);
}

static void degraded_json(struct ctl_json *j, const Gannet__ListDegradedReply *r,
			  const Gannet__DegradedChunk *k)
{
	cj_obj(j, NULL);
	cj_u64(j, "inode", k->ino);
	cj_u64(j, "index", k->index);
	cj_hex(j, "chunk_id", k->chunk_id);
	cj_u64(j, "version", k->version);
	cj_u64(j, "policy_replicas", k->policy_replicas);
	cj_u64(j, "live_replicas", k->live_replicas);
	cj_bool(j, "damaged", k->damaged);
	cj_arr(j, "replicas");
	for (size_t i = 0; i < k->n_replicas + k->n_bad; i++) {
		struct replica_view v;

		replica_view(r, k, i, &v);
		cj_obj(j, NULL);
		cj_u64(j, "id", v.id);
		cj_str(j, "addr", v.addr);
		cj_str(j, "state", v.state);
		cj_bool(j, "counts", v.counts);
		cj_close_obj(j);
	}
	cj_close_arr(j);
	cj_close_obj(j);
}

static void degraded_row(struct ctl_table *t, const Gannet__ListDegradedReply *r,
			 const Gannet__DegradedChunk *k)
{
	char ino[24], idx[24], id[24], ver[24], live[24], reps[1024] = "";
	size_t off = 0;

	snprintf(ino, sizeof(ino), "%" PRIu64, k->ino);
	snprintf(idx, sizeof(idx), "%" PRIu64, k->index);
	snprintf(id, sizeof(id), "%016" PRIx64, k->chunk_id);
	snprintf(ver, sizeof(ver), "%" PRIu64, k->version);
	snprintf(live, sizeof(live), "%u/%u", k->live_replicas, k->policy_replicas);
	/* 1(st1:9410) 3(st3:9410,down) 2(st2:9410,bad): a replica that
	 * counts plain, the others with why they do not. */
	for (size_t i = 0; i < k->n_replicas + k->n_bad && off < sizeof(reps) - 200; i++) {
		struct replica_view v;

		replica_view(r, k, i, &v);
		off += (size_t)snprintf(reps + off, sizeof(reps) - off, "%s%u(%s%s%s)",
					i ? " " : "", v.id, v.addr ? v.addr : "?",
					v.counts ? "" : ",", v.counts ? "" : v.state);
	}
	ctl_table_row(t, ino, idx, id, ver, live, k->damaged ? "damaged" : "degraded",
		      *reps ? reps : "none");
}

int ctl_cmd_degraded(struct ctl *c, int argc, char **argv)
{
	static const char *const head[] = { "INODE", "INDEX", "CHUNK", "VERSION",
					    "LIVE", "STATE", "REPLICAS" };
	Gannet__ListDegradedRequest req = GANNET__LIST_DEGRADED_REQUEST__INIT;
	struct gn_rpc_result res = { 0 };
	struct ctl_table t;
	struct ctl_json j;
	uint64_t degraded = 0, damaged = 0;
	char *json = NULL;
	size_t json_len = 0;
	FILE *jf = NULL;
	int ret = CTL_FAIL;

	if (argc != 1 || ctl_only_opts(c, "degraded", 0)) {
		if (argc != 1)
			ctl_err(c, "usage: gannetctl degraded");
		return CTL_USAGE;
	}
	ctl_table_init(&t, head, 7, 1u << 0 | 1u << 1 | 1u << 3 | 1u << 4);
	if (c->json) {
		/* Printed only once every page has arrived: a failure half
		 * way leaves no truncated document on stdout. */
		jf = open_memstream(&json, &json_len);
		if (!jf) {
			ctl_err(c, "cannot buffer the output: %s", strerror(errno));
			goto out;
		}
		cj_begin(&j, jf);
		cj_arr(&j, "chunks");
	}
	req.max_chunks = CTL_DEGRADED_PAGE;
	for (;;) {
		const Gannet__ListDegradedReply *r;

		req.h = ctl_hdr(c);
		if (ctl_mds_call(c, "ListDegraded", "list degraded chunks", &req.base,
				 &gannet__list_degraded_reply__descriptor, &res))
			goto out;
		r = (const Gannet__ListDegradedReply *)res.reply;
		for (size_t i = 0; i < r->n_chunks; i++) {
			degraded++;
			damaged += r->chunks[i]->damaged;
			if (c->json)
				degraded_json(&j, r, r->chunks[i]);
			else
				degraded_row(&t, r, r->chunks[i]);
		}
		if (r->eof)
			break;
		if (r->next_ino < req.start_ino ||
		    (r->next_ino == req.start_ino && r->next_index <= req.start_index)) {
			ctl_err(c, "list degraded chunks: the MDS at %s did not move on "
				"from chunk %" PRIu64 ":%" PRIu64, c->mds_addr,
				req.start_ino, req.start_index);
			goto out;
		}
		req.start_ino = r->next_ino;
		req.start_index = r->next_index;
		gn_rpc_result_release(&res);
	}
	if (c->json) {
		cj_close_arr(&j);
		cj_u64(&j, "degraded_chunks", degraded);
		cj_u64(&j, "damaged_chunks", damaged);
		cj_end_doc(&j);
		fclose(jf);
		jf = NULL;
		fwrite(json, 1, json_len, stdout);
	} else if (degraded) {
		ctl_table_print(&t, stdout);
		printf("\n%" PRIu64 " degraded chunks, %" PRIu64 " of them damaged\n",
		       degraded, damaged);
	} else {
		printf("no degraded chunks\n");
	}
	ret = CTL_OK;
out:
	if (jf)
		fclose(jf);
	free(json);
	gn_rpc_result_release(&res);
	ctl_table_release(&t);
	return ret;
}
