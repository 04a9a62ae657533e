/*
 * ctl_fsck.c - gannetctl fsck: the namespace and chunk maps of the MDS
 * against the inventory of every data server.
 *
 * 1. Walk the namespace from the root (ReadDir), and for every regular
 *    file (hard links once) fetch its chunk map (GetChunks).
 * 2. List every live data server's chunk versions (ListChunks).
 * 3. Compare.  Errors: a replica the MDS lists but a live server lacks
 *    (missing), a chunk with no replica left (lost), a replica on an
 *    unknown or removed server or a chunk with no replica at all
 *    (dangling), a server copy shorter than the map says (size) or with
 *    another digest (digest), a chunk past the end of its file
 *    (beyond_eof).
 *    Garbage (not errors; the MDS or a running write will clean it up):
 *    older versions of referenced chunks (stale), newer ones (uncommitted),
 *    chunks no file references (orphan), and replicas of the current
 *    version the MDS does not list (unlisted).
 *
 * The walk runs before the inventories, so a file created meanwhile shows
 * up as garbage, never as an error; a reported missing replica is checked
 * again (its file's map and the server) before it is reported, so a file
 * deleted or rewritten meanwhile is not reported either.
 *
 * --repair copies missing replicas from a good one (ReplicateChunk on the
 * server that lacks it, then DsReplicated to the MDS), replaces replicas of
 * the wrong size or digest the same way after deleting them (or, with no
 * intact replica seen, reports them to the MDS with ReportBadChunk), and
 * deletes stale versions.  It does not delete orphans or uncommitted
 * versions: only the MDS knows whether a writer still owns them.
 */
#include "config.h"
#include "fs/ctl_i.h"
#include "common/cksum.h"
#include "common/status.h"
#include "common/util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define LIST_MAX 16384
#define READDIR_MAX 1024

/* ---- a u64 -> u32 open-addressing map (chunk id -> ref, inode set) ---- */

struct u64map {
	uint64_t *keys;		/* 0 = empty (chunk ids and inodes are >= 1) */
	uint32_t *vals;
	size_t cap, n;
};

static size_t u64map_slot(const struct u64map *m, uint64_t k)
{
	size_t i = (size_t)(k * 0x9e3779b97f4a7c15ULL) & (m->cap - 1);

	while (m->keys[i] && m->keys[i] != k)
		i = (i + 1) & (m->cap - 1);
	return i;
}

static void u64map_put(struct u64map *m, uint64_t k, uint32_t v)
{
	if (2 * (m->n + 1) > m->cap) {
		struct u64map old = *m;

		m->cap = old.cap ? 2 * old.cap : 1024;
		m->keys = xcalloc(m->cap, sizeof(*m->keys));
		m->vals = xcalloc(m->cap, sizeof(*m->vals));
		m->n = 0;
		for (size_t i = 0; i < old.cap; i++)
			if (old.keys[i])
				u64map_put(m, old.keys[i], old.vals[i]);
		free(old.keys);
		free(old.vals);
	}
	size_t i = u64map_slot(m, k);

	if (!m->keys[i])
		m->n++;
	m->keys[i] = k;
	m->vals[i] = v;
}

static bool u64map_get(const struct u64map *m, uint64_t k, uint32_t *v)
{
	size_t i;

	if (!m->cap)
		return false;
	i = u64map_slot(m, k);
	if (!m->keys[i])
		return false;
	*v = m->vals[i];
	return true;
}

static void u64map_release(struct u64map *m)
{
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof(*m));
}

/* ---- state ---- */

struct ref {
	uint64_t chunk_id, version, index;
	uint64_t digest;
	uint32_t length;
	uint32_t file;		/* index into files */
	uint32_t nrep;
	uint32_t *rep;		/* ds ids, as the MDS lists them */
	bool *seen;		/* seen[i]: rep[i] holds this version */
};

struct file {
	char *path;
	uint64_t ino;
	uint64_t size;
};

