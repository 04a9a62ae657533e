/*
 * cache.c - the RAM read cache: striped S3-FIFO over a fixed arena.
 * See cache.h for the design; this file is the mechanics.
 */
#include "config.h"
#include "fs/cache.h"
#include "common/buf.h"
#include "common/log.h"
#include "common/util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>

#define NIL UINT32_MAX
#define MAX_STRIPES 16
#define FREQ_MAX 3

enum entry_state { E_FREE, E_FILLING, E_READY };
enum entry_queue { Q_NONE, Q_SMALL, Q_MAIN };

struct entry {
	uint64_t chunk_id;
	uint64_t version;
	uint64_t tag;		/* from fs_cache_publish_tag, for the spill hook */
	uint32_t block;
	uint32_t len;
	uint32_t hnext;		/* index chain, or free list */
	uint32_t qprev, qnext;	/* FIFO links: head = newest */
	uint32_t refs;
	uint8_t state;
	uint8_t queue;
	uint8_t freq;
};

struct fifo {
	uint32_t head, tail, count;
};

/* Keys recently evicted from the small FIFO without a second read. */
struct ghost {
	uint64_t *ring;		/* FIFO of fingerprints */
	uint32_t cap, pos, count;
	uint64_t *table;	/* open addressing, 0 = empty */
	uint32_t mask;
};

struct stripe {
	pthread_mutex_t lock;
	pthread_cond_t filled;
	unsigned char *arena;
	struct entry *e;
	uint32_t nblocks;
	uint32_t *buckets;
	uint32_t bmask;
	uint32_t free_head;
	struct fifo small, main;
	uint32_t small_target;
	struct ghost ghost;
	uint64_t hits, misses, evictions, waits, used, pinned;
};

/* A block evicted under the lock, offered to the spill hook after it. */
struct victim {
	bool valid;
	struct fs_cache_key key;
	uint64_t tag;
	uint32_t len;
};

struct fs_cache {
	fs_cache_spill_fn spill;
	void *spill_arg;
	unsigned char *arena;
	size_t arena_len;
	uint32_t nstripes;
	struct stripe s[MAX_STRIPES];
};

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

static uint64_t key_hash(const struct fs_cache_key *k)
{
	uint64_t h = mix64(k->chunk_id ^ mix64(k->version + 0x9e3779b97f4a7c15ULL));
	h = mix64(h ^ ((uint64_t)k->block << 32 | k->block));
	return h ? h : 1;	/* 0 marks an empty ghost slot */
}

static uint32_t pow2_at_least(uint32_t n)
{
	uint32_t p = 1;
	while (p < n)
		p <<= 1;
	return p;
}

/* ---- FIFO lists ---- */

static void fifo_push_head(struct stripe *s, struct fifo *q, uint32_t i,
			   enum entry_queue which)
{
	struct entry *e = &s->e[i];

	e->queue = which;
	e->qprev = NIL;
	e->qnext = q->head;
	if (q->head != NIL)
		s->e[q->head].qprev = i;
	q->head = i;
	if (q->tail == NIL)
		q->tail = i;
	q->count++;
}

static void fifo_remove(struct stripe *s, uint32_t i)
{
	struct entry *e = &s->e[i];
	struct fifo *q = e->queue == Q_SMALL ? &s->small : &s->main;

	if (e->queue == Q_NONE)
		return;
	if (e->qprev != NIL)
		s->e[e->qprev].qnext = e->qnext;
	else
		q->head = e->qnext;
	if (e->qnext != NIL)
		s->e[e->qnext].qprev = e->qprev;
	else
		q->tail = e->qprev;
	q->count--;
	e->queue = Q_NONE;
}

/* ---- ghost set ---- */

static bool ghost_contains(const struct ghost *g, uint64_t fp)
{
	if (!g->cap)
		return false;
	for (uint32_t i = fp & g->mask;; i = (i + 1) & g->mask) {
		if (g->table[i] == fp)
			return true;
		if (g->table[i] == 0)
			return false;
	}
}

