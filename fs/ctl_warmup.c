/*
 * ctl_warmup.c - gannetctl warmup PATH...: load files, or whole trees,
 * into the cache of the gannet-fuse client serving their mount (its RAM
 * cache, and its disk tier when it has one), so that the first epoch
 * reads from the cache too.
 *
 * The control channel is the client's virtual xattr gannet.warm.OFF.LEN
 * (fs/fsop_vxattr.c): a getxattr the client answers once that range is
 * cached, checking at its MDS that the caller may read the file.  Files
 * are cut into WARM_PIECE ranges taken by --parallel worker threads, so
 * one large checkpoint is fetched by several at once.  At the end each
 * file's gannet.cached says what is still held: what the caches could not
 * keep (later files evicted it) is reported as not fitting.
 *
 * No MDS call is made here: paths go through the mount, as for any
 * program, which also means symlinks are not followed into the tree (as
 * du does) and only regular files are warmed.
 */
#include "config.h"
#include "fs/ctl_i.h"
#include "common/util.h"

#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#define WARM_PIECE ((uint64_t)64 << 20)
#define VALUE_MAX 64

struct wfile {
	char *path;
	uint64_t size;		/* st_size when listed */
	size_t pieces_left;
	int err;		/* first failure, negative errno */
	uint64_t cached, total;	/* gannet.cached at the end */
};

struct witem {
	size_t file;
	uint64_t off, len;
};

struct warm {
	struct ctl *c;
	struct wfile *f;
	size_t nf, capf;
	struct witem *it;
	size_t nit, capit;
	int list_err;		/* a PATH could not be listed */

	pthread_mutex_t mu;
	pthread_cond_t cv;	/* a worker finished */
	size_t next;		/* next item to take */
	int running;
	uint64_t done_bytes, total_bytes;
	size_t files_done;
};

/* nftw has no argument for its callback: the one walk in progress. */
static struct warm *walking;

static void add_file(struct warm *w, const char *path, uint64_t size)
{
	struct wfile *f;
	uint64_t off = 0;

	if (w->nf == w->capf) {
		w->capf = w->capf ? 2 * w->capf : 64;
		w->f = xrealloc(w->f, w->capf * sizeof(*w->f));
	}
	f = &w->f[w->nf];
	*f = (struct wfile){ .path = xstrdup(path), .size = size };
	do {
		if (w->nit == w->capit) {
			w->capit = w->capit ? 2 * w->capit : 64;
			w->it = xrealloc(w->it, w->capit * sizeof(*w->it));
		}
		w->it[w->nit++] = (struct witem){ w->nf, off,
						  GN_MIN(WARM_PIECE, size - off) };
		f->pieces_left++;
		off += WARM_PIECE;
	} while (off < size);
	w->total_bytes += size;
	w->nf++;
}

static int walk_one(const char *path, const struct stat *st, int type,
		    struct FTW *ftw)
{
	if (type == FTW_F && S_ISREG(st->st_mode))
		add_file(walking, path, (uint64_t)st->st_size);
	else if (type == FTW_DNR || type == FTW_NS) {
		ctl_err(walking->c, "cannot read '%s': %s", path, strerror(errno));
		walking->list_err = -errno;
	}
	return 0;
}

/* A PATH must be on a gannet mount: its client answers gannet.cached
 * (EISDIR for a directory), any other filesystem does not. */
static int check_path(struct warm *w, const char *path, struct stat *st)
{
	char v[VALUE_MAX];

	if (lstat(path, st)) {
		ctl_err(w->c, "cannot stat '%s': %s", path, strerror(errno));
		return -errno;
	}
	if (!S_ISREG(st->st_mode) && !S_ISDIR(st->st_mode)) {
		ctl_err(w->c, "'%s' is not a regular file or a directory", path);
		return -EINVAL;
	}
	if (getxattr(path, "gannet.cached", v, sizeof(v)) < 0 &&
	    !(errno == EISDIR && S_ISDIR(st->st_mode))) {
		if (errno == ENODATA || errno == ENOTSUP)
			ctl_err(w->c, "'%s' is not on a gannet mount", path);
		else
			ctl_err(w->c, "cannot ask the client about '%s': %s", path,
				strerror(errno));
		return -errno;
	}
	return 0;
}

