/*
 * tt-ds.c - test-tool subcommands that call a data server's Ds service
 * directly (proto/ds.proto), for the t2xxx scripts and by hand.
 *
 * Common options (anywhere on the line):
 *   --timeout=MS      deadline of the call (default 10000)
 *   --expect=STATUS   the call must fail with this gRPC status name
 *                     (DATA_LOSS, NOT_FOUND, ...): exit 0 if it does,
 *                     1 (with a message) otherwise
 * On failure without --expect, stderr gets "STATUS errno=N: detail" and
 * the exit status is 1.
 */
#include "config.h"
#include "t/helper/test-tool.h"
#include "common/cksum.h"
#include "common/rpc.h"
#include "common/status.h"
#include "common/util.h"
#include "proto/ds.pb-c.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct tt_ds {
	int argc;			/* positional arguments left */
	char *argv[16];
	int timeout_ms;
	const char *expect;
	/* subcommand options, "" when absent */
	const char *opt[16][2];
	int nopt;
	struct gn_rpc_client *cli;
	struct gn_rpc_channel *ch;
};

static int parse(struct tt_ds *t, int argc, char **argv)
{
	memset(t, 0, sizeof(*t));
	t->timeout_ms = 10000;
	for (int i = 1; i < argc; i++) {
		char *a = argv[i], *eq;

		if (strncmp(a, "--", 2)) {
			if (t->argc == 16)
				return 2;
			t->argv[t->argc++] = a;
			continue;
		}
		eq = strchr(a, '=');
		if (!strncmp(a, "--timeout=", 10)) {
			t->timeout_ms = atoi(a + 10);
		} else if (!strncmp(a, "--expect=", 9)) {
			t->expect = a + 9;
		} else if (t->nopt < 16) {
			if (eq)
				*eq = '\0';
			t->opt[t->nopt][0] = a + 2;
			t->opt[t->nopt][1] = eq ? eq + 1 : "";
			t->nopt++;
		}
	}
	return 0;
}

static const char *opt(struct tt_ds *t, const char *name)
{
	for (int i = 0; i < t->nopt; i++)
		if (!strcmp(t->opt[i][0], name))
			return t->opt[i][1];
	return NULL;
}

static uint64_t num(const char *s)
{
	return s ? strtoull(s, NULL, 0) : 0;
}

static int connect_to(struct tt_ds *t, const char *addr)
{
	struct gn_rpc_channel_opts co = { .conns = 1 };

	if (opt(t, "conns"))
		co.conns = (int)num(opt(t, "conns"));
	gn_rpc_init();
	if (gn_rpc_client_new(&t->cli) ||
	    gn_rpc_channel_new(t->cli, addr, &co, &t->ch)) {
		fprintf(stderr, "cannot create a channel to '%s'\n", addr);
		return 1;
	}
	return 0;
}

static void disconnect(struct tt_ds *t)
{
	if (t->ch)
		gn_rpc_channel_free(t->ch);
	if (t->cli)
		gn_rpc_client_free(t->cli);
	gn_rpc_shutdown();
}

static int call(struct tt_ds *t, const char *method, const ProtobufCMessage *req,
		const void *data, size_t len, const ProtobufCMessageDescriptor *rd,
		struct gn_rpc_result *res)
{
	struct gn_rpc_callopts o = { .timeout_ms = t->timeout_ms };

	return gn_rpc_call(t->ch, method, req, data, len, rd, &o, res);
}

/* Map the outcome to an exit status, honouring --expect. */
static int outcome(struct tt_ds *t, const struct gn_rpc_result *res)
{
	const char *got = res->err ? gn_status_name((enum gn_status)res->status) : "OK";

	if (t->expect) {
		if (!strcmp(got, t->expect))
			return 0;
		fprintf(stderr, "expected %s, got %s errno=%d: %s\n", t->expect,
			got, -res->err, res->detail);
		return 1;
	}
	if (res->err) {
		fprintf(stderr, "%s errno=%d: %s\n", got, -res->err, res->detail);
		return 1;
	}
	return 0;
}

