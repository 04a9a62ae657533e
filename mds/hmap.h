/*
 * hmap.h - a small chained hash map from uint64_t keys to pointers, for
 * the MDS's in-memory tables (sessions, handles, leases).  Not
 * thread-safe: the owner locks.
 */
#ifndef MDS_HMAP_H
#define MDS_HMAP_H

#include <stddef.h>
#include <stdint.h>

struct hmap_node {
	uint64_t key;
	void *val;
	struct hmap_node *next;
};

struct hmap {
	struct hmap_node **b;
	size_t nb, n;
};

void hmap_init(struct hmap *h);
/* Frees the nodes, not the values. */
void hmap_release(struct hmap *h);
void *hmap_get(const struct hmap *h, uint64_t key);
/* Insert or replace; returns the previous value or NULL. */
void *hmap_put(struct hmap *h, uint64_t key, void *val);
/* Remove; returns the value or NULL. */
void *hmap_del(struct hmap *h, uint64_t key);

/* Iterate: for (it = 0; (node = hmap_iter(h, &it, &pos));) ... ; do not
 * modify the map while iterating (collect keys first). */
struct hmap_node *hmap_iter(const struct hmap *h, size_t *bucket,
			    struct hmap_node **pos);

#endif