static int list_paths(struct warm *w, int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		struct stat st;
		int ret = check_path(w, argv[i], &st);

		if (ret)
			return ret;
		if (S_ISREG(st.st_mode)) {
			add_file(w, argv[i], (uint64_t)st.st_size);
			continue;
		}
		walking = w;
		ret = nftw(argv[i], walk_one, 32, FTW_PHYS);
		walking = NULL;
		if (ret) {
			ctl_err(w->c, "cannot walk '%s': %s", argv[i], strerror(errno));
			return -errno;
		}
	}
	return w->list_err;
}

/* "CACHED TOTAL" of one gannet.* xattr of path. */
static int ask(const char *path, const char *name, uint64_t *cached,
	       uint64_t *total)
{
	char v[VALUE_MAX + 1];
	ssize_t n = getxattr(path, name, v, VALUE_MAX);

	if (n < 0)
		return -errno;
	v[n] = '\0';
	if (sscanf(v, "%" SCNu64 " %" SCNu64, cached, total) != 2)
		return -EBADMSG;
	return 0;
}

static void *worker(void *arg)
{
	struct warm *w = arg;

	pthread_mutex_lock(&w->mu);
	while (w->next < w->nit) {
		struct witem *it = &w->it[w->next++];
		struct wfile *f = &w->f[it->file];
		uint64_t cached, total;
		char name[80];
		int ret = 0;

		if (!f->err) {
			pthread_mutex_unlock(&w->mu);
			snprintf(name, sizeof(name), "gannet.warm.%" PRIu64 ".%" PRIu64,
				 it->off, it->len);
			/* EBUSY: the client runs as many as it lets run. */
			while ((ret = ask(f->path, name, &cached, &total)) == -EBUSY)
				usleep(20000);
			pthread_mutex_lock(&w->mu);
		}
		if (ret && !f->err)
			f->err = ret;
		w->done_bytes += it->len;
		if (--f->pieces_left == 0)
			w->files_done++;
	}
	w->running--;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

static void progress(struct warm *w, double secs)
{
	char d[32], t[32], r[32], eta[32] = "-";
	double rate = secs > 0 ? w->done_bytes / secs : 0;
	unsigned pct = w->total_bytes ?
		(unsigned)(w->done_bytes * 100 / w->total_bytes) : 100;
	char bar[21];

	if (rate > 0)
		snprintf(eta, sizeof(eta), "%.0fs",
			 (w->total_bytes - w->done_bytes) / rate);
	memset(bar, '#', pct / 5);
	memset(bar + pct / 5, '.', 20 - pct / 5);
	bar[20] = '\0';
	fprintf(stderr, "\rwarmup [%s] %3u%%  %zu/%zu files  %s/%s  %s/s  ETA %s\033[K",
		bar, pct, w->files_done, w->nf, gn_fmt_bytes(d, sizeof(d), w->done_bytes),
		gn_fmt_bytes(t, sizeof(t), w->total_bytes),
		gn_fmt_bytes(r, sizeof(r), (uint64_t)rate), eta);
	fflush(stderr);
}

static double since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* Run the workers; the calling thread draws progress meanwhile. */
static int run(struct warm *w, int nthreads, double *secs)
{
	pthread_t thr[64];
	struct timespec t0;
	int ret = 0, n = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	pthread_mutex_lock(&w->mu);
	for (; n < nthreads && n < (int)w->nit; n++) {
		ret = pthread_create(&thr[n], NULL, worker, w);
		if (ret)
			break;
		w->running++;
	}
	while (w->running) {
		struct timespec ts;

		if (w->c->tty && !w->c->json)
			progress(w, since(&t0));
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 200000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&w->cv, &w->mu, &ts);
	}
	pthread_mutex_unlock(&w->mu);
	for (int i = 0; i < n; i++)
		pthread_join(thr[i], NULL);
	*secs = since(&t0);
	if (w->c->tty && !w->c->json)
		ctl_progress_end(w->c);
	if (ret && !n) {
		ctl_err(w->c, "cannot start worker threads: %s", strerror(ret));
		return -ret;
	}
	return 0;
}

