/*
 * status.h - errors: 0 / negative errno everywhere, converted to and from
 * gRPC status codes only at the RPC boundary (common/rpc.c) with the one
 * table in status.c.
 *
 * Gannet-specific conditions use errno values in a reserved range
 * (GN_ERR_BASE...) with gn_strerror() describing them (like LMDB's MDB_*).
 */
#ifndef GN_STATUS_H
#define GN_STATUS_H

/* gRPC status codes, repeated here so callers need not include gRPC. */
enum gn_status {
	GN_STATUS_OK = 0,
	GN_STATUS_CANCELLED = 1,
	GN_STATUS_UNKNOWN = 2,
	GN_STATUS_INVALID_ARGUMENT = 3,
	GN_STATUS_DEADLINE_EXCEEDED = 4,
	GN_STATUS_NOT_FOUND = 5,
	GN_STATUS_ALREADY_EXISTS = 6,
	GN_STATUS_PERMISSION_DENIED = 7,
	GN_STATUS_RESOURCE_EXHAUSTED = 8,
	GN_STATUS_FAILED_PRECONDITION = 9,
	GN_STATUS_ABORTED = 10,
	GN_STATUS_OUT_OF_RANGE = 11,
	GN_STATUS_UNIMPLEMENTED = 12,
	GN_STATUS_INTERNAL = 13,
	GN_STATUS_UNAVAILABLE = 14,
	GN_STATUS_DATA_LOSS = 15,
	GN_STATUS_UNAUTHENTICATED = 16,
};

/* Gannet's own codes (positive values; functions return them negated). */
#define GN_ERR_BASE		4000
#define GN_ERR_BADMSG		(GN_ERR_BASE + 1)	/* malformed message */
#define GN_ERR_CKSUM		(GN_ERR_BASE + 2)	/* checksum mismatch */
#define GN_ERR_STALE_VERSION	(GN_ERR_BASE + 3)	/* chunk version too old */
#define GN_ERR_LAST		GN_ERR_STALE_VERSION

/* Status for a negative errno (-ENOENT -> NOT_FOUND); 0 -> OK. */
enum gn_status gn_errno_to_status(int err);
/* Negative errno for a status when no exact errno was sent. */
int gn_status_to_errno(enum gn_status st);
/* "NOT_FOUND", ... */
const char *gn_status_name(enum gn_status st);
/* Like strerror(), for negative or positive errno and GN_ERR_* codes. */
const char *gn_strerror(int err);
/* Errno to hand to applications for any code (GN_ERR_* -> EIO, ...). */
int gn_errno_posix(int err);

#endif