static int read_file(const char *path, void **out, size_t *len)
{
	size_t cap = 1 << 16, n = 0;
	char *buf = xmalloc(cap);
	int fd = strcmp(path, "-") ? open(path, O_RDONLY) : 0;
	ssize_t r;

	if (fd < 0) {
		fprintf(stderr, "cannot open '%s': %s\n", path, strerror(errno));
		free(buf);
		return 1;
	}
	while ((r = read(fd, buf + n, cap - n)) > 0) {
		n += (size_t)r;
		if (n == cap)
			buf = xrealloc(buf, cap *= 2);
	}
	if (fd)
		close(fd);
	*out = buf;
	*len = n;
	return r < 0;
}

/* ds-write ADDR ID VERSION FILE [--base=V --base-length=N --offset=N
 *   --chunk-length=N --zstd --chain=A,B --bad-cksum] */
int tt_ds_write(int argc, char **argv)
{
	Gannet__WriteChunkRequest rq = GANNET__WRITE_CHUNK_REQUEST__INIT;
	struct gn_rpc_result res = { 0 };
	uint64_t ck[GN_BLOCKS_PER_CHUNK + 1];
	char *chain[16], *chainbuf = NULL;
	struct tt_ds t;
	void *data = NULL;
	size_t len;
	int ret;

	if (parse(&t, argc, argv) || t.argc != 4)
		return 2;
	if (read_file(t.argv[3], &data, &len))
		return 1;
	rq.chunk_id = num(t.argv[1]);
	rq.version = num(t.argv[2]);
	rq.base_version = num(opt(&t, "base"));
	rq.base_length = (uint32_t)num(opt(&t, "base-length"));
	rq.offset = (uint32_t)num(opt(&t, "offset"));
	rq.chunk_length = opt(&t, "chunk-length") ? (uint32_t)num(opt(&t, "chunk-length"))
						   : rq.offset + (uint32_t)len;
	rq.n_cksums = len <= GN_CHUNK_SIZE ? gn_cksum_blocks(data, len, ck) : 0;
	rq.cksums = ck;
	if (opt(&t, "bad-cksum") && rq.n_cksums)
		ck[rq.n_cksums - 1] ^= 1;
	rq.compression = opt(&t, "zstd") ? GANNET__COMPRESSION__COMPRESSION_ZSTD
					 : GANNET__COMPRESSION__COMPRESSION_NONE;
	if (opt(&t, "chain") && *opt(&t, "chain")) {
		chainbuf = xstrdup(opt(&t, "chain"));
		for (char *s = strtok(chainbuf, ","); s && rq.n_chain < 16; s = strtok(NULL, ","))
			chain[rq.n_chain++] = s;
		rq.chain = chain;
	}
	ret = connect_to(&t, t.argv[0]);
	if (!ret) {
		call(&t, "/gannet.Ds/WriteChunk", &rq.base, data, len,
		     &gannet__write_chunk_reply__descriptor, &res);
		ret = outcome(&t, &res);
		if (!res.err && !t.expect) {
			const Gannet__WriteChunkReply *rep = (const void *)res.reply;

			printf("length=%u digest=%016" PRIx64 "\n", rep->length, rep->digest);
		}
	}
	gn_rpc_result_release(&res);
	disconnect(&t);
	free(chainbuf);
	free(data);
	return ret;
}

/* ds-read ADDR ID VERSION [--offset=N --length=N --out=FILE]: the bytes
 * to stdout (or FILE), after checking them against the reply's checksums. */
