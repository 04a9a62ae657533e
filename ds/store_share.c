/*
 * store_share.c - who uses whose blocks: the reference counts that keep a
 * deleted version's file (as "<name>.kept") while a live version still
 * takes blocks from it, and their rebuild at start-up.  See "Shared
 * blocks" in store_i.h.
 *
 * Locking: every function here is called with the chunk's stripe mutex and
 * st->lock held.  The stripe is what makes the check-then-rename sequences
 * of writers, deleters and quarantine safe: they all hold it for the whole
 * sequence, so the versions of one chunk cannot change under them.
 * Readers take neither across their opens; they look a shared version up
 * under its live name and then its kept name (ds__open_src).
 */
#include "config.h"
#include "ds/store_i.h"
#include "common/log.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int ds__pin_src(struct ds_store *st, uint64_t id, uint32_t nsrc,
		const uint64_t *src)
{
	for (uint32_t i = 0; i < nsrc; i++)
		if (!ds_index_ent(&st->ix, id, src[i]))
			return -ENOENT;
	for (uint32_t i = 0; i < nsrc; i++)
		ds_index_ent(&st->ix, id, src[i])->refs++;
	return 0;
}

/* Drop one use of each of src; a kept version left unused goes. */
void ds__unpin_src(struct ds_store *st, uint64_t id, uint32_t nsrc,
		      const uint64_t *src)
{
	int sub = ds_subdir_of(id);
	char name[48];

	for (uint32_t i = 0; i < nsrc; i++) {
		struct ds_idx_ent *e = ds_index_ent(&st->ix, id, src[i]);

		if (!e)
			continue;
		if (e->refs)
			e->refs--;
		if (!e->kept || e->refs)
			continue;
		ds_kept_name(name, sizeof(name), id, src[i]);
		if (unlinkat(st->sub_fd[sub], name, 0) && errno != ENOENT) {
			/* It stays on disk, unused; the next start-up
			 * removes it. */
			log_err("cannot remove kept chunk file '%s': %s", name,
				strerror(errno));
		}
		ds_index_del(&st->ix, id, src[i]);
	}
}

void ds__retire(struct ds_store *st, struct ds_idx_ent *e, bool keep)
{
	uint64_t id = e->s.chunk_id, src[DS_MAX_SRC];
	uint32_t nsrc = e->kept ? 0 : e->s.nsrc;

	if (nsrc)
		memcpy(src, e->src, nsrc * sizeof(src[0]));
	if (keep)
		ds_index_keep(&st->ix, e);
	else
		ds_index_del(&st->ix, id, e->s.version);
	ds__unpin_src(st, id, nsrc, src);
}

int ds__open_src(struct ds_store *st, uint64_t id, uint64_t version, int flags)
{
	int sub = ds_subdir_of(id), fd;
	char name[48];

	/* Live first: a version is renamed from live to kept, never back. */
	ds_chunk_name(name, sizeof(name), id, version);
	fd = openat(st->sub_fd[sub], name, O_RDONLY | O_CLOEXEC | flags);
	if (fd < 0 && errno == ENOENT) {
		ds_kept_name(name, sizeof(name), id, version);
		fd = openat(st->sub_fd[sub], name, O_RDONLY | O_CLOEXEC | flags);
	}
	if (fd < 0 && flags && errno == EINVAL)
		return ds__open_src(st, id, version, 0);
	return fd < 0 ? -errno : fd;
}

/* ------------------------------------------------------------------ */
/* Start-up                                                           */
/* ------------------------------------------------------------------ */

struct scan_acc {
	struct ds_store *st;
	struct ds_chunk_stat *v;	/* versions to act on */
	size_t n, cap;
};

static void acc_add(struct scan_acc *a, const struct ds_chunk_stat *s)
{
	if (a->n == a->cap) {
		a->cap = a->cap ? 2 * a->cap : 64;
		a->v = xrealloc(a->v, a->cap * sizeof(*a->v));
	}
	a->v[a->n++] = *s;
}

/* Count the uses of each version; note live ones whose sources are gone. */
static void count_refs(struct ds_idx_ent *e, void *arg)
{
	struct scan_acc *a = arg;
	bool missing = false;

	if (e->kept)
		return;
	for (uint32_t i = 0; i < e->s.nsrc; i++) {
		struct ds_idx_ent *t = ds_index_ent(&a->st->ix, e->s.chunk_id, e->src[i]);

		if (t)
			t->refs++;
		else
			missing = true;
	}
	if (missing)
		acc_add(a, &e->s);
}

static void find_unused(struct ds_idx_ent *e, void *arg)
{
	if (e->kept && e->refs == 0)
		acc_add(arg, &e->s);
}

int ds__resolve_shared(struct ds_store *st, unsigned *nbad, unsigned *nunused)
{
	struct scan_acc a = { .st = st };
	char name[48];

	/* Single-threaded (the store is not open yet): no locks needed,
	 * but ds__quarantine() takes them itself. */
	ds_index_foreach(&st->ix, count_refs, &a);
	for (size_t i = 0; i < a.n; i++)
		if (!ds__quarantine(st, a.v[i].chunk_id, a.v[i].version,
				    "a version it shares blocks with is missing"))
			(*nbad)++;
	a.n = 0;
	ds_index_foreach(&st->ix, find_unused, &a);
	for (size_t i = 0; i < a.n; i++) {
		int sub = ds_subdir_of(a.v[i].chunk_id);

		ds_kept_name(name, sizeof(name), a.v[i].chunk_id, a.v[i].version);
		if (unlinkat(st->sub_fd[sub], name, 0) == 0 || errno == ENOENT) {
			ds_index_del(&st->ix, a.v[i].chunk_id, a.v[i].version);
			(*nunused)++;
		}
	}
	free(a.v);
	return 0;
}
