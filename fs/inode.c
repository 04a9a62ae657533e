/*
 * inode.c - the inode table.
 *
 * An inode lives while the kernel knows it (nlookup > 0: +1 for every
 * fuse_reply_entry/create, -n on forget) or while we hold a reference
 * (refs: open handles, operations in flight).  It is freed when both are
 * zero (passthrough_ll unref_inode).  One mutex guards the hash table and
 * both counts; each inode has its own lock for its data state.
 */
#include "config.h"
#include "fs/fs_i.h"
#include "common/log.h"
#include "common/util.h"

#include <stdlib.h>
#include <string.h>

static size_t slot_of(const struct fs_session *s, uint64_t ino)
{
	return (size_t)((ino * 0x9E3779B97F4A7C15ull) >> 20) & (s->itab_size - 1);
}

void fs_itab_init(struct fs_session *s)
{
	pthread_mutex_init(&s->itab_lock, NULL);
	s->itab_size = 1024;
	s->itab = xcalloc(s->itab_size, sizeof(*s->itab));
	s->itab_count = 0;
}

static void inode_free(struct fs_inode *in)
{
	if (in->wb)
		BUG("inode %llu freed with dirty buffers", (unsigned long long)in->ino);
	fs_chunkmap_release(&in->map);
	fs_chunkmap_release(&in->pending);
	pthread_mutex_destroy(&in->lock);
	pthread_cond_destroy(&in->cond);
	free(in);
}

void fs_itab_release(struct fs_session *s)
{
	for (size_t i = 0; i < s->itab_size; i++) {
		struct fs_inode *in = s->itab ? s->itab[i] : NULL;
		while (in) {
			struct fs_inode *next = in->hnext;
			inode_free(in);
			in = next;
		}
	}
	free(s->itab);
	s->itab = NULL;
	pthread_mutex_destroy(&s->itab_lock);
}

static void grow(struct fs_session *s)
{
	size_t nsize = s->itab_size * 2, old = s->itab_size;
	struct fs_inode **ot = s->itab;

	s->itab = xcalloc(nsize, sizeof(*s->itab));
	s->itab_size = nsize;
	for (size_t i = 0; i < old; i++) {
		struct fs_inode *in = ot[i];
		while (in) {
			struct fs_inode *next = in->hnext;
			size_t k = slot_of(s, in->ino);
			in->hnext = s->itab[k];
			s->itab[k] = in;
			in = next;
		}
	}
	free(ot);
}

/* Under itab_lock. */
static struct fs_inode *find_locked(struct fs_session *s, uint64_t ino)
{
	struct fs_inode *in = s->itab[slot_of(s, ino)];

	while (in && in->ino != ino)
		in = in->hnext;
	return in;
}

static struct fs_inode *get_locked(struct fs_session *s, uint64_t ino)
{
	struct fs_inode *in = find_locked(s, ino);
	pthread_condattr_t ca;
	size_t k;

	if (in)
		return in;
	in = xcalloc(1, sizeof(*in));
	in->ino = ino;
	pthread_mutex_init(&in->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&in->cond, &ca);
	pthread_condattr_destroy(&ca);
	fs_chunkmap_init(&in->map);
	fs_chunkmap_init(&in->pending);
	if (s->itab_count + 1 > s->itab_size)
		grow(s);
	k = slot_of(s, ino);
	in->hnext = s->itab[k];
	s->itab[k] = in;
	s->itab_count++;
	return in;
}

/* Unlink and free in if nothing refers to it; under itab_lock. */
static void maybe_free_locked(struct fs_session *s, struct fs_inode *in)
{
	struct fs_inode **pp;

	if (in->nlookup || in->refs)
		return;
	for (pp = &s->itab[slot_of(s, in->ino)]; *pp; pp = &(*pp)->hnext) {
		if (*pp == in) {
			*pp = in->hnext;
			s->itab_count--;
			inode_free(in);
			return;
		}
	}
	BUG("inode %llu not in its table slot", (unsigned long long)in->ino);
}

struct fs_inode *fs_inode_get(struct fs_session *s, uint64_t ino)
{
	struct fs_inode *in;

	pthread_mutex_lock(&s->itab_lock);
	in = get_locked(s, ino);
	in->refs++;
	pthread_mutex_unlock(&s->itab_lock);
	return in;
}