int tt_ds_read(int argc, char **argv)
{
	Gannet__ReadChunkRequest rq = GANNET__READ_CHUNK_REQUEST__INIT;
	struct gn_rpc_result res = { 0 };
	struct tt_ds t;
	int ret, fd = 1;

	if (parse(&t, argc, argv) || t.argc != 3)
		return 2;
	rq.chunk_id = num(t.argv[1]);
	rq.version = num(t.argv[2]);
	rq.offset = (uint32_t)num(opt(&t, "offset"));
	rq.length = (uint32_t)num(opt(&t, "length"));
	ret = connect_to(&t, t.argv[0]);
	if (ret)
		goto out;
	call(&t, "/gannet.Ds/ReadChunk", &rq.base, NULL, 0,
	     &gannet__read_chunk_reply__descriptor, &res);
	ret = outcome(&t, &res);
	if (res.err || t.expect)
		goto out;
	{
		const Gannet__ReadChunkReply *rep = (const void *)res.reply;
		char *buf = xmalloc(res.data.len + 1);
		size_t n = gn_bulk_copy(&res.data, 0, buf, res.data.len);
		uint64_t ck[GN_BLOCKS_PER_CHUNK + 1];

		if (n != res.data.len || res.data.len > GN_CHUNK_SIZE ||
		    gn_cksum_blocks(buf, n, ck) != rep->n_cksums ||
		    memcmp(ck, rep->cksums, rep->n_cksums * sizeof(uint64_t))) {
			fprintf(stderr, "reply data does not match its checksums\n");
			ret = 1;
		}
		if (opt(&t, "out"))
			fd = open(opt(&t, "out"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0 || write(fd, buf, n) != (ssize_t)n)
			ret = 1;
		if (fd > 1)
			close(fd);
		free(buf);
	}
out:
	gn_rpc_result_release(&res);
	disconnect(&t);
	return ret;
}

/* ds-delete ADDR ID VERSION */
int tt_ds_delete(int argc, char **argv)
{
	Gannet__DeleteChunkRequest rq = GANNET__DELETE_CHUNK_REQUEST__INIT;
	struct gn_rpc_result res = { 0 };
	struct tt_ds t;
	int ret;

	if (parse(&t, argc, argv) || t.argc != 3)
		return 2;
	rq.chunk_id = num(t.argv[1]);
	rq.version = num(t.argv[2]);
	ret = connect_to(&t, t.argv[0]);
	if (!ret) {
		call(&t, "/gannet.Ds/DeleteChunk", &rq.base, NULL, 0,
		     &gannet__delete_chunk_reply__descriptor, &res);
		ret = outcome(&t, &res);
	}
	gn_rpc_result_release(&res);
	disconnect(&t);
	return ret;
}

/* ds-replicate ADDR ID VERSION SOURCE */
int tt_ds_replicate(int argc, char **argv)
{
	Gannet__ReplicateChunkRequest rq = GANNET__REPLICATE_CHUNK_REQUEST__INIT;
	struct gn_rpc_result res = { 0 };
	struct tt_ds t;
	int ret;

	if (parse(&t, argc, argv) || t.argc != 4)
		return 2;
	rq.chunk_id = num(t.argv[1]);
	rq.version = num(t.argv[2]);
	rq.source = t.argv[3];
	ret = connect_to(&t, t.argv[0]);
	if (!ret) {
		call(&t, "/gannet.Ds/ReplicateChunk", &rq.base, NULL, 0,
		     &gannet__replicate_chunk_reply__descriptor, &res);
		ret = outcome(&t, &res);
		if (!res.err && !t.expect) {
			const Gannet__ReplicateChunkReply *rep = (const void *)res.reply;

			printf("length=%u digest=%016" PRIx64 "\n", rep->length, rep->digest);
		}
	}
	gn_rpc_result_release(&res);
	disconnect(&t);
	return ret;
}

/* ds-list ADDR [--max=N]: "ID VERSION LENGTH DIGEST STORED" per version,
 * ID and DIGEST in hex, every page fetched. */
int tt_ds_list(int argc, char **argv)
{
	Gannet__ListChunksRequest rq = GANNET__LIST_CHUNKS_REQUEST__INIT;
	struct tt_ds t;
	int ret;
	bool eof = false;

	if (parse(&t, argc, argv) || t.argc != 1)
		return 2;
	rq.max = opt(&t, "max") ? (uint32_t)num(opt(&t, "max")) : 1000;
	ret = connect_to(&t, t.argv[0]);
	while (!ret && !eof) {
		struct gn_rpc_result res = { 0 };
		const Gannet__ListChunksReply *rep;

		call(&t, "/gannet.Ds/ListChunks", &rq.base, NULL, 0,
		     &gannet__list_chunks_reply__descriptor, &res);
		ret = outcome(&t, &res);
		if (res.err || t.expect) {
			gn_rpc_result_release(&res);
			break;
		}
		rep = (const void *)res.reply;
		for (size_t i = 0; i < rep->n_chunks; i++) {
			const Gannet__ChunkStat *c = rep->chunks[i];

			printf("%016" PRIx64 " %" PRIu64 " %u %016" PRIx64 " %" PRIu64 "\n",
			       c->chunk_id, c->version, c->length, c->digest, c->stored_bytes);
			rq.after_chunk_id = c->chunk_id;
			rq.after_version = c->version;
		}
		eof = rep->eof || rep->n_chunks == 0;
		gn_rpc_result_release(&res);
	}
	disconnect(&t);
	return ret;
}

/* ds-stat ADDR: key=value lines. */
int tt_ds_stat(int argc, char **argv)
{
	Gannet__DsStatRequest rq = GANNET__DS_STAT_REQUEST__INIT;
	struct gn_rpc_result res = { 0 };
	struct tt_ds t;
	int ret;

	if (parse(&t, argc, argv) || t.argc != 1)
		return 2;
	ret = connect_to(&t, t.argv[0]);
	if (!ret) {
		call(&t, "/gannet.Ds/Stat", &rq.base, NULL, 0,
		     &gannet__ds_stat_reply__descriptor, &res);
		ret = outcome(&t, &res);
		if (!res.err && !t.expect) {
			const Gannet__DsStatReply *rep = (const void *)res.reply;
			const Gannet__DsInfo *i = rep->info;

			if (i)
				printf("id=%u\naddr=%s\nstate=%d\ncapacity=%" PRIu64
				       "\nfree=%" PRIu64 "\nchunks=%" PRIu64 "\nuuid=%s\n",
				       i->id, i->addr, (int)i->state, i->capacity_bytes,
				       i->free_bytes, i->chunks, i->uuid);
			printf("scrubbed_blocks=%" PRIu64 "\nbad_blocks=%" PRIu64 "\n",
			       rep->scrubbed_blocks, rep->bad_blocks);
		}
	}
	gn_rpc_result_release(&res);
	disconnect(&t);
	return ret;
}

/* ------------------------------------------------------------------ */
/* ds-bench: throughput of WriteChunk / ReadChunk over RPC            */
/* ------------------------------------------------------------------ */

struct bench {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int inflight;
	uint64_t done, errors;
	int first_err;
	char detail[256];
};

static void bench_done(struct gn_rpc_result *res, void *arg)
{
	struct bench *b = arg;

	pthread_mutex_lock(&b->mu);
	if (res->err) {
		if (!b->errors++) {
			b->first_err = res->err;
			snprintf(b->detail, sizeof(b->detail), "%s", res->detail);
		}
	}
	b->done++;
	b->inflight--;
	pthread_cond_signal(&b->cv);
	pthread_mutex_unlock(&b->mu);
	gn_rpc_result_release(res);
	free(res);
}

/* Text-like bytes that compress about 4:1 with zstd -3. */
static void bench_fill(char *p, size_t len, bool text)
{
	static const char *w[] = { "the ", "gannet ", "dives ", "into ", "cold ",
		"water ", "for ", "fish\n", "data ", "chunk ", "server " };
	uint64_t x = 0x9e3779b97f4a7c15ull;
	size_t i = 0;

	while (i < len) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		if (text) {
			for (const char *s = w[x % 11]; *s && i < len; s++)
				p[i++] = *s;
		} else {
			for (int k = 0; k < 8 && i < len; k++)
				p[i++] = (char)(x >> (k * 8));
		}
	}
}