struct problem {
	const char *kind;
	bool error;		/* else garbage */
	bool repaired;
	uint32_t file;		/* UINT32_MAX: none */
	uint64_t index, chunk_id, version;
	uint32_t ds;		/* 0: none */
	char *detail;
};

struct fsck {
	struct ctl *c;
	struct ref *refs;
	size_t nrefs, caprefs;
	struct file *files;
	size_t nfiles, capfiles;
	struct u64map by_chunk, inodes;
	Gannet__ListDsReply *ds;	/* owned by ds_res */
	struct gn_rpc_result ds_res;
	struct problem *probs;
	size_t nprobs, capprobs;
	uint64_t dirs, replicas_checked, unchecked, servers_checked;
	bool failed;		/* a call failed: the check is incomplete */
};

static const Gannet__DsInfo *ds_by_id(const struct fsck *f, uint32_t id)
{
	for (size_t i = 0; i < f->ds->n_servers; i++)
		if (f->ds->servers[i]->id == id)
			return f->ds->servers[i];
	return NULL;
}

static bool ds_live(const Gannet__DsInfo *d)
{
	return d && (d->state == GANNET__DS_INFO__STATE__UP ||
		     d->state == GANNET__DS_INFO__STATE__DRAINING);
}

static struct problem *problem_add(struct fsck *f, const char *kind, bool error,
				   uint32_t file, uint64_t index, uint64_t id,
				   uint64_t version, uint32_t ds, char *detail)
{
	struct problem *p;

	if (f->nprobs == f->capprobs) {
		f->capprobs = f->capprobs ? 2 * f->capprobs : 64;
		f->probs = xrealloc(f->probs, f->capprobs * sizeof(*f->probs));
	}
	p = &f->probs[f->nprobs++];
	*p = (struct problem){ kind, error, false, file, index, id, version, ds,
			       detail };
	return p;
}

/* ---- 1. namespace ---- */

static int add_file(struct fsck *f, const char *path, uint64_t ino)
{
	Gannet__GetChunksRequest req = GANNET__GET_CHUNKS_REQUEST__INIT;
	Gannet__GetChunksReply *r;
	struct gn_rpc_result res;
	char what[4200];
	uint32_t fi, dummy;

	if (u64map_get(&f->inodes, ino, &dummy))
		return 0;		/* another link of a file seen already */
	u64map_put(&f->inodes, ino, 1);
	req.h = ctl_hdr(f->c);
	req.ino = ino;
	snprintf(what, sizeof(what), "chunks of '%s'", path);
	if (ctl_mds_call(f->c, "GetChunks", what, &req.base,
			 &gannet__get_chunks_reply__descriptor, &res))
		return -EIO;
	r = (Gannet__GetChunksReply *)res.reply;
	if (f->nfiles == f->capfiles) {
		f->capfiles = f->capfiles ? 2 * f->capfiles : 256;
		f->files = xrealloc(f->files, f->capfiles * sizeof(*f->files));
	}
	fi = (uint32_t)f->nfiles++;
	f->files[fi] = (struct file){ xstrdup(path), ino, r->size };
	for (size_t i = 0; i < r->n_chunks; i++) {
		const Gannet__ChunkInfo *k = r->chunks[i];
		struct ref *rf;
		uint32_t other;

		if (u64map_get(&f->by_chunk, k->chunk_id, &other)) {
			problem_add(f, "dangling", true, fi, k->index, k->chunk_id,
				    k->version, 0, xasprintf("chunk also used by '%s'",
				    f->files[f->refs[other].file].path));
			continue;
		}
		if ((uint64_t)k->index * GN_CHUNK_SIZE >= r->size && k->length)
			problem_add(f, "beyond_eof", true, fi, k->index, k->chunk_id,
				    k->version, 0, xasprintf("chunk starts past the "
				    "file size %" PRIu64, r->size));
		else if (k->length > GN_CHUNK_SIZE ||
			 (uint64_t)k->index * GN_CHUNK_SIZE + k->length > r->size)
			problem_add(f, "beyond_eof", true, fi, k->index, k->chunk_id,
				    k->version, 0, xasprintf("chunk length %u runs past "
				    "the file size %" PRIu64, k->length, r->size));
		if (f->nrefs == f->caprefs) {
			f->caprefs = f->caprefs ? 2 * f->caprefs : 1024;
			f->refs = xrealloc(f->refs, f->caprefs * sizeof(*f->refs));
		}
		rf = &f->refs[f->nrefs];
		*rf = (struct ref){ k->chunk_id, k->version, k->index, k->digest,
				    k->length, fi, (uint32_t)k->n_replicas, NULL, NULL };
		rf->rep = xcalloc(k->n_replicas + 1, sizeof(uint32_t));
		rf->seen = xcalloc(k->n_replicas + 1, sizeof(bool));
		memcpy(rf->rep, k->replicas, k->n_replicas * sizeof(uint32_t));
		u64map_put(&f->by_chunk, k->chunk_id, (uint32_t)f->nrefs);
		f->nrefs++;
	}
	gn_rpc_result_release(&res);
	return 0;
}

