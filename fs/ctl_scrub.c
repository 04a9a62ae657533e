/*
 * ctl_scrub.c - gannetctl scrub: `status` shows what each data server's
 * background scrubber has verified (DsStat); `start` verifies every
 * replica now, from this host: it reads each chunk version whole, checks
 * each 64 KiB block against its checksum and the block checksums against
 * the chunk digest, and reports a bad replica to the MDS (ReportBadChunk),
 * which re-replicates it from a good one.
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

static bool ds_live(const Gannet__DsInfo *d)
{
	return d->state == GANNET__DS_INFO__STATE__UP ||
	       d->state == GANNET__DS_INFO__STATE__DRAINING;
}

static int scrub_status(struct ctl *c)
{
	static const char *const head[] = { "ID", "ADDRESS", "STATE",
					    "SCRUBBED_BLOCKS", "BAD_BLOCKS" };
	struct gn_rpc_result lres;
	Gannet__ListDsReply *l;
	struct ctl_table t;
	struct ctl_json j;
	int ret = CTL_OK;

	if (ctl_list_ds(c, &lres, &l))
		return CTL_FAIL;
	ctl_table_init(&t, head, 5, 1u << 0 | 1u << 3 | 1u << 4);
	if (c->json) {
		cj_begin(&j, stdout);
		cj_arr(&j, "servers");
	}
	for (size_t i = 0; i < l->n_servers; i++) {
		const Gannet__DsInfo *d = l->servers[i];
		Gannet__DsStatRequest req = GANNET__DS_STAT_REQUEST__INIT;
		Gannet__DsStatReply *s = NULL;
		struct gn_rpc_result res = { 0 };
		char id[16], sb[24] = "-", bb[24] = "-";

		if (ds_live(d)) {
			req.h = ctl_hdr(c);
			if (ctl_ds_call(c, d->addr, "Stat", &req.base,
					&gannet__ds_stat_reply__descriptor, &res)) {
				ctl_print_rpc_error(c, d->addr, "stat", &res);
				ret = CTL_FAIL;
			} else {
				s = (Gannet__DsStatReply *)res.reply;
				snprintf(sb, sizeof(sb), "%" PRIu64, s->scrubbed_blocks);
				snprintf(bb, sizeof(bb), "%" PRIu64, s->bad_blocks);
			}
		}
		if (c->json) {
			cj_obj(&j, NULL);
			cj_u64(&j, "id", d->id);
			cj_str(&j, "addr", d->addr);
			cj_str(&j, "state", ctl_ds_state(d->state));
			if (s) {
				cj_u64(&j, "scrubbed_blocks", s->scrubbed_blocks);
				cj_u64(&j, "bad_blocks", s->bad_blocks);
			}
			cj_close_obj(&j);
		} else {
			snprintf(id, sizeof(id), "%u", d->id);
			ctl_table_row(&t, id, d->addr, ctl_ds_state(d->state), sb, bb);
		}
		gn_rpc_result_release(&res);
	}
	if (c->json) {
		cj_close_arr(&j);
		cj_end_doc(&j);
	} else {
		ctl_table_print(&t, stdout);
	}
	ctl_table_release(&t);
	gn_rpc_result_release(&lres);
	return ret;
}

struct scrub_tally {
	uint64_t chunks, bytes, bad;
};

/* Read one replica whole and check every block against its checksum and
 * the chunk digest.  Returns 1 if bad (reported to the MDS), 0 if good,
 * negative errno when it could not be read for another reason. */
static int scrub_chunk(struct ctl *c, const Gannet__DsInfo *d,
		       const Gannet__ChunkStat *s, struct scrub_tally *t)
{
	static unsigned char block[GN_BLOCK_SIZE];
	Gannet__ReadChunkRequest req = GANNET__READ_CHUNK_REQUEST__INIT;
	Gannet__ReadChunkReply *r;
	struct gn_rpc_result res;
	char *why = NULL;
	int ret;

	req.h = ctl_hdr(c);
	req.chunk_id = s->chunk_id;
	req.version = s->version;
	ret = ctl_ds_call(c, d->addr, "ReadChunk", &req.base,
			  &gannet__read_chunk_reply__descriptor, &res);
	if (ret == -GN_ERR_CKSUM) {
		why = xstrdup("the data server found a checksum mismatch");
	} else if (ret == -ENOENT) {
		ret = 0;	/* deleted since it was listed */
		goto out;
	} else if (ret) {
		ctl_print_rpc_error(c, d->addr, "read chunk", &res);
		goto out;
	} else {
		r = (Gannet__ReadChunkReply *)res.reply;
		size_t nb = gn_cksum_count(res.data.len);

		t->bytes += res.data.len;
		if (res.data.len != r->chunk_length || r->n_cksums != nb)
			why = xasprintf("read %zu bytes and %zu checksums of a "
					"%u-byte chunk", res.data.len, r->n_cksums,
					r->chunk_length);
		for (size_t k = 0; !why && k < nb; k++) {
			size_t n = gn_bulk_copy(&res.data, k * GN_BLOCK_SIZE, block,
						GN_BLOCK_SIZE);

			if (gn_cksum(block, n) != r->cksums[k])
				why = xasprintf("block %zu does not match its checksum", k);
		}
		if (!why && s->digest &&
		    gn_cksum_digest(r->cksums, r->n_cksums) != s->digest)
			why = xstrdup("block checksums do not match the chunk digest");
	}
	ret = 0;
	if (why) {
		/* A data server that finds a bad block itself reports it to
		 * the MDS; report only what this host found. */
		bool self_reported = !res.reply;

		Gannet__ReportBadChunkRequest br = GANNET__REPORT_BAD_CHUNK_REQUEST__INIT;
		struct gn_rpc_result bres;

		t->bad++;
		ret = 1;
		if (!c->json)
			printf("bad replica: chunk %016" PRIx64 " v%" PRIu64
			       " on data server %u: %s\n", s->chunk_id, s->version,
			       d->id, why);
		br.h = ctl_hdr(c);
		br.chunk_id = s->chunk_id;
		br.version = s->version;
		br.ds_id = d->id;
		br.reason = why;
		if (!self_reported &&
		    !ctl_mds_call(c, "ReportBadChunk", "report a bad replica", &br.base,
				  &gannet__report_bad_chunk_reply__descriptor, &bres))
			gn_rpc_result_release(&bres);
	}
	t->chunks++;
out:
	free(why);
	gn_rpc_result_release(&res);
	return ret;
}

