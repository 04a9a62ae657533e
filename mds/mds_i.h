/*
 * mds_i.h - private to mds/: the layout of struct mds and helpers shared
 * by the ns_*.c files.
 */
#ifndef MDS_MDS_I_H
#define MDS_MDS_I_H

#include "mds/mds.h"
#include "mds/hmap.h"

#include <inttypes.h>
#include <pthread.h>

#define MDS_MAX_DS 4096

/* A data server as the MDS knows it at run time. */
struct mds_ds {
	struct mds_ds_info info;	/* info.state: admin state or UP/DOWN */
	uint32_t admin;			/* 0, DRAINING or REMOVED (persisted) */
	int64_t last_hb_ms;		/* monotonic; 0 = never since start */
	bool up;
	/* Replicate orders waiting for its next heartbeat. */
	struct mds_rep_order {
		uint64_t chunk_id, version;
		uint32_t source_id;
	} *orders;
	size_t norders;
};

struct mds_session {
	uint64_t id;
	char client[128];
	char peer[64];
	int64_t opened_ns;
	int64_t last_seen_ms;		/* monotonic */
	uint32_t open_files;
	/* Queued recalls: invs[i] has seq first_seq + i. */
	struct mds_inval *invs;
	size_t ninvs, cap;
	uint64_t first_seq, seq, acked;
	int waiters;			/* heartbeats waiting on it */
	bool closed;
};

struct mds_handle {
	uint64_t id, session, ino;
	uint32_t flags;
};

struct mds_lease {
	uint64_t session;
	int64_t expiry_ms;
	struct mds_lease *next;
};

struct mds {
	struct mds_opts opts;
	char *data_dir;
	struct db *db;
	int64_t started_ns;

	/* Protects everything below. */
	pthread_mutex_t lock;
	pthread_cond_t cond;		/* recall queued or acked, session gone */
	struct hmap sessions;		/* id -> struct mds_session */
	struct hmap handles;		/* handle -> struct mds_handle */
	struct hmap opens;		/* ino -> (void *)(uintptr_t)count */
	struct hmap attr_leases;	/* ino -> struct mds_lease list */
	struct hmap entry_leases;	/* dir ino -> struct mds_lease list */
	struct hmap replicating;	/* chunk id -> expiry ms (as pointer) */
	struct hmap bad_replica;	/* chunk id -> ds id + 1 reported bad:
					   not a target for its new copy */
	struct mds_ds *ds[MDS_MAX_DS];	/* by id */
	uint64_t next_handle;
	uint64_t degraded, damaged;	/* of the last complete scan */
	int64_t last_scan_ms;
	int64_t last_lease_tick_ms;
	/* Incremental scan of the chunk maps (ticker thread only). */
	uint8_t scan_key[16];		/* resume at this chunk key */
	uint64_t scan_degraded, scan_damaged;

	pthread_t ticker;
	bool ticker_started, stop;
	pthread_cond_t stop_cond;
};

/* ns_inode.c: record access inside a txn. */
int ns_get_inode(struct db_txn *t, uint64_t ino, struct db_inode *out);
int ns_put_inode(struct db_txn *t, const struct db_inode *ino);
int ns_get_dir(struct db_txn *t, uint64_t ino, struct db_inode *out);
int ns_get_dirent(struct db_txn *t, uint64_t parent, const char *name,
		  struct db_dirent *out);
int ns_add_dirent(struct db_txn *t, struct db_inode *dir, const char *name,
		  uint64_t ino, uint32_t type);
int ns_del_dirent(struct db_txn *t, uint64_t parent, const char *name);
bool ns_dir_empty(struct db_txn *t, uint64_t dir);
int ns_new_inode(struct db_txn *t, struct mds *m, const struct mds_cred *c,
		 const struct db_inode *parent, uint32_t mode,
		 struct db_inode *out);
/* Truncate ino's chunk map to size (shrink drops chunks, shortens the
 * last; grow adds nothing). */