struct dir_item {
	uint64_t ino;
	char *path;
};

static int walk_namespace(struct fsck *f)
{
	struct dir_item *stack = xmalloc(sizeof(*stack));
	size_t n = 1, cap = 1;
	int ret = 0;

	stack[0] = (struct dir_item){ 1, xstrdup("") };
	while (n) {
		struct dir_item d = stack[--n];
		uint64_t cookie = 0;
		bool eof = false;

		f->dirs++;
		while (!eof && !ret) {
			Gannet__ReadDirRequest req = GANNET__READ_DIR_REQUEST__INIT;
			Gannet__ReadDirReply *r;
			struct gn_rpc_result res;
			char what[4200];

			req.h = ctl_hdr(f->c);
			req.ino = d.ino;
			req.cookie = cookie;
			req.max_entries = READDIR_MAX;
			snprintf(what, sizeof(what), "read directory '%s/'", d.path);
			if (ctl_mds_call(f->c, "ReadDir", what, &req.base,
					 &gannet__read_dir_reply__descriptor, &res)) {
				ret = -EIO;
				break;
			}
			r = (Gannet__ReadDirReply *)res.reply;
			eof = r->eof || !r->n_entries;
			for (size_t i = 0; i < r->n_entries && !ret; i++) {
				const Gannet__DirEntry *e = r->entries[i];
				char *p = xasprintf("%s/%s", d.path, e->name);

				cookie = e->cookie;
				if ((e->type & S_IFMT) == S_IFDIR) {
					if (n == cap) {
						cap *= 2;
						stack = xrealloc(stack, cap * sizeof(*stack));
					}
					stack[n++] = (struct dir_item){ e->ino, p };
					continue;
				}
				if ((e->type & S_IFMT) == S_IFREG)
					ret = add_file(f, p, e->ino);
				free(p);
			}
			gn_rpc_result_release(&res);
			ctl_progress(f->c, "fsck: namespace, files", f->nfiles, 0);
		}
		free(d.path);
	}
	while (n)
		free(stack[--n].path);
	free(stack);
	return ret;
}

/* ---- 2. inventories ---- */

