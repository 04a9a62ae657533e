/* hmap.c - see hmap.h */
#include "config.h"
#include "mds/hmap.h"
#include "common/util.h"

#include <stdlib.h>

static size_t hmap_slot(const struct hmap *h, uint64_t key)
{
	key ^= key >> 33;
	key *= 0xff51afd7ed558ccdULL;
	key ^= key >> 33;
	return (size_t)(key & (h->nb - 1));
}

void hmap_init(struct hmap *h)
{
	h->nb = 64;
	h->n = 0;
	h->b = xcalloc(h->nb, sizeof(*h->b));
}

void hmap_release(struct hmap *h)
{
	if (!h->b)
		return;
	for (size_t i = 0; i < h->nb; i++) {
		struct hmap_node *n = h->b[i], *next;
		for (; n; n = next) {
			next = n->next;
			free(n);
		}
	}
	free(h->b);
	h->b = NULL;
	h->n = h->nb = 0;
}

void *hmap_get(const struct hmap *h, uint64_t key)
{
	for (struct hmap_node *n = h->b[hmap_slot(h, key)]; n; n = n->next)
		if (n->key == key)
			return n->val;
	return NULL;
}

static void hmap_grow(struct hmap *h)
{
	struct hmap old = *h;

	h->nb *= 2;
	h->b = xcalloc(h->nb, sizeof(*h->b));
	for (size_t i = 0; i < old.nb; i++) {
		struct hmap_node *n = old.b[i], *next;
		for (; n; n = next) {
			size_t s = hmap_slot(h, n->key);
			next = n->next;
			n->next = h->b[s];
			h->b[s] = n;
		}
	}
	free(old.b);
}

void *hmap_put(struct hmap *h, uint64_t key, void *val)
{
	size_t s = hmap_slot(h, key);
	struct hmap_node *n;

	for (n = h->b[s]; n; n = n->next) {
		if (n->key == key) {
			void *prev = n->val;
			n->val = val;
			return prev;
		}
	}
	n = xmalloc(sizeof(*n));
	n->key = key;
	n->val = val;
	n->next = h->b[s];
	h->b[s] = n;
	if (++h->n > h->nb)
		hmap_grow(h);
	return NULL;
}

void *hmap_del(struct hmap *h, uint64_t key)
{
	struct hmap_node **pp = &h->b[hmap_slot(h, key)];

	for (; *pp; pp = &(*pp)->next) {
		struct hmap_node *n = *pp;
		if (n->key == key) {
			void *val = n->val;
			*pp = n->next;
			free(n);
			h->n--;
			return val;
		}
	}
	return NULL;
}

struct hmap_node *hmap_iter(const struct hmap *h, size_t *bucket,
			    struct hmap_node **pos)
{
	if (*pos && (*pos)->next) {
		*pos = (*pos)->next;
		return *pos;
	}
	if (*pos)
		(*bucket)++;
	for (; *bucket < h->nb; (*bucket)++) {
		if (h->b[*bucket]) {
			*pos = h->b[*bucket];
			return *pos;
		}
	}
	*pos = NULL;
	return NULL;
}
