/*
 * warm.c - filling the caches ahead of reads, on request: one file
 * (fs_warm_file: the gannet.warm xattrs, gannetctl warmup) and the
 * prefetch list (the gannet.prefetch xattr: the files a job will read
 * next, in its order, fetched by one background thread).
 *
 * A list replaces the one before: a sampler hands the next files as it
 * goes, and what it handed earlier and was not reached yet is no longer
 * "next".  A list stops early once it has fetched half the caches'
 * capacity (RAM plus disk tier): fetching further would evict what it
 * fetched first, before the job reads it.  Its paths are looked up, and
 * its files opened, with the credentials of the caller who set it.  A
 * path is relative to the directory the list was set on, or to the
 * mount's root when it starts with "/" (so a job can set its list on a
 * directory it may write and name files of a read-only dataset).
 */
#include "config.h"
#include "fs/io.h"
#include "fs/mdsc.h"
#include "common/log.h"
#include "common/status.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int fs_warm_file(struct fs_session *s, const struct fs_cred *c, uint64_t ino,
		 uint64_t off, uint64_t len, bool fetch, bool (*stop)(void *),
		 void *arg, uint64_t *cached, uint64_t *total)
{
	struct fs_inode *in = fs_inode_get(s, ino);
	struct gn_rpc_result res;
	Gannet__OpenReply *r;
	struct fs_attr a;
	bool keep = false;
	int ret;

	*cached = *total = 0;
	ret = mdsc_open(s, c, ino, O_RDONLY, &res);
	if (ret)
		goto out;
	r = (Gannet__OpenReply *)res.reply;
	ret = fs_attr_from_pb(r->attr, &a);
	if (!ret && !S_ISREG(a.st.st_mode))
		ret = S_ISDIR(a.st.st_mode) ? -EISDIR : -EINVAL;
	if (!ret)
		ret = fs_io_open_reply(s, in, r, r->handle, false, &keep);
	if (ret) {
		mdsc_close(s, c, ino, r->handle);
		gn_rpc_result_release(&res);
		goto out;
	}
	/* As at open: the kernel's pages may predate a new version. */
	if (!keep && s->kops)
		s->kops->inval_inode(s, ino, false);
	ret = fs_io_warm(s, in, off, len, fetch, stop, arg, cached, total);
	mdsc_close(s, c, ino, r->handle);
	fs_io_closed(in);
	gn_rpc_result_release(&res);
out:
	fs_inode_put(s, in);
	return ret;
}

/* ---- the prefetch list ---- */

struct fs_plist {
	pthread_t thr;
	bool started, stopping;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	/* The current list: n paths relative to dir, next is the one to
	 * fetch; gen changes with each new list (the worker checks it). */
	uint64_t gen, dir;
	struct fs_cred cred;
	char **paths;
	size_t n, next;
	uint64_t done, failed, bytes;	/* of the current list */
};

static void list_free(struct fs_plist *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->paths[i]);
	free(p->paths);
	p->paths = NULL;
	p->n = p->next = 0;
}

/* Walk path (no "..") from dir, or from the mount's root when it starts
 * with "/", with c. */
static int resolve(struct fs_session *s, const struct fs_cred *c, uint64_t dir,
		   const char *path, uint64_t *ino)
{
	char *copy = xstrdup(path), *save = NULL, *name;
	int ret = 0;

	*ino = path[0] == '/' ? s->root_ino : dir;
	for (name = strtok_r(copy, "/", &save); name && !ret;
	     name = strtok_r(NULL, "/", &save)) {
		struct fs_attr a;

		if (!strcmp(name, "."))
			continue;
		if (!strcmp(name, "..")) {
			ret = -EINVAL;
			break;
		}
		ret = mdsc_lookup(s, c, *ino, name, &a, NULL);
		if (!ret)
			*ino = a.st.st_ino;
	}
	free(copy);
	return ret;
}

struct plist_stop {
	struct fs_plist *p;
	uint64_t gen;
};

