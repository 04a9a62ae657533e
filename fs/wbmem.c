/*
 * wbmem.c - write-back buffer memory charged by the bytes written; see
 * wbmem.h.
 */
#include "config.h"
#include "fs/wbmem.h"
#include "common/cksum.h"
#include "common/log.h"
#include "common/util.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

struct fs_wbmem {
	pthread_mutex_t lock;
	pthread_cond_t cond;		/* a charge was given back */
	size_t limit, used;		/* bytes; used counts the warm ones */
	char **warm;			/* idle resident buffers */
	size_t nwarm, maxwarm;
};

int fs_wbmem_new(size_t limit, struct fs_wbmem **out)
{
	struct fs_wbmem *m = xcalloc(1, sizeof(*m));
	pthread_condattr_t ca;

	m->limit = limit;
	m->maxwarm = limit / GN_CHUNK_SIZE + 1;
	m->warm = xcalloc(m->maxwarm, sizeof(*m->warm));
	pthread_mutex_init(&m->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&m->cond, &ca);
	pthread_condattr_destroy(&ca);
	*out = m;
	return 0;
}

static void unmap(char *buf)
{
	if (munmap(buf, GN_CHUNK_SIZE))
		BUG("munmap of a write-back buffer failed: %s", strerror(errno));
}

void fs_wbmem_free(struct fs_wbmem *m)
{
	if (!m)
		return;
	if (m->used != m->nwarm * GN_CHUNK_SIZE)
		BUG("write-back memory freed with %zu bytes still charged",
		    m->used - m->nwarm * GN_CHUNK_SIZE);
	for (size_t i = 0; i < m->nwarm; i++)
		unmap(m->warm[i]);
	free(m->warm);
	pthread_cond_destroy(&m->cond);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

char *fs_wbmem_get(struct fs_wbmem *m, size_t *charged)
{
	char *buf = NULL;

	pthread_mutex_lock(&m->lock);
	if (m->nwarm)
		buf = m->warm[--m->nwarm];
	pthread_mutex_unlock(&m->lock);
	if (buf) {
		*charged = GN_CHUNK_SIZE;
		return buf;
	}
	/* MAP_NORESERVE: the limit, not the kernel's overcommit, bounds it. */
	buf = mmap(NULL, GN_CHUNK_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (buf == MAP_FAILED)
		return NULL;
	/* A transparent huge page would make one 4 KiB write cost 2 MiB. */
	madvise(buf, GN_CHUNK_SIZE, MADV_NOHUGEPAGE);
	*charged = 0;
	return buf;
}

/* Unmap idle warm buffers until n more bytes fit; under lock.  The
 * munmap runs under the lock: it is rare (a switch from sequential to
 * scattered writing) and fast next to the uploads everyone waits for. */
static bool make_fit(struct fs_wbmem *m, size_t n)
{
	while (m->used + n > m->limit && m->nwarm) {
		unmap(m->warm[--m->nwarm]);
		m->used -= GN_CHUNK_SIZE;
	}
	return m->used + n <= m->limit;
}

bool fs_wbmem_charge(struct fs_wbmem *m, size_t n, bool force)
{
	bool ok;

	pthread_mutex_lock(&m->lock);
	ok = make_fit(m, n) || force;
	if (ok)
		m->used += n;
	pthread_mutex_unlock(&m->lock);
	return ok;
}

bool fs_wbmem_wait(struct fs_wbmem *m, size_t n, int timeout_ms)
{
	struct timespec ts = gn_mono_after_ns((int64_t)timeout_ms * 1000000);
	bool ok;

	pthread_mutex_lock(&m->lock);
	while (!(ok = make_fit(m, n)))
		if (pthread_cond_timedwait(&m->cond, &m->lock, &ts))
			break;
	pthread_mutex_unlock(&m->lock);
	return ok;
}

void fs_wbmem_put(struct fs_wbmem *m, char *buf, size_t charged, bool whole)
{
	bool keep;

	pthread_mutex_lock(&m->lock);
	if (charged > m->used)
		BUG("write-back buffer gives back %zu bytes, only %zu charged",
		    charged, m->used);
	keep = whole && charged == GN_CHUNK_SIZE && m->nwarm < m->maxwarm &&
	       m->used <= m->limit;
	if (keep)
		m->warm[m->nwarm++] = buf;
	else
		m->used -= charged;
	pthread_cond_broadcast(&m->cond);
	pthread_mutex_unlock(&m->lock);
	if (!keep)
		unmap(buf);
}

size_t fs_wbmem_used(struct fs_wbmem *m)
{
	size_t n;

	pthread_mutex_lock(&m->lock);
	n = m->used - m->nwarm * GN_CHUNK_SIZE;
	pthread_mutex_unlock(&m->lock);
	return n;
}