static void report(struct warm *w, double secs, size_t nfailed,
		   size_t nmissed, uint64_t cached, uint64_t total)
{
	char b1[32], b2[32], b3[32];
	struct ctl_json j;

	if (!w->c->json) {
		for (size_t i = 0; i < w->nf; i++) {
			struct wfile *f = &w->f[i];

			if (f->err)
				ctl_err(w->c, "warmup of '%s' failed: %s", f->path,
					strerror(-f->err));
			else if (f->cached < f->total)
				printf("not cached: %s (%s of %s)\n", f->path,
				       gn_fmt_bytes(b1, sizeof(b1), f->cached),
				       gn_fmt_bytes(b2, sizeof(b2), f->total));
		}
		printf("%zu files, %s of %s cached, in %.1f s (%s/s)\n", w->nf,
		       gn_fmt_bytes(b1, sizeof(b1), cached),
		       gn_fmt_bytes(b2, sizeof(b2), total), secs,
		       gn_fmt_bytes(b3, sizeof(b3),
				    (uint64_t)(secs > 0 ? total / secs : 0)));
		if (nmissed)
			printf("%zu files did not fit in the cache (cache_size, "
			       "cache_dir_size)\n", nmissed);
		if (nfailed)
			printf("%zu files failed\n", nfailed);
		return;
	}
	cj_begin(&j, stdout);
	cj_u64(&j, "files", w->nf);
	cj_u64(&j, "bytes", total);
	cj_u64(&j, "cached_bytes", cached);
	cj_u64(&j, "milliseconds", (uint64_t)(secs * 1000));
	cj_arr(&j, "not_cached");
	for (size_t i = 0; i < w->nf; i++) {
		if (w->f[i].err || w->f[i].cached >= w->f[i].total)
			continue;
		cj_obj(&j, NULL);
		cj_str(&j, "path", w->f[i].path);
		cj_u64(&j, "cached_bytes", w->f[i].cached);
		cj_u64(&j, "bytes", w->f[i].total);
		cj_close_obj(&j);
	}
	cj_close_arr(&j);
	cj_arr(&j, "failed");
	for (size_t i = 0; i < w->nf; i++) {
		if (!w->f[i].err)
			continue;
		cj_obj(&j, NULL);
		cj_str(&j, "path", w->f[i].path);
		cj_str(&j, "error", strerror(-w->f[i].err));
		cj_close_obj(&j);
	}
	cj_close_arr(&j);
	cj_end_doc(&j);
}

int ctl_cmd_warmup(struct ctl *c, int argc, char **argv)
{
	struct warm w = { .c = c };
	size_t nfailed = 0, nmissed = 0;
	uint64_t cached = 0, total = 0;
	double secs = 0;
	int ret;

	ret = ctl_only_opts(c, "warmup", CTL_O_PARALLEL);
	if (ret)
		return ret;
	if (argc < 2) {
		ctl_err(c, "usage: warmup PATH...");
		return CTL_USAGE;
	}
	pthread_mutex_init(&w.mu, NULL);
	pthread_cond_init(&w.cv, NULL);
	ret = list_paths(&w, argc, argv) ? CTL_FAIL : CTL_OK;
	if (!ret && run(&w, (int)c->parallel, &secs))
		ret = CTL_FAIL;
	if (!ret) {
		for (size_t i = 0; i < w.nf; i++) {
			struct wfile *f = &w.f[i];

			if (!f->err)
				f->err = ask(f->path, "gannet.cached", &f->cached,
					     &f->total);
			if (f->err) {
				nfailed++;
				continue;
			}
			nmissed += f->cached < f->total;
			cached += f->cached;
			total += f->total;
		}
		report(&w, secs, nfailed, nmissed, cached, total);
		ret = nfailed || nmissed ? CTL_FAIL : CTL_OK;
	}
	for (size_t i = 0; i < w.nf; i++)
		free(w.f[i].path);
	free(w.f);
	free(w.it);
	pthread_cond_destroy(&w.cv);
	pthread_mutex_destroy(&w.mu);
	return ret;
}
