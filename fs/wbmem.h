/*
 * wbmem.h - the write-back buffer's memory: chunk-sized buffers charged
 * against writeback_limit by the bytes they hold, not by their size.
 *
 * A write-back buffer spans a whole chunk (4 MiB) so that its bytes sit at
 * their chunk offsets, but a random writer touches a few KiB of each.
 * Counting whole buffers against the limit would let 32 MiB of scattered
 * 4 KiB writes over 64 chunks exhaust a 256 MiB limit and force an upload
 * per write.  So a fresh buffer is an untouched anonymous mapping (no
 * memory until written, huge pages off so a 4 KiB write costs 4 KiB), and
 * its owner charges each FS_WBMEM_UNIT it writes into before writing.
 *
 * A buffer that was written whole is kept resident when put back ("warm"):
 * sequential writers reuse it without page faults.  Idle warm buffers stay
 * charged (they are resident) and are unmapped first when a charge would
 * not fit.  The resident memory of all buffers is therefore at most the
 * limit, plus whatever was charged with force (see fs_wbmem_charge).
 *
 * Thread-safe; one mutex, never held while calling out.  Callers may hold
 * an inode lock (lock order: inode lock, then this one).
 */
#ifndef GN_FS_WBMEM_H
#define GN_FS_WBMEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Charging granularity: the data server's block size, so that the charge
 * of a scattered buffer also bounds what a partial update sends. */
#define FS_WBMEM_UNIT (64u << 10)

struct fs_wbmem;

/* A pool for limit bytes of write-back data.  -ENOMEM on failure. */
int fs_wbmem_new(size_t limit, struct fs_wbmem **out);
/* Every buffer must have been put back. */
void fs_wbmem_free(struct fs_wbmem *m);

/*
 * A GN_CHUNK_SIZE buffer, or NULL when none can be mapped.  *charged gets
 * the bytes of it already charged: GN_CHUNK_SIZE for a warm one (its old
 * contents are garbage, not zeros), 0 for a fresh one (reads as zeros).
 */
char *fs_wbmem_get(struct fs_wbmem *m, size_t *charged);

/*
 * Charge n bytes.  false (nothing charged) when they do not fit under the
 * limit even after unmapping the idle warm buffers, unless force: then
 * they are charged anyway (for the few rebuilds an upload must do).
 */
bool fs_wbmem_charge(struct fs_wbmem *m, size_t n, bool force);

/* Wait until n bytes would fit, or timeout_ms passed; true if they fit. */
bool fs_wbmem_wait(struct fs_wbmem *m, size_t n, int timeout_ms);

/*
 * Give buf back with its charge.  whole: its last owner wrote all of it,
 * so it is resident and worth keeping warm.  Wakes waiters.
 */
void fs_wbmem_put(struct fs_wbmem *m, char *buf, size_t charged, bool whole);

/* Bytes charged to buffers in use (idle warm ones left out): metrics. */
size_t fs_wbmem_used(struct fs_wbmem *m);

#endif