static void check_stat(struct fsck *f, const Gannet__DsInfo *d,
		       const Gannet__ChunkStat *s)
{
	struct ref *r;
	uint32_t ri;
	size_t i;

	f->replicas_checked++;
	if (!u64map_get(&f->by_chunk, s->chunk_id, &ri)) {
		problem_add(f, "orphan", false, UINT32_MAX, 0, s->chunk_id,
			    s->version, d->id, xstrdup("no file references this chunk"));
		return;
	}
	r = &f->refs[ri];
	if (s->version < r->version) {
		problem_add(f, "stale", false, r->file, r->index, s->chunk_id,
			    s->version, d->id, xasprintf("superseded by version %"
			    PRIu64, r->version));
		return;
	}
	if (s->version > r->version) {
		problem_add(f, "uncommitted", false, r->file, r->index, s->chunk_id,
			    s->version, d->id, xasprintf("newer than the committed "
			    "version %" PRIu64, r->version));
		return;
	}
	for (i = 0; i < r->nrep; i++)
		if (r->rep[i] == d->id)
			break;
	if (i == r->nrep) {
		problem_add(f, "unlisted", false, r->file, r->index, s->chunk_id,
			    s->version, d->id, xstrdup("the MDS does not list this replica"));
		return;
	}
	/* A server holding more bytes than the map is fine: truncating a
	 * file shortens its last chunk in the map only (same version, same
	 * digest), and reads never go past the map's length. */
	if (s->length < r->length) {
		problem_add(f, "size", true, r->file, r->index, s->chunk_id,
			    s->version, d->id, xasprintf("server has %u bytes, MDS "
			    "says %u", s->length, r->length));
		return;
	}
	if (s->digest && r->digest && s->digest != r->digest) {
		problem_add(f, "digest", true, r->file, r->index, s->chunk_id,
			    s->version, d->id, xasprintf("server digest %016" PRIx64
			    ", MDS %016" PRIx64, s->digest, r->digest));
		return;
	}
	r->seen[i] = true;
}

static int inventory(struct fsck *f, const Gannet__DsInfo *d)
{
	uint64_t after_id = 0, after_ver = 0, before = f->replicas_checked;
	bool eof = false;
	char label[64];

	snprintf(label, sizeof(label), "fsck: data server %u", d->id);
	while (!eof) {
		Gannet__ListChunksRequest req = GANNET__LIST_CHUNKS_REQUEST__INIT;
		Gannet__ListChunksReply *r;
		struct gn_rpc_result res;

		req.h = ctl_hdr(f->c);
		req.after_chunk_id = after_id;
		req.after_version = after_ver;
		req.max = LIST_MAX;
		if (ctl_ds_call(f->c, d->addr, "ListChunks", &req.base,
				&gannet__list_chunks_reply__descriptor, &res)) {
			char what[64];

			snprintf(what, sizeof(what), "list chunks of data server %u", d->id);
			ctl_print_rpc_error(f->c, d->addr, what, &res);
			gn_rpc_result_release(&res);
			return -EIO;
		}
		r = (Gannet__ListChunksReply *)res.reply;
		for (size_t i = 0; i < r->n_chunks; i++)
			check_stat(f, d, r->chunks[i]);
		if (r->n_chunks) {
			after_id = r->chunks[r->n_chunks - 1]->chunk_id;
			after_ver = r->chunks[r->n_chunks - 1]->version;
		}
		eof = r->eof || !r->n_chunks;
		gn_rpc_result_release(&res);
		ctl_progress(f->c, label, f->replicas_checked - before, d->chunks);
	}
	f->servers_checked++;
	return 0;
}

/* ---- 3. what the MDS lists but nobody has ---- */

/* Is ref r still current in its file's map, with ds listed?  Called before
 * reporting a missing replica, to skip files changed during the check. */
static bool still_current(struct fsck *f, const struct ref *r, uint32_t ds)
{
	Gannet__GetChunksRequest req = GANNET__GET_CHUNKS_REQUEST__INIT;
	struct gn_rpc_result res;
	bool cur = false;

	req.h = ctl_hdr(f->c);
	req.ino = f->files[r->file].ino;
	req.first_index = r->index;
	req.count = 1;
	if (ctl_mds_call_quiet(f->c, "GetChunks", &req.base,
			       &gannet__get_chunks_reply__descriptor, &res)) {
		gn_rpc_result_release(&res);
		return false;
	}
	for (size_t i = 0; i < ((Gannet__GetChunksReply *)res.reply)->n_chunks; i++) {
		const Gannet__ChunkInfo *k =
			((Gannet__GetChunksReply *)res.reply)->chunks[i];

		if (k->chunk_id != r->chunk_id || k->version != r->version)
			continue;
		for (size_t m = 0; m < k->n_replicas; m++)
			cur |= k->replicas[m] == ds;
	}
	gn_rpc_result_release(&res);
	return cur;
}