/* Remove fp from the open-addressing table (backward-shift deletion). */
static void ghost_table_del(struct ghost *g, uint64_t fp)
{
	uint32_t i = fp & g->mask, j;

	while (g->table[i] != fp) {
		if (g->table[i] == 0)
			return;
		i = (i + 1) & g->mask;
	}
	j = i;
	for (;;) {
		g->table[i] = 0;
		for (;;) {
			uint32_t home;
			j = (j + 1) & g->mask;
			if (g->table[j] == 0)
				return;
			home = g->table[j] & g->mask;
			/* Move j back to i unless its home lies in (i, j]. */
			if (i <= j ? (i < home && home <= j) : (i < home || home <= j))
				continue;
			break;
		}
		g->table[i] = g->table[j];
		i = j;
	}
}

static void ghost_add(struct ghost *g, uint64_t fp)
{
	uint32_t i;

	if (!g->cap || ghost_contains(g, fp))
		return;
	if (g->count == g->cap) {
		ghost_table_del(g, g->ring[g->pos]);
		g->count--;
	}
	g->ring[g->pos] = fp;
	g->pos = (g->pos + 1) % g->cap;
	g->count++;
	for (i = fp & g->mask; g->table[i]; i = (i + 1) & g->mask)
		;
	g->table[i] = fp;
}

/* ---- index ---- */

static uint32_t *bucket_of(struct stripe *s, const struct fs_cache_key *k)
{
	return &s->buckets[(key_hash(k) >> 20) & s->bmask];
}

static bool key_eq(const struct entry *e, const struct fs_cache_key *k)
{
	return e->chunk_id == k->chunk_id && e->version == k->version &&
	       e->block == k->block;
}

static uint32_t index_find(struct stripe *s, const struct fs_cache_key *k)
{
	uint32_t i = *bucket_of(s, k);

	while (i != NIL && !key_eq(&s->e[i], k))
		i = s->e[i].hnext;
	return i;
}

static void index_del(struct stripe *s, uint32_t i)
{
	struct fs_cache_key k = { s->e[i].chunk_id, s->e[i].version, s->e[i].block };
	uint32_t *p = bucket_of(s, &k);

	while (*p != i)
		p = &s->e[*p].hnext;
	*p = s->e[i].hnext;
}

static void entry_free(struct stripe *s, uint32_t i)
{
	struct entry *e = &s->e[i];

	index_del(s, i);
	fifo_remove(s, i);
	if (e->state == E_READY)
		s->used--;
	e->state = E_FREE;
	e->hnext = s->free_head;
	s->free_head = i;
}

/*
 * Free one block by S3-FIFO.  Pinned blocks are passed over.  Returns
 * false when nothing can be evicted (everything pinned).
 */
static bool evict_one(struct stripe *s, struct victim *v)
{
	/* Each entry is passed over at most FREQ_MAX + 2 times. */
	uint64_t budget = (uint64_t)s->nblocks * (FREQ_MAX + 2) + 8;

	while (budget--) {
		bool from_small = s->small.count > 0 &&
			(s->small.count >= s->small_target || s->main.count == 0);
		struct fifo *q = from_small ? &s->small : &s->main;
		uint32_t i = q->tail;
		struct entry *e;

		if (i == NIL)
			return false;
		e = &s->e[i];
		fifo_remove(s, i);
		if (e->refs > 0) {
			fifo_push_head(s, q, i, from_small ? Q_SMALL : Q_MAIN);
			continue;
		}
		if (from_small) {
			if (e->freq > 0) {
				e->freq = 0;
				fifo_push_head(s, &s->main, i, Q_MAIN);
				continue;
			}
			struct fs_cache_key k = { e->chunk_id, e->version, e->block };
			ghost_add(&s->ghost, key_hash(&k));
		} else if (e->freq > 0) {
			e->freq--;
			fifo_push_head(s, &s->main, i, Q_MAIN);
			continue;
		}
		e->queue = Q_NONE;
		*v = (struct victim){ e->state == E_READY,
				      { e->chunk_id, e->version, e->block },
				      e->tag, e->len };
		entry_free(s, i);
		s->evictions++;
		return true;
	}
	return false;
}

