/*
 * buf.h - page-aligned buffers and a fixed pool of chunk-sized buffers.
 *
 * Data buffers (chunks, cache blocks) never come from malloc: multi-MiB
 * malloc/free churns glibc's mmap threshold and costs more in page faults
 * than the copies (shared/notes/grpc-core.md).  A pool maps its whole
 * arena once; get/put are O(1) under one mutex.
 */
#ifndef GN_BUF_H
#define GN_BUF_H

#include <stddef.h>

/* Page-aligned zeroed memory of len bytes from mmap; NULL on failure.
 * Free with gn_buf_free(p, len). */
void *gn_buf_alloc(size_t len);
void gn_buf_free(void *p, size_t len);

struct gn_bufpool;

/* A pool of count buffers of size bytes each (size rounded up to the page
 * size), all mapped at creation.  -ENOMEM if the arena cannot be mapped. */
int gn_bufpool_new(size_t size, size_t count, struct gn_bufpool **out);
/* Free the pool; every buffer must have been put back. */
void gn_bufpool_free(struct gn_bufpool *pool);

/* Take a buffer: NULL at once when all are in use (the caller returns
 * -ENOMEM or waits with gn_bufpool_get_wait). */
void *gn_bufpool_get(struct gn_bufpool *pool);
/* Take a buffer, waiting up to timeout_ms (< 0: forever) for one to be
 * put back; NULL on timeout. */
void *gn_bufpool_get_wait(struct gn_bufpool *pool, int timeout_ms);
/* Return a buffer taken from this pool.  Thread-safe. */
void gn_bufpool_put(struct gn_bufpool *pool, void *buf);

size_t gn_bufpool_bufsize(const struct gn_bufpool *pool);
size_t gn_bufpool_available(struct gn_bufpool *pool);

#endif