static bool list_replaced(void *arg)
{
	struct plist_stop *ps = arg;
	bool stop;

	pthread_mutex_lock(&ps->p->lock);
	stop = ps->p->gen != ps->gen || ps->p->stopping;
	pthread_mutex_unlock(&ps->p->lock);
	return stop;
}

static void *plist_main(void *arg)
{
	struct fs_session *s = arg;
	struct fs_plist *p = s->plist;
	uint64_t budget = (s->conf->cache_size +
			   (s->dcache ? s->conf->cache_dir_size : 0)) / 2;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		struct plist_stop ps = { p, p->gen };
		uint64_t dir = p->dir, ino, cached, total;
		struct fs_cred c = p->cred;
		char *path;
		int ret;

		if (p->stopping)
			break;
		if (p->next >= p->n || p->bytes >= budget) {
			pthread_cond_wait(&p->cond, &p->lock);
			continue;
		}
		path = xstrdup(p->paths[p->next++]);
		pthread_mutex_unlock(&p->lock);
		ret = resolve(s, &c, dir, path, &ino);
		if (!ret)
			ret = fs_warm_file(s, &c, ino, 0, UINT64_MAX, true,
					   list_replaced, &ps, &cached, &total);
		if (ret && ret != -EINTR)
			log_debug("prefetch list: cannot fetch '%s': %s", path,
				  gn_strerror(ret));
		free(path);
		pthread_mutex_lock(&p->lock);
		if (p->gen != ps.gen)
			continue;	/* a new list: these counts are not its */
		if (ret)
			p->failed++;
		else
			p->done++;
		if (!ret)
			p->bytes += total;
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

int fs_plist_start(struct fs_session *s)
{
	struct fs_plist *p = xcalloc(1, sizeof(*p));
	int ret;

	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	s->plist = p;
	if (!(s->cache && s->conf->cache_size) && !s->dcache)
		return 0;	/* nowhere to put anything: lists are refused */
	ret = pthread_create(&p->thr, NULL, plist_main, s);
	if (ret)
		return -ret;
	p->started = true;
	return 0;
}

void fs_plist_stop(struct fs_session *s)
{
	struct fs_plist *p = s->plist;

	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stopping = true;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	if (p->started)
		pthread_join(p->thr, NULL);
	list_free(p);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	free(p);
	s->plist = NULL;
}

int fs_plist_set(struct fs_session *s, const struct fs_cred *c, uint64_t dir,
		 const char *list, size_t len)
{
	struct fs_plist *p = s->plist;
	char **paths = NULL;
	size_t n = 0, cap = 0;
	const char *q = list, *end = list + len;

	if (!p || !p->started)
		return -EOPNOTSUPP;
	while (q < end) {
		const char *nl = memchr(q, '\n', (size_t)(end - q));
		size_t l = (size_t)((nl ? nl : end) - q);

		if (memchr(q, '\0', l)) {
			for (size_t i = 0; i < n; i++)
				free(paths[i]);
			free(paths);
			return -EINVAL;
		}
		if (l) {
			if (n == cap) {
				cap = cap ? 2 * cap : 64;
				paths = xrealloc(paths, cap * sizeof(*paths));
			}
			paths[n] = xmalloc(l + 1);
			memcpy(paths[n], q, l);
			paths[n++][l] = '\0';
		}
		q = nl ? nl + 1 : end;
	}
	pthread_mutex_lock(&p->lock);
	list_free(p);
	p->gen++;
	p->dir = dir;
	p->cred = *c;
	p->paths = paths;
	p->n = n;
	p->done = p->failed = p->bytes = 0;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	return 0;
}

void fs_plist_status(struct fs_session *s, uint64_t st[4])
{
	struct fs_plist *p = s->plist;

	memset(st, 0, 4 * sizeof(*st));
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	st[0] = p->n;
	st[1] = p->done;
	st[2] = p->failed;
	st[3] = p->bytes;
	pthread_mutex_unlock(&p->lock);
}
