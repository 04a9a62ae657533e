/*
 * store_index.c - the in-memory index of stored versions: a chained hash
 * table keyed by chunk id (all versions of a chunk land in one bucket, so
 * the newest version is found by walking one chain).  The caller holds the
 * store's lock.  Kept versions (store_i.h) are found only by
 * ds_index_ent(), ds_index_versions() and ds_index_foreach().
 */
#include "config.h"
#include "ds/store_i.h"
#include "common/util.h"

#include <stdlib.h>
#include <string.h>

static size_t bucket_of(const struct ds_index *ix, uint64_t id)
{
	/* Chunk ids are handed out sequentially: mix the bits anyway. */
	uint64_t h = id * 0x9e3779b97f4a7c15ull;

	return (size_t)(h >> 17) & (ix->nbuckets - 1);
}

void ds_index_init(struct ds_index *ix)
{
	memset(ix, 0, sizeof(*ix));
	ix->nbuckets = 1024;
	ix->tab = xcalloc(ix->nbuckets, sizeof(*ix->tab));
}

void ds_index_release(struct ds_index *ix)
{
	if (!ix->tab)
		return;
	for (size_t b = 0; b < ix->nbuckets; b++) {
		struct ds_idx_ent *e = ix->tab[b], *next;

		for (; e; e = next) {
			next = e->next;
			free(e->src);
			free(e);
		}
	}
	free(ix->tab);
	memset(ix, 0, sizeof(*ix));
}

static void grow(struct ds_index *ix)
{
	size_t old_n = ix->nbuckets;
	struct ds_idx_ent **old = ix->tab;

	ix->nbuckets = old_n * 2;
	ix->tab = xcalloc(ix->nbuckets, sizeof(*ix->tab));
	for (size_t b = 0; b < old_n; b++) {
		struct ds_idx_ent *e = old[b], *next;

		for (; e; e = next) {
			size_t nb = bucket_of(ix, e->s.chunk_id);

			next = e->next;
			e->next = ix->tab[nb];
			ix->tab[nb] = e;
		}
	}
	free(old);
}

struct ds_idx_ent *ds_index_ent(struct ds_index *ix, uint64_t id,
				uint64_t version)
{
	struct ds_idx_ent *e = ix->tab[bucket_of(ix, id)];

	for (; e; e = e->next)
		if (e->s.chunk_id == id && e->s.version == version)
			return e;
	return NULL;
}

struct ds_chunk_stat *ds_index_find(struct ds_index *ix, uint64_t id,
				    uint64_t version)
{
	struct ds_idx_ent *e = ds_index_ent(ix, id, version);

	return e && !e->kept ? &e->s : NULL;
}

uint64_t ds_index_max_version(struct ds_index *ix, uint64_t id)
{
	struct ds_idx_ent *e = ix->tab[bucket_of(ix, id)];
	uint64_t max = 0;

	for (; e; e = e->next)
		if (e->s.chunk_id == id && !e->kept && e->s.version > max)
			max = e->s.version;
	return max;
}

size_t ds_index_versions(struct ds_index *ix, uint64_t id, uint64_t *out,
			 size_t max)
{
	struct ds_idx_ent *e = ix->tab[bucket_of(ix, id)];
	size_t n = 0;

	for (; e; e = e->next) {
		if (e->s.chunk_id != id)
			continue;
		if (n < max)
			out[n] = e->s.version;
		n++;
	}
	return n;
}

static void set_src(struct ds_idx_ent *e, const uint64_t *src)
{
	free(e->src);
	e->src = NULL;
	if (e->s.nsrc) {
		e->src = xmalloc(e->s.nsrc * sizeof(*src));
		memcpy(e->src, src, e->s.nsrc * sizeof(*src));
	}
}

struct ds_idx_ent *ds_index_put(struct ds_index *ix, const struct ds_chunk_stat *s,
				const uint64_t *src)
{
	struct ds_idx_ent *e = ds_index_ent(ix, s->chunk_id, s->version);
	size_t b;

	if (e) {
		ix->stored_bytes -= e->s.stored_bytes;
		if (e->kept)
			ix->live++;
	} else {
		if (ix->count >= ix->nbuckets)
			grow(ix);
		e = xcalloc(1, sizeof(*e));
		b = bucket_of(ix, s->chunk_id);
		e->next = ix->tab[b];
		ix->tab[b] = e;
		ix->count++;
		ix->live++;
	}
	e->s = *s;
	e->kept = false;
	set_src(e, src);
	ix->stored_bytes += s->stored_bytes;
	return e;
}

