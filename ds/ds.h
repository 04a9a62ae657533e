/*
 * ds.h - the data server: one chunk store served over RPC, linked to the
 * MDS, with a scrubber.  main.c parses the configuration and calls
 * ds_start() / ds_stop(); the pieces below share struct ds.
 *
 *   store*.c      the chunk store (store.h)
 *   rpc_chunk.c   the Ds service handlers; rpc_table.c lists them
 *   replicate.c   copying a version from a peer (ReplicateChunk and the
 *                 MDS's replicate orders)
 *   mdslink.c     registration, heartbeats, deletions, orders, reports
 *   scrub.c       background re-verification
 *   server.c      start-up and shutdown of all of it
 */
#ifndef DS_DS_H
#define DS_DS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/conf.h"
#include "common/rpc.h"
#include "ds/store.h"

struct ds_mdslink;
struct ds_scrub;
struct gn_metric;

/* A cached channel to a peer data server (or the MDS). */
struct ds_peer {
	struct ds_peer *next;
	char *addr;
	struct gn_rpc_channel *ch;
};

struct ds_opts {
	const char *listen;		/* "host:port" */
	const char *advertise;		/* "" = derived from listen */
	const char *data_dir;
	const char *mds;		/* "host:port" */
	int workers;
	uint64_t reserve;
	uint64_t scrub_rate;		/* bytes/s, 0 = off */
	int64_t scrub_interval_s;	/* pass start to pass start; 0 = none */
	int zstd_level;
	int heartbeat_ms;
	int metrics_port;		/* 0 = off */
	const char *port_file;		/* NULL = none */
};

struct ds {
	struct ds_opts o;		/* strings owned (copied) */
	char *advertise;		/* "host:port" others reach us at */
	int port;			/* bound RPC port */
	struct ds_store *store;
	struct gn_rpc_server *srv;
	struct gn_rpc_client *cli;
	pthread_mutex_t peers_lock;
	struct ds_peer *peers;
	struct ds_mdslink *link;
	struct ds_scrub *scrub;

	atomic_uint id;			/* from the MDS, 0 until registered */
	atomic_bool draining;
	atomic_uint_fast64_t scrubbed_blocks;
	atomic_uint_fast64_t bad_blocks;
	atomic_int fwd_inflight;	/* chain forwards not yet completed */

	struct {
		struct gn_metric *read_bytes, *written_bytes;
		struct gn_metric *err_cksum, *err_io, *err_enospc;
		struct gn_metric *scrubbed_blocks, *bad_blocks;
		struct gn_metric *chunks, *capacity, *free, *stored;
	} m;
};

/* Start everything: open the store, serve RPC (the bound port goes to
 * o->port_file), start the MDS link and the scrubber.  The MDS being
 * unreachable is not an error.  On failure everything started is stopped
 * and a negative errno returned (logged here). */
int ds_start(const struct ds_opts *o, struct ds **out);
/* Stop serving (in-flight calls finish within a grace period), stop the
 * background threads, close the store.  NULL is fine. */
void ds_stop(struct ds *ds);

/* The channel to addr, created on first use; valid until ds_stop(). */
int ds_peer_channel(struct ds *ds, const char *addr,
		    struct gn_rpc_channel **out);

/* The handler table (rpc_table.c). */
extern const struct gn_rpc_method ds_rpc_methods[];
extern const size_t ds_rpc_nmethods;

int ds_rpc_write_chunk(void *svc, struct gn_rpc_call *call,
		       const ProtobufCMessage *req, const struct gn_bulk *data);
int ds_rpc_read_chunk(void *svc, struct gn_rpc_call *call,
		      const ProtobufCMessage *req, const struct gn_bulk *data);
int ds_rpc_delete_chunk(void *svc, struct gn_rpc_call *call,
			const ProtobufCMessage *req, const struct gn_bulk *data);
int ds_rpc_replicate_chunk(void *svc, struct gn_rpc_call *call,
			   const ProtobufCMessage *req, const struct gn_bulk *data);
int ds_rpc_list_chunks(void *svc, struct gn_rpc_call *call,
		       const ProtobufCMessage *req, const struct gn_bulk *data);
int ds_rpc_stat(void *svc, struct gn_rpc_call *call,
		const ProtobufCMessage *req, const struct gn_bulk *data);

/*
 * Copy chunk_id/version from the data server at source: ReadChunk of the
 * whole version, verify every block, store it with the source's
 * compression.  Blocks; any thread.  *stat (if not NULL) describes the
 * stored copy.  When the version is already here and verifies, nothing is
 * fetched.  detail (if not NULL) gets a message on failure.
 */
int ds_replicate(struct ds *ds, uint64_t chunk_id, uint64_t version,
		 const char *source, struct ds_chunk_stat *stat,
		 char *detail, size_t detail_len);

/* MDS link (mdslink.c). */
int ds_mdslink_start(struct ds *ds, struct ds_mdslink **out);
void ds_mdslink_stop(struct ds_mdslink *l);
/* Queue a ReportBadChunk; never blocks on the network. */
void ds_mdslink_report_bad(struct ds_mdslink *l, uint64_t chunk_id,
			   uint64_t version, const char *reason);

/* Scrubber (scrub.c): rate in bytes/s, > 0; a pass starts at start-up and
 * then at most every interval_s seconds (0: as soon as one ends). */
int ds_scrub_start(struct ds *ds, uint64_t rate, int64_t interval_s,
		   struct ds_scrub **out);
void ds_scrub_stop(struct ds_scrub *s);

/* Fill a DsInfo's numbers (id, addr, state, capacity, free, chunks, uuid).
 * Strings point into ds. */
struct Gannet__DsInfo;
void ds_fill_info(struct ds *ds, struct Gannet__DsInfo *info);

#endif