int ns_truncate(struct db_txn *t, struct db_inode *ino, uint64_t size);
/* Drop one link of a non-directory; reclaim or make an orphan at 0. */
int ns_drop_link(struct db_txn *t, struct mds *m, struct db_inode *ino,
		 int64_t now);
/* Delete the inode and everything it owns (chunk versions to delq). */
int ns_reclaim(struct db_txn *t, uint64_t ino);
int ns_queue_delete(struct db_txn *t, uint32_t ds, uint64_t chunk_id,
		    uint64_t version);
/* Forget the uncommitted allocation under key (chunk id + version) whose
 * row is pd; whatever its replicas stored goes to the deletion queue. */
int ns_pending_drop(struct db_txn *t, const uint8_t key[16],
		    const struct db_pending *pd);
int ns_sticky_ok(const struct mds_cred *c, const struct db_inode *dir,
		 const struct db_inode *victim);
void ns_change(struct mds_changes *ch, enum mds_inval_kind kind,
	       uint64_t ino, const char *name);
void ns_chunk_key(uint8_t key[16], uint64_t ino, uint64_t index);
/* A DB_CHUNK row's value v (vl bytes) for chunk `index` into out
 * (base_version 0); -EIO when it has the wrong size. */
int ns_chunk_row(uint64_t index, const void *v, size_t vl,
		 struct mds_chunk *out);
/* Chunk `index` of ino into out (base_version 0); -ENOENT for a hole. */
int ns_get_chunk(struct db_txn *t, uint64_t ino, uint64_t index,
		 struct mds_chunk *out);
/* For a regular file held whole in chunk 0, that chunk into *first (the
 * hint of readdir plus and Lookup replies); else first->c.version = 0. */
void ns_first_chunk(struct db_txn *t, const struct db_inode *n,
		    struct mds_chunk *first);
void ns_u64_key(uint8_t key[8], uint64_t v);

/* In-memory open counts (mds.c), under m->lock. */
int mds_opens_locked(struct mds *m, uint64_t ino);
/* Sessions that hold ino open (for the orphan row); *ids malloc'ed. */
void mds_open_sessions(struct mds *m, uint64_t ino, uint64_t **ids, size_t *n);
/* Register a handle of session (0: none) on ino into *id (session.c);
 * -EUNATCH when that session is not, or no longer, registered. */
int mds_handle_add(struct mds *m, uint64_t session, uint64_t ino,
		   uint32_t flags, uint64_t *id);
/* Unregister handle id (no-op when unknown). */
void mds_handle_del(struct mds *m, uint64_t id);
/*
 * The handle id as session may use it on ino, under m->lock: 0 with *out
 * set; -ENOENT when the MDS has no such handle (it was opened before a
 * restart); -EBADF when it is another inode's or another session's.
 * A client must not close, write through or truncate through a handle
 * of another session (a mistaken or stale id): this check is against
 * such mistakes, not a hostile host, which can name any session (see
 * gannet(7), security).
 */
int mds_handle_get_locked(struct mds *m, uint64_t session, uint64_t id,
			  uint64_t ino, struct mds_handle **out);
/* Reclaim an orphan if nothing holds it any more (write txn). */
int mds_orphan_release(struct mds *m, uint64_t ino, uint64_t session);
/* Choose up to want (<= DB_MAX_REPLICAS) distinct servers among the up,
 * non-draining ones, weighted by free space; returns how many (ns_ds.c). */
int mds_ds_choose(struct mds *m, uint32_t want, uint32_t *out);
bool mds_ds_is_live(struct mds *m, uint32_t id);
void mds_ds_tick(struct mds *m);
int mds_ds_load(struct mds *m);
void mds_session_tick(struct mds *m);
void mds_lease_tick(struct mds *m);
int mds_session_load(struct mds *m);
void mds_session_free_all(struct mds *m);

#endif