static void ref_set(struct fs_cache *c, struct stripe *s, uint32_t i,
		    struct fs_cache_ref *ref)
{
	ref->data = s->arena + (size_t)i * FS_CACHE_BLOCK;
	ref->len = s->e[i].len;
	ref->slot = i;
	ref->stripe = (uint16_t)(s - c->s);
}

static struct stripe *stripe_of(struct fs_cache *c, const struct fs_cache_key *k)
{
	return &c->s[key_hash(k) % c->nstripes];
}

static void pin(struct stripe *s, uint32_t i)
{
	if (s->e[i].refs++ == 0)
		s->pinned++;
}

static void unpin(struct stripe *s, uint32_t i)
{
	if (s->e[i].refs == 0)
		BUG("cache block %u unpinned too often", i);
	if (--s->e[i].refs == 0)
		s->pinned--;
}

int fs_cache_lookup(struct fs_cache *c, const struct fs_cache_key *key,
		    struct fs_cache_ref *ref)
{
	struct victim v = { .valid = false };
	struct stripe *s;
	uint32_t i;
	int ret;

	if (!c->nstripes)
		return -ENOMEM;
	s = stripe_of(c, key);
	pthread_mutex_lock(&s->lock);
	for (;;) {
		i = index_find(s, key);
		if (i == NIL || s->e[i].state != E_FILLING)
			break;
		s->waits++;
		pthread_cond_wait(&s->filled, &s->lock);
	}
	if (i != NIL) {
		struct entry *e = &s->e[i];
		if (e->freq < FREQ_MAX)
			e->freq++;
		pin(s, i);
		s->hits++;
		ref_set(c, s, i, ref);
		ret = FS_CACHE_HIT;
		goto out;
	}
	s->misses++;
	if (s->free_head == NIL && !evict_one(s, &v)) {
		ret = -ENOMEM;
		goto out;
	}
	i = s->free_head;
	s->free_head = s->e[i].hnext;
	{
		struct entry *e = &s->e[i];
		uint32_t *b = bucket_of(s, key);
		bool ghost = ghost_contains(&s->ghost, key_hash(key));

		e->chunk_id = key->chunk_id;
		e->version = key->version;
		e->block = key->block;
		e->len = 0;
		e->tag = 0;
		e->freq = 0;
		e->state = E_FILLING;
		e->hnext = *b;
		*b = i;
		fifo_push_head(s, ghost ? &s->main : &s->small, i,
			       ghost ? Q_MAIN : Q_SMALL);
		pin(s, i);
	}
	ref_set(c, s, i, ref);
	ret = FS_CACHE_FILL;
out:
	pthread_mutex_unlock(&s->lock);
	/* The victim's slot is the one just reserved for the caller (the free
	 * list was empty), pinned and unwritten until we return: its old
	 * bytes can be offered without the lock. */
	if (v.valid && c->spill && ret == FS_CACHE_FILL)
		c->spill(c->spill_arg, &v.key, v.tag, ref->data, v.len, false);
	return ret;
}

int fs_cache_peek(struct fs_cache *c, const struct fs_cache_key *key,
		  struct fs_cache_ref *ref)
{
	struct stripe *s;
	uint32_t i;
	int ret = -ENOENT;

	if (!c->nstripes)
		return -ENOENT;
	s = stripe_of(c, key);
	pthread_mutex_lock(&s->lock);
	i = index_find(s, key);
	if (i != NIL && s->e[i].state == E_READY) {
		if (s->e[i].freq < FREQ_MAX)
			s->e[i].freq++;
		pin(s, i);
		s->hits++;
		ref_set(c, s, i, ref);
		ret = FS_CACHE_HIT;
	}
	pthread_mutex_unlock(&s->lock);
	return ret;
}

