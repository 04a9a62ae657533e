/* buf.c - see buf.h */
#include "config.h"
#include "common/buf.h"
#include "common/log.h"
#include "common/util.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <stdint.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

void *gn_buf_alloc(size_t len)
{
	void *p = mmap(NULL, len ? len : 1, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

void gn_buf_free(void *p, size_t len)
{
	if (p)
		munmap(p, len ? len : 1);
}

struct gn_bufpool {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	char *arena;
	size_t size;		/* bytes per buffer */
	size_t count;
	size_t nfree;
	void **free;		/* stack of free buffers */
};

int gn_bufpool_new(size_t size, size_t count, struct gn_bufpool **out)
{
	long page = sysconf(_SC_PAGESIZE);
	struct gn_bufpool *pool;
	pthread_condattr_t ca;

	size = (size + page - 1) / page * page;
	pool = xcalloc(1, sizeof(*pool));
	pool->arena = gn_buf_alloc(size * count);
	if (!pool->arena) {
		free(pool);
		return -ENOMEM;
	}
	pool->size = size;
	pool->count = count;
	pool->free = xmalloc(count * sizeof(void *));
	for (size_t i = 0; i < count; i++)
		pool->free[i] = pool->arena + (count - 1 - i) * size;
	pool->nfree = count;
	pthread_mutex_init(&pool->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&pool->cond, &ca);
	pthread_condattr_destroy(&ca);
	*out = pool;
	return 0;
}

void gn_bufpool_free(struct gn_bufpool *pool)
{
	if (!pool)
		return;
	if (pool->nfree != pool->count)
		BUG("buffer pool freed with %zu buffers in use",
		    pool->count - pool->nfree);
	gn_buf_free(pool->arena, pool->size * pool->count);
	pthread_mutex_destroy(&pool->lock);
	pthread_cond_destroy(&pool->cond);
	free(pool->free);
	free(pool);
}

void *gn_bufpool_get_wait(struct gn_bufpool *pool, int timeout_ms)
{
	struct timespec ts;
	void *buf = NULL;

	if (timeout_ms > 0)
		ts = gn_mono_after_ns((int64_t)timeout_ms * 1000000);
	pthread_mutex_lock(&pool->lock);
	while (pool->nfree == 0 && timeout_ms != 0) {
		if (timeout_ms < 0)
			pthread_cond_wait(&pool->cond, &pool->lock);
		else if (pthread_cond_timedwait(&pool->cond, &pool->lock, &ts))
			break;
	}
	if (pool->nfree)
		buf = pool->free[--pool->nfree];
	pthread_mutex_unlock(&pool->lock);
	return buf;
}

void *gn_bufpool_get(struct gn_bufpool *pool)
{
	return gn_bufpool_get_wait(pool, 0);
}

void gn_bufpool_put(struct gn_bufpool *pool, void *buf)
{
	char *p = buf;

	if (p < pool->arena || p >= pool->arena + pool->size * pool->count ||
	    (size_t)(p - pool->arena) % pool->size)
		BUG("buffer %p does not belong to pool %p", buf, (void *)pool);
	pthread_mutex_lock(&pool->lock);
	if (pool->nfree == pool->count)
		BUG("buffer %p put back twice", buf);
	pool->free[pool->nfree++] = buf;
	pthread_cond_signal(&pool->cond);
	pthread_mutex_unlock(&pool->lock);
}

size_t gn_bufpool_bufsize(const struct gn_bufpool *pool)
{
	return pool->size;
}

size_t gn_bufpool_available(struct gn_bufpool *pool)
{
	size_t n;

	pthread_mutex_lock(&pool->lock);
	n = pool->nfree;
	pthread_mutex_unlock(&pool->lock);
	return n;
}