/* ds-bench ADDR write|read COUNT [--inflight=N --first-id=N --chain=A
 *   --zstd --text --conns=N]: COUNT whole 4 MiB chunks (ids first-id.., version 1);
 * prints "MB/s=X seconds=Y calls=N errors=N". */
int tt_ds_bench(int argc, char **argv)
{
	struct bench b = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };
	struct gn_rpc_callopts co = { 0 };
	uint64_t ck[GN_BLOCKS_PER_CHUNK], count, first;
	char *chain[16], *chainbuf = NULL, *data;
	size_t nchain = 0;
	bool write;
	int inflight, ret;
	int64_t t0, t1;
	struct tt_ds t;

	if (parse(&t, argc, argv) || t.argc != 3)
		return 2;
	write = !strcmp(t.argv[1], "write");
	if (!write && strcmp(t.argv[1], "read"))
		return 2;
	count = num(t.argv[2]);
	inflight = opt(&t, "inflight") ? (int)num(opt(&t, "inflight")) : 1;
	first = opt(&t, "first-id") ? num(opt(&t, "first-id")) : 1;
	co.timeout_ms = t.timeout_ms > 10000 ? t.timeout_ms : 60000;
	data = xmalloc(GN_CHUNK_SIZE);
	bench_fill(data, GN_CHUNK_SIZE, opt(&t, "text") != NULL);
	gn_cksum_blocks(data, GN_CHUNK_SIZE, ck);
	if (opt(&t, "chain") && *opt(&t, "chain")) {
		chainbuf = xstrdup(opt(&t, "chain"));
		for (char *s = strtok(chainbuf, ","); s && nchain < 16; s = strtok(NULL, ","))
			chain[nchain++] = s;
	}
	ret = connect_to(&t, t.argv[0]);
	if (ret)
		goto out;
	t0 = gn_mono_ns();
	for (uint64_t i = 0; i < count; i++) {
		Gannet__WriteChunkRequest wq = GANNET__WRITE_CHUNK_REQUEST__INIT;
		Gannet__ReadChunkRequest rq = GANNET__READ_CHUNK_REQUEST__INIT;

		pthread_mutex_lock(&b.mu);
		while (b.inflight >= inflight)
			pthread_cond_wait(&b.cv, &b.mu);
		b.inflight++;
		pthread_mutex_unlock(&b.mu);
		if (write) {
			wq.chunk_id = first + i;
			wq.version = 1;
			wq.chunk_length = GN_CHUNK_SIZE;
			wq.cksums = ck;
			wq.n_cksums = GN_BLOCKS_PER_CHUNK;
			if (opt(&t, "zstd"))
				wq.compression = GANNET__COMPRESSION__COMPRESSION_ZSTD;
			wq.chain = chain;
			wq.n_chain = nchain;
			ret = gn_rpc_call_async(t.ch, "/gannet.Ds/WriteChunk", &wq.base,
						data, GN_CHUNK_SIZE,
						&gannet__write_chunk_reply__descriptor,
						&co, bench_done, &b);
		} else {
			rq.chunk_id = first + i;
			rq.version = 1;
			ret = gn_rpc_call_async(t.ch, "/gannet.Ds/ReadChunk", &rq.base,
						NULL, 0, &gannet__read_chunk_reply__descriptor,
						&co, bench_done, &b);
		}
		if (ret) {
			fprintf(stderr, "cannot start call: %s\n", gn_strerror(ret));
			pthread_mutex_lock(&b.mu);
			b.inflight--;
			pthread_mutex_unlock(&b.mu);
			break;
		}
	}
	pthread_mutex_lock(&b.mu);
	while (b.inflight > 0)
		pthread_cond_wait(&b.cv, &b.mu);
	pthread_mutex_unlock(&b.mu);
	t1 = gn_mono_ns();
	printf("MB/s=%.0f seconds=%.2f calls=%" PRIu64 " errors=%" PRIu64 "\n",
	       (double)(b.done - b.errors) * GN_CHUNK_SIZE / 1e6 / ((t1 - t0) / 1e9),
	       (t1 - t0) / 1e9, b.done, b.errors);
	if (b.errors) {
		fprintf(stderr, "first error: %s: %s\n", gn_strerror(b.first_err), b.detail);
		ret = 1;
	}
out:
	disconnect(&t);
	free(chainbuf);
	free(data);
	return ret;
}
