/*
 * db.h - the MDS store: LMDB behind a small key/value interface, with a
 * group-commit writer.  Only mds/db*.c include <lmdb.h>; everything else
 * uses the opaque types below.
 *
 * SCHEMA.  One LMDB environment (data_dir/data.mdb) with these named
 * databases.  Integer keys are big-endian so that LMDB's byte order is the
 * numeric order; values are the host-order structs below (an MDS store is
 * not moved between machines of different endianness).
 *
 *  table        key                          value
 *  -----        ---                          -----
 *  inode        ino (8)                      struct db_inode
 *  dirent       parent (8) + name            struct db_dirent
 *  dirseq       parent (8) + seq (8)         struct db_dirent + name: the
 *                                            readdir order; seq is the
 *                                            cookie (per-directory insert
 *                                            counter, db_inode.dir_seq)
 *  symlink      ino (8)                      target bytes
 *  xattr        ino (8) + name               value bytes
 *  chunk        ino (8) + index (8)          struct db_chunk
 *  chunkidx     chunk_id (8)                 ino (8) + index (8)
 *  session      session id (8)               struct db_session + client
 *  orphan       ino (8)                      session ids (8 each) that had
 *                                            it open when it was unlinked
 *  ds           ds id (4)                    struct db_ds + addr
 *  dsuuid       uuid string                  ds id (4)
 *  counter      name string                  uint64_t ("ino", "chunk",
 *                                            "version", "ds", "session")
 *  delq         ds id (4) + chunk (8) + ver (8)  empty: a version to delete
 *                                            on that data server
 *  pending      chunk id (8) + version (8)   struct db_pending: allocated,
 *                                            not yet committed
 *
 * Invariants (checked by gannet-mds --check): every dirent names an
 * inode; dirseq and dirent agree; nlink of a file = number of dirents
 * naming it (0 only for orphans), nlink of a directory = 2 + its
 * subdirectories; every inode but the root and orphans is named; chunk
 * replicas name registered data servers; chunkidx agrees with chunk.
 *
 * THREADS.  Any thread may read (db_read_begin .. db_txn_end, never
 * across a network wait).  Writes go through db_write(), which queues a
 * closure for the single committer thread; see there.
 */
#ifndef MDS_DB_H
#define MDS_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum db_table {
	DB_INODE, DB_DIRENT, DB_DIRSEQ, DB_SYMLINK, DB_XATTR, DB_CHUNK,
	DB_CHUNKIDX, DB_SESSION, DB_ORPHAN, DB_DS, DB_DSUUID, DB_COUNTER,
	DB_DELQ, DB_PENDING,
	DB__COUNT
};

#define DB_MAX_REPLICAS 8

/* An inode.  Times are ns since the epoch. */
struct db_inode {
	uint64_t ino;
	uint32_t mode;		/* S_IFMT | 07777 */
	uint32_t nlink;
	uint32_t uid, gid;
	uint64_t rdev;
	uint64_t size;
	int64_t atime, mtime, ctime;
	uint64_t generation;
	uint64_t parent;	/* directories: the parent (root: itself) */
	uint64_t dir_seq;	/* directories: last readdir cookie given */
	uint32_t replicas;	/* policy: directories set it, files inherit */
	uint32_t compression;	/* 0 none, 1 zstd */
	uint64_t blocks;	/* 512-byte units of chunk data (pre-replica) */
};

struct db_dirent {
	uint64_t ino;
	uint32_t type;		/* S_IFMT bits of the child */
	uint32_t pad;
	uint64_t seq;		/* key of its dirseq row */
};

struct db_chunk {
	uint64_t chunk_id;
	uint64_t version;
	uint64_t digest;
	uint32_t length;
	uint32_t compression;
	uint32_t nreplicas;
	uint32_t replicas[DB_MAX_REPLICAS];
};

struct db_session {
	uint64_t id;
	int64_t opened_ns;
	/* followed by the client string */
};