struct fs_inode *fs_inode_find(struct fs_session *s, uint64_t ino)
{
	struct fs_inode *in;

	pthread_mutex_lock(&s->itab_lock);
	in = find_locked(s, ino);
	if (in)
		in->refs++;
	pthread_mutex_unlock(&s->itab_lock);
	return in;
}

void fs_inode_ref(struct fs_session *s, struct fs_inode *in)
{
	pthread_mutex_lock(&s->itab_lock);
	in->refs++;
	pthread_mutex_unlock(&s->itab_lock);
}

void fs_inode_put(struct fs_session *s, struct fs_inode *in)
{
	if (!in)
		return;
	pthread_mutex_lock(&s->itab_lock);
	if (!in->refs)
		BUG("inode %llu reference dropped twice", (unsigned long long)in->ino);
	in->refs--;
	maybe_free_locked(s, in);
	pthread_mutex_unlock(&s->itab_lock);
}

void fs_inode_lookup(struct fs_session *s, uint64_t ino, uint32_t mode,
		     const struct stat *kst)
{
	struct fs_inode *in;

	pthread_mutex_lock(&s->itab_lock);
	in = get_locked(s, ino);
	in->nlookup++;
	pthread_mutex_unlock(&s->itab_lock);
	/* mode only informs; racing writers store the same type bits */
	__atomic_store_n(&in->mode, mode & S_IFMT, __ATOMIC_RELAXED);
	if (kst)
		fs_inode_kattr_note(in, kst);
}

static bool ts_eq(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

void fs_inode_kattr_note(struct fs_inode *in, const struct stat *kst)
{
	pthread_mutex_lock(&in->lock);
	if (in->kattr.valid &&
	    (in->kattr.size != (uint64_t)kst->st_size ||
	     !ts_eq(&in->kattr.mtime, &kst->st_mtim) ||
	     !ts_eq(&in->kattr.ctime, &kst->st_ctim)))
		in->kattr.mixed = true;
	in->kattr.valid = true;
	in->kattr.size = (uint64_t)kst->st_size;
	in->kattr.mtime = kst->st_mtim;
	in->kattr.ctime = kst->st_ctim;
	pthread_mutex_unlock(&in->lock);
}

bool fs_inode_kattr_current(struct fs_inode *in, const struct stat *fresh)
{
	bool cur;

	pthread_mutex_lock(&in->lock);
	cur = in->kattr.valid && !in->kattr.mixed &&
	      in->kattr.size == (uint64_t)fresh->st_size &&
	      ts_eq(&in->kattr.mtime, &fresh->st_mtim) &&
	      ts_eq(&in->kattr.ctime, &fresh->st_ctim);
	if (!cur)
		in->kattr.valid = in->kattr.mixed = false;
	pthread_mutex_unlock(&in->lock);
	return cur;
}

void fs_inode_forget(struct fs_session *s, uint64_t ino, uint64_t n)
{
	struct fs_inode *in;

	pthread_mutex_lock(&s->itab_lock);
	in = find_locked(s, ino);
	if (!in) {
		/* The kernel never forgets what it was not told; but a lost
		 * reply (interrupted request) can make it so: ignore. */
		log_debug("forget of unknown inode ino=%llu", (unsigned long long)ino);
	} else {
		in->nlookup = n > in->nlookup ? 0 : in->nlookup - n;
		maybe_free_locked(s, in);
	}
	pthread_mutex_unlock(&s->itab_lock);
}

void fs_itab_foreach(struct fs_session *s,
		     void (*fn)(struct fs_session *, struct fs_inode *, void *),
		     void *arg)
{
	struct fs_inode **v;
	size_t n = 0;

	/* Snapshot with references, then call fn without the table lock. */
	pthread_mutex_lock(&s->itab_lock);
	v = xmalloc((s->itab_count + 1) * sizeof(*v));
	for (size_t i = 0; i < s->itab_size; i++)
		for (struct fs_inode *in = s->itab[i]; in; in = in->hnext) {
			in->refs++;
			v[n++] = in;
		}
	pthread_mutex_unlock(&s->itab_lock);
	for (size_t i = 0; i < n; i++) {
		fn(s, v[i], arg);
		fs_inode_put(s, v[i]);
	}
	free(v);
}