bool fs_cache_contains(struct fs_cache *c, const struct fs_cache_key *key)
{
	struct stripe *s;
	uint32_t i;
	bool have;

	if (!c->nstripes)
		return false;
	s = stripe_of(c, key);
	pthread_mutex_lock(&s->lock);
	i = index_find(s, key);
	have = i != NIL && s->e[i].state == E_READY;
	pthread_mutex_unlock(&s->lock);
	return have;
}

void fs_cache_publish(struct fs_cache *c, struct fs_cache_ref *ref, uint32_t len)
{
	fs_cache_publish_tag(c, ref, len, 0);
}

void fs_cache_publish_tag(struct fs_cache *c, struct fs_cache_ref *ref,
			  uint32_t len, uint64_t tag)
{
	struct stripe *s = &c->s[ref->stripe];
	struct entry *e = &s->e[ref->slot];

	if (len > FS_CACHE_BLOCK)
		BUG("cache block filled with %u bytes", len);
	pthread_mutex_lock(&s->lock);
	if (e->state != E_FILLING)
		BUG("cache block %u published twice", ref->slot);
	e->len = len;
	e->tag = tag;
	e->state = E_READY;
	s->used++;
	ref->len = len;
	pthread_cond_broadcast(&s->filled);
	pthread_mutex_unlock(&s->lock);
}

void fs_cache_abort(struct fs_cache *c, struct fs_cache_ref *ref)
{
	struct stripe *s = &c->s[ref->stripe];

	pthread_mutex_lock(&s->lock);
	unpin(s, ref->slot);
	entry_free(s, ref->slot);
	pthread_cond_broadcast(&s->filled);
	pthread_mutex_unlock(&s->lock);
	ref->data = NULL;
}

void fs_cache_put(struct fs_cache *c, struct fs_cache_ref *ref)
{
	struct stripe *s = &c->s[ref->stripe];

	pthread_mutex_lock(&s->lock);
	unpin(s, ref->slot);
	pthread_mutex_unlock(&s->lock);
	ref->data = NULL;
}

void fs_cache_drop(struct fs_cache *c, uint64_t chunk_id, uint64_t version)
{
	for (uint32_t b = 0; b < (4u << 20) / FS_CACHE_BLOCK && c->nstripes; b++) {
		struct fs_cache_key k = { chunk_id, version, b };
		struct stripe *s = stripe_of(c, &k);
		uint32_t i;

		pthread_mutex_lock(&s->lock);
		i = index_find(s, &k);
		if (i != NIL && s->e[i].refs == 0 && s->e[i].state == E_READY)
			entry_free(s, i);
		pthread_mutex_unlock(&s->lock);
	}
}

void fs_cache_set_spill(struct fs_cache *c, fs_cache_spill_fn fn, void *arg)
{
	c->spill = fn;
	c->spill_arg = arg;
}

void fs_cache_spill_all(struct fs_cache *c)
{
	for (uint32_t n = 0; n < c->nstripes && c->spill; n++) {
		struct stripe *s = &c->s[n];

		for (uint32_t i = 0; i < s->nblocks; i++) {
			struct entry *e = &s->e[i];
			struct fs_cache_key k;
			uint64_t tag;
			uint32_t len;

			pthread_mutex_lock(&s->lock);
			if (e->state != E_READY) {
				pthread_mutex_unlock(&s->lock);
				continue;
			}
			k = (struct fs_cache_key){ e->chunk_id, e->version, e->block };
			tag = e->tag;
			len = e->len;
			pin(s, i);
			pthread_mutex_unlock(&s->lock);
			c->spill(c->spill_arg, &k, tag, s->arena + (size_t)i * FS_CACHE_BLOCK,
				 len, true);
			pthread_mutex_lock(&s->lock);
			unpin(s, i);
			pthread_mutex_unlock(&s->lock);
		}
	}
}

