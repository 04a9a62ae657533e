/*
 * readahead.h - sequential stream detection for one inode.
 *
 * The client asks this, on every read of an inode, what to fetch ahead.
 * Detection is per inode, not per file handle, and tracks several streams
 * at once, so that DataLoader workers or ranks reading the same file (each
 * sequentially, interleaved in time) each keep their own window instead of
 * looking like random access together.
 *
 * A stream starts with a small window (FS_RA_MIN) once two reads in a row
 * are contiguous, doubles it each time the reader consumes the prefetched
 * data, up to `max`.  Reads that match no stream start a new candidate; a
 * stream that no read matches for a while is forgotten, so a file read at
 * random ends with no streams and no prefetch.
 *
 * Not thread-safe: the caller holds the inode's lock.  No allocation.
 */
#ifndef FS_READAHEAD_H
#define FS_READAHEAD_H

#include <stdbool.h>
#include <stdint.h>

#define FS_RA_STREAMS 8
#define FS_RA_MIN ((uint64_t)256 << 10)

struct fs_ra_stream {
	uint64_t next;		/* offset the stream's next read should start at */
	uint64_t window;	/* current read-ahead window, 0 = candidate */
	uint64_t ahead;		/* prefetched up to here (exclusive) */
	uint64_t last_use;	/* clock tick of the last matching read */
};

struct fs_readahead {
	uint64_t max;		/* largest window, bytes (prefetch_max) */
	uint64_t tick;
	struct fs_ra_stream s[FS_RA_STREAMS];
};

void fs_ra_init(struct fs_readahead *ra, uint64_t max);

/*
 * Record a read of [off, off + len) and say what to prefetch: on true,
 * [*pf_off, *pf_off + *pf_len) should be fetched (in the background) and
 * is recorded as prefetched.  On false there is nothing to do.
 */
bool fs_ra_read(struct fs_readahead *ra, uint64_t off, uint64_t len,
		uint64_t *pf_off, uint64_t *pf_len);

/* A hint (POSIX_FADV_SEQUENTIAL or a prefetch list): start a stream at
 * off with the full window. */
void fs_ra_hint(struct fs_readahead *ra, uint64_t off);

/* Forget every stream (file rewritten, handle closed by the last reader). */
void fs_ra_reset(struct fs_readahead *ra);

#endif