void ds_index_keep(struct ds_index *ix, struct ds_idx_ent *e)
{
	if (e->kept)
		return;
	e->kept = true;
	ix->live--;
	e->s.nsrc = 0;
	free(e->src);
	e->src = NULL;
}

bool ds_index_del(struct ds_index *ix, uint64_t id, uint64_t version)
{
	struct ds_idx_ent **pp = &ix->tab[bucket_of(ix, id)];

	for (; *pp; pp = &(*pp)->next) {
		struct ds_idx_ent *e = *pp;

		if (e->s.chunk_id == id && e->s.version == version) {
			*pp = e->next;
			ix->count--;
			if (!e->kept)
				ix->live--;
			ix->stored_bytes -= e->s.stored_bytes;
			free(e->src);
			free(e);
			return true;
		}
	}
	return false;
}

void ds_index_foreach(struct ds_index *ix,
		      void (*fn)(struct ds_idx_ent *e, void *arg), void *arg)
{
	for (size_t b = 0; b < ix->nbuckets; b++)
		for (struct ds_idx_ent *e = ix->tab[b]; e; e = e->next)
			fn(e, arg);
}

static int key_cmp(uint64_t a_id, uint64_t a_ver, uint64_t b_id, uint64_t b_ver)
{
	if (a_id != b_id)
		return a_id < b_id ? -1 : 1;
	if (a_ver != b_ver)
		return a_ver < b_ver ? -1 : 1;
	return 0;
}

static int stat_cmp(const void *a, const void *b)
{
	const struct ds_chunk_stat *x = *(const struct ds_chunk_stat *const *)a;
	const struct ds_chunk_stat *y = *(const struct ds_chunk_stat *const *)b;

	return key_cmp(x->chunk_id, x->version, y->chunk_id, y->version);
}

static bool stat_less(const struct ds_chunk_stat *x, const struct ds_chunk_stat *y)
{
	return key_cmp(x->chunk_id, x->version, y->chunk_id, y->version) < 0;
}

/* Restore the max-heap property below slot i of h (n entries). */
static void sift_down(struct ds_chunk_stat **h, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		struct ds_chunk_stat *t;

		if (l < n && stat_less(h[m], h[l]))
			m = l;
		if (r < n && stat_less(h[m], h[r]))
			m = r;
		if (m == i)
			return;
		t = h[i];
		h[i] = h[m];
		h[m] = t;
		i = m;
	}
}

static void sift_up(struct ds_chunk_stat **h, size_t i)
{
	while (i > 0) {
		size_t p = (i - 1) / 2;
		struct ds_chunk_stat *t;

		if (!stat_less(h[p], h[i]))
			return;
		t = h[p];
		h[p] = h[i];
		h[i] = t;
		i = p;
	}
}

/*
 * The index stays a hash table (look-ups are the hot path); a page of the
 * listing keeps the `max` smallest keys past the cursor in a max-heap while
 * walking every entry: O(n log max) per page, so the scrubber's small pages
 * stay cheap on a store of millions of versions.
 */
void ds_index_list(struct ds_index *ix, uint64_t after_id,
		   uint64_t after_version, size_t max,
		   struct ds_chunk_stat *out, size_t *n, bool *eof)
{
	struct ds_chunk_stat **h = xmalloc((GN_MIN(max, ix->count) + 1) * sizeof(*h));
	size_t k = 0, seen = 0;

	for (size_t b = 0; b < ix->nbuckets; b++) {
		for (struct ds_idx_ent *e = ix->tab[b]; e; e = e->next) {
			if (e->kept || key_cmp(e->s.chunk_id, e->s.version,
					       after_id, after_version) <= 0)
				continue;
			seen++;
			if (k < max) {
				h[k] = &e->s;
				sift_up(h, k++);
			} else if (stat_less(&e->s, h[0])) {
				h[0] = &e->s;
				sift_down(h, k, 0);
			}
		}
	}
	qsort(h, k, sizeof(*h), stat_cmp);
	for (size_t i = 0; i < k; i++)
		out[i] = *h[i];
	*n = k;
	*eof = seen <= max;
	free(h);
}