struct db_ds {
	uint32_t id;
	uint32_t admin;		/* 0 normal, 2 draining, 3 removed (DsInfo.State) */
	uint64_t capacity, free, chunks;	/* last reported */
	char uuid[64];
	/* followed by the address string */
};

struct db_pending {
	uint64_t ino;
	uint64_t index;
	uint64_t session;
	int64_t time_ns;
	uint32_t nreplicas;
	uint32_t replicas[DB_MAX_REPLICAS];
};

struct db;
struct db_txn;
struct db_cursor;

struct db_opts {
	const char *dir;	/* existing directory */
	uint64_t map_size;	/* initial map size, bytes */
	uint64_t max_map_size;	/* growth limit; 0 = while the disk has room */
	bool group_commit;	/* batch concurrent writes into one txn */
	bool read_only;		/* --check: no committer thread */
};

/* Open (creating if needed) the store; *out only on success.  Starts the
 * committer thread unless read_only.  -errno on failure. */
int db_open(const struct db_opts *opts, struct db **out);
/* Stop the committer (queued writes finish first) and close. */
void db_close(struct db *db);

/* A read transaction: a consistent snapshot.  End it quickly. */
int db_read_begin(struct db *db, struct db_txn **out);
void db_txn_end(struct db_txn *txn);

/*
 * Run fn(txn, arg) in a write transaction and return once the change is
 * durable (synced), or failed.  fn's negative return aborts its own
 * changes only (it runs in a nested transaction) and is returned.  With
 * group commit, closures queued by concurrent callers share one commit and
 * one sync.  A full map grows it and retries fn; when it cannot grow,
 * -ENOSPC with nothing changed.  fn must not block on anything but the
 * store and must not call db_write itself.  Blocks the caller.
 */
typedef int (*db_write_fn)(struct db_txn *txn, void *arg);
int db_write(struct db *db, db_write_fn fn, void *arg);

/* Values returned by db_get and cursors point into the map: valid until
 * the next write in this txn or the end of the txn.  Copy them. */
int db_get(struct db_txn *txn, enum db_table t, const void *key, size_t klen,
	   const void **val, size_t *vlen);		/* -ENOENT */
enum db_put_flags { DB_NOOVERWRITE = 1 << 0 };
int db_put(struct db_txn *txn, enum db_table t, const void *key, size_t klen,
	   const void *val, size_t vlen, unsigned flags);	/* -EEXIST */
int db_del(struct db_txn *txn, enum db_table t, const void *key, size_t klen);
/* Number of rows in a table. */
uint64_t db_count(struct db_txn *txn, enum db_table t);

/* Cursors: seek to the first key >= key, then next.  -ENOENT at the end. */
int db_cursor_open(struct db_txn *txn, enum db_table t, struct db_cursor **out);
int db_cursor_seek(struct db_cursor *c, const void *key, size_t klen,
		   const void **k, size_t *kl, const void **v, size_t *vl);
int db_cursor_next(struct db_cursor *c, const void **k, size_t *kl,
		   const void **v, size_t *vl);
/* Delete the row under the cursor. */
int db_cursor_del(struct db_cursor *c);
void db_cursor_close(struct db_cursor *c);

/* Counters (table counter): *out = stored + 1, stored = *out. */
int db_counter_next(struct db_txn *txn, const char *name, uint64_t *out);
int db_counter_get(struct db_txn *txn, const char *name, uint64_t *out);

struct db_stats {
	uint64_t commits;	/* write txns committed */
	uint64_t ops;		/* closures run */
	uint64_t map_size, map_used;
};
void db_get_stats(struct db *db, struct db_stats *st);

/* Big-endian key helpers. */
static inline void db_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}
static inline uint64_t db_get_be64(const void *vp)
{
	const uint8_t *p = vp;
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}
static inline void db_be32(uint8_t *p, uint32_t v)
{
	for (int i = 3; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}
static inline uint32_t db_get_be32(const void *vp)
{
	const uint8_t *p = vp;
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

#endif