static void check_refs(struct fsck *f)
{
	for (size_t i = 0; i < f->nrefs; i++) {
		struct ref *r = &f->refs[i];
		size_t good = 0, unknown = 0;

		if (!r->nrep) {
			problem_add(f, "dangling", true, r->file, r->index, r->chunk_id,
				    r->version, 0, xstrdup("chunk has no replica"));
			continue;
		}
		for (size_t m = 0; m < r->nrep; m++) {
			const Gannet__DsInfo *d = ds_by_id(f, r->rep[m]);

			if (r->seen[m]) {
				good++;
			} else if (!d || d->state == GANNET__DS_INFO__STATE__REMOVED) {
				problem_add(f, "dangling", true, r->file, r->index,
					    r->chunk_id, r->version, r->rep[m],
					    xstrdup(d ? "replica on a removed data server" :
						    "replica on an unknown data server"));
			} else if (!ds_live(d)) {
				f->unchecked++;
				unknown++;
			} else if (still_current(f, r, r->rep[m])) {
				problem_add(f, "missing", true, r->file, r->index,
					    r->chunk_id, r->version, r->rep[m],
					    xasprintf("not on data server %s", d->addr));
			} else {
				unknown++;	/* changed during the check */
			}
		}
		if (!good && !unknown)
			problem_add(f, "lost", true, r->file, r->index, r->chunk_id,
				    r->version, 0, xstrdup("no replica holds this version"));
	}
}

/* ---- repair ---- */

static const struct ref *ref_of(const struct fsck *f, uint64_t chunk_id)
{
	uint32_t ri;

	return u64map_get(&f->by_chunk, chunk_id, &ri) ? &f->refs[ri] : NULL;
}

/* Copy p's chunk version to p->ds from a replica seen intact, and tell
 * the MDS (a no-op for it when the server is already listed). */
static int repair_missing(struct fsck *f, struct problem *p)
{
	const struct ref *r = ref_of(f, p->chunk_id);
	const Gannet__DsInfo *dst = ds_by_id(f, p->ds), *src = NULL;
	Gannet__ReplicateChunkRequest rq = GANNET__REPLICATE_CHUNK_REQUEST__INIT;
	Gannet__DsReplicatedRequest dr = GANNET__DS_REPLICATED_REQUEST__INIT;
	Gannet__ChunkRef cref = GANNET__CHUNK_REF__INIT;
	Gannet__ReplicateChunkReply *rr;
	struct gn_rpc_result res;
	char what[96];

	for (size_t m = 0; r && m < r->nrep && !src; m++)
		if (r->seen[m])
			src = ds_by_id(f, r->rep[m]);
	if (!src || !dst)
		return -ENOENT;
	rq.h = ctl_hdr(f->c);
	rq.chunk_id = p->chunk_id;
	rq.version = p->version;
	rq.source = src->addr;
	if (ctl_ds_call(f->c, dst->addr, "ReplicateChunk", &rq.base,
			&gannet__replicate_chunk_reply__descriptor, &res)) {
		snprintf(what, sizeof(what), "copy chunk %016" PRIx64 " to data server %u",
			 p->chunk_id, dst->id);
		ctl_print_rpc_error(f->c, dst->addr, what, &res);
		gn_rpc_result_release(&res);
		return -EIO;
	}
	rr = (Gannet__ReplicateChunkReply *)res.reply;
	dr.h = ctl_hdr(f->c);
	dr.ds_id = dst->id;
	cref.chunk_id = p->chunk_id;
	cref.version = p->version;
	dr.chunk = &cref;
	dr.length = rr->length;
	dr.digest = rr->digest;
	gn_rpc_result_release(&res);
	snprintf(what, sizeof(what), "confirm chunk %016" PRIx64 " on data server %u",
		 p->chunk_id, dst->id);
	if (ctl_mds_call(f->c, "DsReplicated", what, &dr.base,
			 &gannet__ds_replicated_reply__descriptor, &res))
		return -EIO;
	gn_rpc_result_release(&res);
	return 0;
}

