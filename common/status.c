/* status.c - the one errno <-> gRPC status table; see status.h */
#include "config.h"
#include "common/status.h"

#include <errno.h>
#include <string.h>

/*
 * errno -> status.  The first row for a status is also the errno a status
 * maps back to when the peer sent no exact errno (gn-errno metadata).
 */
static const struct {
	int err;
	enum gn_status st;
} table[] = {
	{ EINVAL, GN_STATUS_INVALID_ARGUMENT },
	{ ETIMEDOUT, GN_STATUS_DEADLINE_EXCEEDED },
	{ ENOENT, GN_STATUS_NOT_FOUND },
	{ EEXIST, GN_STATUS_ALREADY_EXISTS },
	{ EACCES, GN_STATUS_PERMISSION_DENIED },
	{ ENOSPC, GN_STATUS_RESOURCE_EXHAUSTED },
	{ ENOTEMPTY, GN_STATUS_FAILED_PRECONDITION },
	{ EAGAIN, GN_STATUS_ABORTED },
	{ EFBIG, GN_STATUS_OUT_OF_RANGE },
	{ ENOSYS, GN_STATUS_UNIMPLEMENTED },
	{ EIO, GN_STATUS_INTERNAL },
	{ EHOSTUNREACH, GN_STATUS_UNAVAILABLE },
	{ GN_ERR_CKSUM, GN_STATUS_DATA_LOSS },
	{ ECANCELED, GN_STATUS_CANCELLED },
	{ EPERM, GN_STATUS_PERMISSION_DENIED },
	{ EROFS, GN_STATUS_PERMISSION_DENIED },
	{ ESTALE, GN_STATUS_NOT_FOUND },
	{ ENAMETOOLONG, GN_STATUS_INVALID_ARGUMENT },
	{ ENOTDIR, GN_STATUS_FAILED_PRECONDITION },
	{ EISDIR, GN_STATUS_FAILED_PRECONDITION },
	{ EXDEV, GN_STATUS_FAILED_PRECONDITION },
	{ EBUSY, GN_STATUS_FAILED_PRECONDITION },
	{ ELOOP, GN_STATUS_FAILED_PRECONDITION },
	{ EMLINK, GN_STATUS_RESOURCE_EXHAUSTED },
	{ EDQUOT, GN_STATUS_RESOURCE_EXHAUSTED },
	{ ENOMEM, GN_STATUS_RESOURCE_EXHAUSTED },
	{ EMSGSIZE, GN_STATUS_RESOURCE_EXHAUSTED },
	{ E2BIG, GN_STATUS_RESOURCE_EXHAUSTED },
	{ ERANGE, GN_STATUS_OUT_OF_RANGE },
	{ ENODATA, GN_STATUS_NOT_FOUND },
	{ EBADF, GN_STATUS_FAILED_PRECONDITION },
	{ ENOTCONN, GN_STATUS_UNAVAILABLE },
	{ ECONNREFUSED, GN_STATUS_UNAVAILABLE },
	{ EOPNOTSUPP, GN_STATUS_UNIMPLEMENTED },
	{ GN_ERR_BADMSG, GN_STATUS_INVALID_ARGUMENT },
	{ EBADMSG, GN_STATUS_INVALID_ARGUMENT },
	{ GN_ERR_STALE_VERSION, GN_STATUS_FAILED_PRECONDITION },
	{ EPROTO, GN_STATUS_INTERNAL },
	{ EUNATCH, GN_STATUS_UNAUTHENTICATED },
};

#define NTABLE (sizeof(table) / sizeof(table[0]))

enum gn_status gn_errno_to_status(int err)
{
	if (err < 0)
		err = -err;
	if (err == 0)
		return GN_STATUS_OK;
	for (size_t i = 0; i < NTABLE; i++)
		if (table[i].err == err)
			return table[i].st;
	return GN_STATUS_UNKNOWN;
}

int gn_status_to_errno(enum gn_status st)
{
	if (st == GN_STATUS_OK)
		return 0;
	for (size_t i = 0; i < NTABLE; i++)
		if (table[i].st == st)
			return -table[i].err;
	return -EIO;
}

const char *gn_status_name(enum gn_status st)
{
	static const char *const names[] = {
		"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT",
		"DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
		"PERMISSION_DENIED", "RESOURCE_EXHAUSTED",
		"FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
		"UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
		"UNAUTHENTICATED",
	};
	if ((unsigned)st < sizeof(names) / sizeof(names[0]))
		return names[st];
	return "UNKNOWN";
}

const char *gn_strerror(int err)
{
	if (err < 0)
		err = -err;
	switch (err) {
	case GN_ERR_BADMSG: return "malformed message";
	case GN_ERR_CKSUM: return "checksum mismatch";
	case GN_ERR_STALE_VERSION: return "chunk version is older than the stored one";
	default: return strerror(err);
	}
}

int gn_errno_posix(int err)
{
	if (err < 0)
		err = -err;
	if (err >= GN_ERR_BASE)
		return err == GN_ERR_BADMSG ? EPROTO : EIO;
	return err;
}