void fs_cache_get_stats(struct fs_cache *c, struct fs_cache_stats *st)
{
	memset(st, 0, sizeof(*st));
	for (uint32_t n = 0; n < c->nstripes; n++) {
		struct stripe *s = &c->s[n];

		pthread_mutex_lock(&s->lock);
		st->hits += s->hits;
		st->misses += s->misses;
		st->evictions += s->evictions;
		st->waits += s->waits;
		st->blocks += s->nblocks;
		st->used += s->used;
		st->pinned += s->pinned;
		pthread_mutex_unlock(&s->lock);
	}
}

static void stripe_init(struct stripe *s, unsigned char *arena, uint32_t nblocks)
{
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->filled, NULL);
	s->arena = arena;
	s->nblocks = nblocks;
	s->e = xcalloc(nblocks, sizeof(*s->e));
	for (uint32_t i = 0; i < nblocks; i++) {
		s->e[i].hnext = i + 1 < nblocks ? i + 1 : NIL;
		s->e[i].queue = Q_NONE;
	}
	s->free_head = 0;
	s->bmask = pow2_at_least(nblocks) - 1;
	s->buckets = xmalloc(((size_t)s->bmask + 1) * sizeof(uint32_t));
	memset(s->buckets, 0xff, ((size_t)s->bmask + 1) * sizeof(uint32_t));
	s->small = s->main = (struct fifo){ NIL, NIL, 0 };
	s->small_target = nblocks / 10 ? nblocks / 10 : 1;
	/* Ghost remembers as many keys as main holds blocks. */
	s->ghost.cap = nblocks - s->small_target;
	if (s->ghost.cap) {
		s->ghost.ring = xcalloc(s->ghost.cap, sizeof(uint64_t));
		s->ghost.mask = pow2_at_least(s->ghost.cap * 2) - 1;
		s->ghost.table = xcalloc((size_t)s->ghost.mask + 1, sizeof(uint64_t));
	}
}

int fs_cache_new(size_t size, struct fs_cache **out)
{
	struct fs_cache *c = xcalloc(1, sizeof(*c));
	size_t nblocks = size / FS_CACHE_BLOCK, per, off = 0;

	if (nblocks > (size_t)UINT32_MAX * MAX_STRIPES / 2)
		nblocks = (size_t)UINT32_MAX * MAX_STRIPES / 2;
	if (nblocks) {
		c->arena_len = nblocks * FS_CACHE_BLOCK;
		c->arena = gn_buf_alloc(c->arena_len);
		if (!c->arena) {
			free(c);
			return -ENOMEM;
		}
		/* Fewer TLB misses on a large arena; a hint, may be refused. */
		madvise(c->arena, c->arena_len, MADV_HUGEPAGE);
		/* At least 64 blocks per stripe keeps S3-FIFO's small queue
		 * meaningful. */
		c->nstripes = (uint32_t)GN_MIN((size_t)MAX_STRIPES, GN_MAX(nblocks / 64, 1));
	}
	per = c->nstripes ? nblocks / c->nstripes : 0;
	for (uint32_t n = 0; n < c->nstripes; n++) {
		size_t cnt = n + 1 == c->nstripes ? nblocks - off : per;
		stripe_init(&c->s[n], c->arena + off * FS_CACHE_BLOCK, (uint32_t)cnt);
		off += cnt;
	}
	*out = c;
	return 0;
}

void fs_cache_free(struct fs_cache *c)
{
	if (!c)
		return;
	for (uint32_t n = 0; n < c->nstripes; n++) {
		struct stripe *s = &c->s[n];

		if (s->pinned)
			BUG("cache freed with %" PRIu64 " pinned blocks", s->pinned);
		pthread_mutex_destroy(&s->lock);
		pthread_cond_destroy(&s->filled);
		free(s->e);
		free(s->buckets);
		free(s->ghost.ring);
		free(s->ghost.table);
	}
	gn_buf_free(c->arena, c->arena_len);
	free(c);
}