static int repair_one(struct fsck *f, struct problem *p)
{
	struct gn_rpc_result res;
	int ret;

	if (!strcmp(p->kind, "missing"))
		return repair_missing(f, p);
	if (!strcmp(p->kind, "size") || !strcmp(p->kind, "digest")) {
		Gannet__ReportBadChunkRequest req = GANNET__REPORT_BAD_CHUNK_REQUEST__INIT;
		Gannet__DeleteChunkRequest dq = GANNET__DELETE_CHUNK_REQUEST__INIT;
		const struct ref *r = ref_of(f, p->chunk_id);
		const Gannet__DsInfo *d = ds_by_id(f, p->ds);
		bool have_source = false;

		/* With an intact replica elsewhere, replace the bad copy now:
		 * delete it, copy the good one over.  The MDS keeps listing
		 * the server, which is right again afterwards. */
		for (size_t m = 0; r && m < r->nrep; m++)
			have_source |= r->seen[m];
		if (have_source && d) {
			dq.h = ctl_hdr(f->c);
			dq.chunk_id = p->chunk_id;
			dq.version = p->version;
			ret = ctl_ds_call(f->c, d->addr, "DeleteChunk", &dq.base,
					  &gannet__delete_chunk_reply__descriptor, &res);
			if (ret && ret != -ENOENT)
				ctl_print_rpc_error(f->c, d->addr, "delete a bad replica", &res);
			gn_rpc_result_release(&res);
			if (!ret || ret == -ENOENT)
				return repair_missing(f, p);
			return ret;
		}
		/* No good copy known here: let the MDS decide (it keeps a last
		 * replica and re-replicates from any other). */

		req.h = ctl_hdr(f->c);
		req.chunk_id = p->chunk_id;
		req.version = p->version;
		req.ds_id = p->ds;
		req.reason = p->detail;
		ret = ctl_mds_call(f->c, "ReportBadChunk", "report a bad replica",
				   &req.base, &gannet__report_bad_chunk_reply__descriptor,
				   &res);
		if (!ret)
			gn_rpc_result_release(&res);
		return ret;
	}
	if (!strcmp(p->kind, "stale")) {
		Gannet__DeleteChunkRequest req = GANNET__DELETE_CHUNK_REQUEST__INIT;
		const Gannet__DsInfo *d = ds_by_id(f, p->ds);

		if (!d)
			return -ENOENT;
		req.h = ctl_hdr(f->c);
		req.chunk_id = p->chunk_id;
		req.version = p->version;
		ret = ctl_ds_call(f->c, d->addr, "DeleteChunk", &req.base,
				  &gannet__delete_chunk_reply__descriptor, &res);
		if (ret && ret != -ENOENT)
			ctl_print_rpc_error(f->c, d->addr, "delete a stale replica", &res);
		gn_rpc_result_release(&res);
		return ret == -ENOENT ? 0 : ret;
	}
	return -EOPNOTSUPP;
}

/* ---- report ---- */