static int scrub_ds(struct ctl *c, const Gannet__DsInfo *d, struct scrub_tally *t)
{
	uint64_t after_id = 0, after_ver = 0;
	char label[64];
	bool eof = false;
	int ret = 0;

	snprintf(label, sizeof(label), "scrub: data server %u, chunks", d->id);
	while (!eof && ret >= 0) {
		Gannet__ListChunksRequest req = GANNET__LIST_CHUNKS_REQUEST__INIT;
		Gannet__ListChunksReply *r;
		struct gn_rpc_result res;

		req.h = ctl_hdr(c);
		req.after_chunk_id = after_id;
		req.after_version = after_ver;
		req.max = 1024;
		if (ctl_ds_call(c, d->addr, "ListChunks", &req.base,
				&gannet__list_chunks_reply__descriptor, &res)) {
			ctl_print_rpc_error(c, d->addr, "list chunks", &res);
			gn_rpc_result_release(&res);
			return -EIO;
		}
		r = (Gannet__ListChunksReply *)res.reply;
		for (size_t i = 0; i < r->n_chunks && ret >= 0; i++) {
			int one = scrub_chunk(c, d, r->chunks[i], t);

			if (one < 0)
				ret = one;
			ctl_progress(c, label, t->chunks, d->chunks);
		}
		if (r->n_chunks) {
			after_id = r->chunks[r->n_chunks - 1]->chunk_id;
			after_ver = r->chunks[r->n_chunks - 1]->version;
		}
		eof = r->eof || !r->n_chunks;
		gn_rpc_result_release(&res);
	}
	return ret;
}

static int scrub_start(struct ctl *c)
{
	static const char *const head[] = { "ID", "ADDRESS", "CHUNKS", "BYTES", "BAD" };
	struct gn_rpc_result lres;
	Gannet__ListDsReply *l;
	struct ctl_table t;
	struct ctl_json j;
	uint64_t bad = 0;
	bool failed = false, matched = false;

	if (ctl_list_ds(c, &lres, &l))
		return CTL_FAIL;
	ctl_table_init(&t, head, 5, 1u << 0 | 1u << 2 | 1u << 3 | 1u << 4);
	if (c->json) {
		cj_begin(&j, stdout);
		cj_arr(&j, "servers");
	}
	for (size_t i = 0; i < l->n_servers; i++) {
		const Gannet__DsInfo *d = l->servers[i];
		struct scrub_tally tl = { 0 };
		char id[16], ch[24], by[32], bd[24];

		if ((c->opts_given & CTL_O_DS) && d->id != (uint64_t)c->ds_filter)
			continue;
		matched = true;
		if (!ds_live(d))
			continue;
		if (scrub_ds(c, d, &tl))
			failed = true;
		ctl_progress_end(c);
		bad += tl.bad;
		if (c->json) {
			cj_obj(&j, NULL);
			cj_u64(&j, "id", d->id);
			cj_str(&j, "addr", d->addr);
			cj_u64(&j, "chunks", tl.chunks);
			cj_u64(&j, "bytes", tl.bytes);
			cj_u64(&j, "bad", tl.bad);
			cj_close_obj(&j);
		} else {
			snprintf(id, sizeof(id), "%u", d->id);
			snprintf(ch, sizeof(ch), "%" PRIu64, tl.chunks);
			snprintf(bd, sizeof(bd), "%" PRIu64, tl.bad);
			ctl_table_row(&t, id, d->addr, ch,
				      gn_fmt_bytes(by, sizeof(by), tl.bytes), bd);
		}
	}
	if (c->json) {
		cj_close_arr(&j);
		cj_u64(&j, "bad", bad);
		cj_end_doc(&j);
	} else {
		ctl_table_print(&t, stdout);
	}
	ctl_table_release(&t);
	gn_rpc_result_release(&lres);
	if ((c->opts_given & CTL_O_DS) && !matched) {
		ctl_err(c, "no data server with id %lld", (long long)c->ds_filter);
		return CTL_FAIL;
	}
	return failed || bad ? CTL_FAIL : CTL_OK;
}

int ctl_cmd_scrub(struct ctl *c, int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "status")) {
		if (ctl_only_opts(c, "scrub status", 0))
			return CTL_USAGE;
		return scrub_status(c);
	}
	if (argc == 2 && !strcmp(argv[1], "start")) {
		if (ctl_only_opts(c, "scrub start", CTL_O_DS))
			return CTL_USAGE;
		return scrub_start(c);
	}
	ctl_err(c, "usage: gannetctl scrub status | scrub start [--ds ID]");
	return CTL_USAGE;
}
