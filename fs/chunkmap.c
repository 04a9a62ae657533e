/*
 * chunkmap.c - a file's chunk map: a sorted array of fs_chunk by index.
 *
 * Files have a few thousand chunks at most (4 MiB each), so a sorted
 * array with binary search beats a tree in memory and simplicity; inserts
 * at the end (sequential writes) are O(1).
 */
#include "config.h"
#include "fs/fs_i.h"
#include "common/util.h"
#include "proto/common.pb-c.h"
#include "proto/mds.pb-c.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

void fs_chunkmap_init(struct fs_chunkmap *m)
{
	memset(m, 0, sizeof(*m));
}

void fs_chunkmap_release(struct fs_chunkmap *m)
{
	free(m->v);
	fs_chunkmap_init(m);
}

void fs_chunkmap_clear(struct fs_chunkmap *m)
{
	m->n = 0;
}

/* Position of the first entry with index >= idx. */
static size_t lower_bound(const struct fs_chunkmap *m, uint64_t idx)
{
	size_t lo = 0, hi = m->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (m->v[mid].index < idx)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct fs_chunk *fs_chunkmap_find(const struct fs_chunkmap *m, uint64_t index)
{
	size_t i = lower_bound(m, index);

	return i < m->n && m->v[i].index == index ? &m->v[i] : NULL;
}

void fs_chunkmap_put(struct fs_chunkmap *m, const struct fs_chunk *c)
{
	size_t i = lower_bound(m, c->index);

	if (i < m->n && m->v[i].index == c->index) {
		m->v[i] = *c;
		return;
	}
	if (m->n == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 8;
		m->v = xrealloc(m->v, m->cap * sizeof(*m->v));
	}
	memmove(&m->v[i + 1], &m->v[i], (m->n - i) * sizeof(*m->v));
	m->v[i] = *c;
	m->n++;
}

void fs_chunkmap_del(struct fs_chunkmap *m, uint64_t index)
{
	size_t i = lower_bound(m, index);

	if (i < m->n && m->v[i].index == index) {
		memmove(&m->v[i], &m->v[i + 1], (m->n - i - 1) * sizeof(*m->v));
		m->n--;
	}
}

void fs_chunkmap_truncate(struct fs_chunkmap *m, uint64_t size)
{
	/* Chunks with index >= first_gone hold no byte below size. */
	uint64_t first_gone = (size + GN_CHUNK_SIZE - 1) / GN_CHUNK_SIZE;
	size_t i = lower_bound(m, first_gone);
	struct fs_chunk *last;

	m->n = i;
	if (size % GN_CHUNK_SIZE) {
		last = fs_chunkmap_find(m, fs_chunk_index(size));
		if (last && last->length > size % GN_CHUNK_SIZE)
			last->length = size % GN_CHUNK_SIZE;
	}
}

int fs_chunkmap_seek_data(const struct fs_chunkmap *m, uint64_t size,
			  uint64_t off, uint64_t *out)
{
	size_t i;

	if (off >= size)
		return -ENXIO;
	i = lower_bound(m, fs_chunk_index(off));
	if (i == m->n)
		return -ENXIO;
	if (m->v[i].index == fs_chunk_index(off)) {
		*out = off;
		return 0;
	}
	if (fs_chunk_start(m->v[i].index) >= size)
		return -ENXIO;
	*out = fs_chunk_start(m->v[i].index);
	return 0;
}

int fs_chunkmap_seek_hole(const struct fs_chunkmap *m, uint64_t size,
			  uint64_t off, uint64_t *out)
{
	uint64_t idx = fs_chunk_index(off);
	size_t i;

	if (off >= size)
		return -ENXIO;
	i = lower_bound(m, idx);
	/* Walk the run of consecutive chunks starting at off's chunk. */
	while (i < m->n && m->v[i].index == idx) {
		i++;
		idx++;
	}
	if (idx == fs_chunk_index(off)) {
		*out = off;	/* off itself is in a hole */
		return 0;
	}
	*out = GN_MIN(fs_chunk_start(idx), size);
	return 0;
}

uint64_t fs_chunkmap_sig(const struct fs_chunkmap *m, uint64_t size)
{
	uint64_t *t = xmalloc((3 * m->n + 1) * sizeof(*t)), h;

	t[0] = size;
	for (size_t i = 0; i < m->n; i++) {
		t[1 + 3 * i] = m->v[i].index;
		t[2 + 3 * i] = m->v[i].id;
		t[3 + 3 * i] = m->v[i].version;
	}
	h = XXH3_64bits(t, (3 * m->n + 1) * sizeof(*t));
	free(t);
	return h;
}

bool fs_chunk_hint_from_pb(struct fs_chunk *c, const Gannet__ChunkInfo *pb)
{
	if (pb && !fs_chunk_from_pb(c, pb) && c->index == 0)
		return true;
	c->version = 0;
	return false;
}

int fs_chunk_from_pb(struct fs_chunk *c, const Gannet__ChunkInfo *pb)
{
	memset(c, 0, sizeof(*c));
	if (pb->length > GN_CHUNK_SIZE || pb->n_replicas > FS_MAX_REPLICAS ||
	    pb->version == 0 || pb->index > UINT64_MAX / GN_CHUNK_SIZE)
		return -EBADMSG;
	c->index = pb->index;
	c->id = pb->chunk_id;
	c->version = pb->version;
	c->base_version = pb->base_version;
	c->digest = pb->digest;
	c->length = pb->length;
	c->nrep = (uint8_t)pb->n_replicas;
	c->compression = (uint8_t)pb->compression;
	for (size_t i = 0; i < pb->n_replicas; i++)
		c->rep[i] = pb->replicas[i];
	return 0;
}