static void report(struct fsck *f, size_t errors, size_t garbage,
		   size_t repaired)
{
	struct ctl *c = f->c;

	if (c->json) {
		struct ctl_json j;

		cj_begin(&j, stdout);
		cj_bool(&j, "clean", errors == repaired && !f->failed);
		cj_bool(&j, "complete", !f->failed);
		cj_u64(&j, "directories", f->dirs);
		cj_u64(&j, "files", f->nfiles);
		cj_u64(&j, "chunks", f->nrefs);
		cj_u64(&j, "servers_checked", f->servers_checked);
		cj_u64(&j, "replicas_checked", f->replicas_checked);
		cj_u64(&j, "replicas_unchecked", f->unchecked);
		cj_u64(&j, "errors", errors);
		cj_u64(&j, "garbage", garbage);
		cj_u64(&j, "repaired", repaired);
		cj_arr(&j, "problems");
		for (size_t i = 0; i < f->nprobs; i++) {
			const struct problem *p = &f->probs[i];

			cj_obj(&j, NULL);
			cj_str(&j, "kind", p->kind);
			cj_bool(&j, "error", p->error);
			cj_str(&j, "path", p->file == UINT32_MAX ? NULL :
			       f->files[p->file].path);
			cj_u64(&j, "index", p->index);
			cj_hex(&j, "chunk_id", p->chunk_id);
			cj_u64(&j, "version", p->version);
			cj_u64(&j, "ds", p->ds);
			cj_str(&j, "detail", p->detail);
			cj_bool(&j, "repaired", p->repaired);
			cj_close_obj(&j);
		}
		cj_close_arr(&j);
		cj_end_doc(&j);
		return;
	}
	for (size_t i = 0; i < f->nprobs; i++) {
		const struct problem *p = &f->probs[i];
		char ds[16] = "";

		if (p->ds)
			snprintf(ds, sizeof(ds), " ds %u", p->ds);
		printf("%-11s %s chunk %016" PRIx64 " v%" PRIu64 "%s", p->kind,
		       p->file == UINT32_MAX ? "-" : f->files[p->file].path,
		       p->chunk_id, p->version, ds);
		if (p->file != UINT32_MAX)
			printf(" (index %" PRIu64 ")", p->index);
		printf(": %s%s\n", p->detail, p->repaired ? " [repaired]" : "");
	}
	printf("checked %" PRIu64 " directories, %zu files, %zu chunks, %" PRIu64
	       " replicas on %" PRIu64 " data servers\n", f->dirs, f->nfiles,
	       f->nrefs, f->replicas_checked, f->servers_checked);
	if (f->unchecked)
		printf("%" PRIu64 " replicas on servers that are down were not checked\n",
		       f->unchecked);
	printf("%zu errors, %zu garbage replicas%s", errors, garbage,
	       c->repair ? "" : "\n");
	if (c->repair)
		printf(", %zu repaired\n", repaired);
	if (f->failed)
		printf("the check is incomplete: some calls failed\n");
}

static void fsck_release(struct fsck *f)
{
	for (size_t i = 0; i < f->nrefs; i++) {
		free(f->refs[i].rep);
		free(f->refs[i].seen);
	}
	free(f->refs);
	for (size_t i = 0; i < f->nfiles; i++)
		free(f->files[i].path);
	free(f->files);
	for (size_t i = 0; i < f->nprobs; i++)
		free(f->probs[i].detail);
	free(f->probs);
	u64map_release(&f->by_chunk);
	u64map_release(&f->inodes);
	gn_rpc_result_release(&f->ds_res);
}

int ctl_cmd_fsck(struct ctl *c, int argc, char **argv)
{
	struct fsck f = { .c = c };
	size_t errors = 0, garbage = 0, repaired = 0;
	int ret = CTL_FAIL;

	if (argc != 1 || ctl_only_opts(c, "fsck", CTL_O_REPAIR)) {
		if (argc != 1)
			ctl_err(c, "usage: gannetctl fsck [--repair]");
		return CTL_USAGE;
	}
	if (ctl_list_ds(c, &f.ds_res, &f.ds))
		goto out;
	if (walk_namespace(&f)) {
		ctl_progress_end(c);
		goto out;
	}
	for (size_t i = 0; i < f.ds->n_servers; i++) {
		const Gannet__DsInfo *d = f.ds->servers[i];

		if (ds_live(d) && inventory(&f, d))
			f.failed = true;
	}
	ctl_progress_end(c);
	check_refs(&f);
	for (size_t i = 0; i < f.nprobs; i++) {
		struct problem *p = &f.probs[i];

		if (c->repair && repair_one(&f, p) == 0)
			p->repaired = true;
		if (p->error) {
			errors++;
			repaired += p->repaired;
		} else {
			garbage++;
		}
	}
	report(&f, errors, garbage, repaired);
	ret = errors > repaired || f.failed ? CTL_FAIL : CTL_OK;
out:
	fsck_release(&f);
	return ret;
}
