/* rpc_table.c - the Mds service: one row per method (STYLE.md 6) */
#include "config.h"
#include "mds/rpc_mds.h"
#include "common/log.h"
#include "common/util.h"

#include <errno.h>
#include <string.h>

/* Bad input is answered with its errno and logged once, here. */
static int rpc_logged(const char *method, struct gn_rpc_call *call, int ret)
{
	switch (ret) {
	case -EINVAL:
	case -ENAMETOOLONG:
	case -E2BIG:
	case -EFBIG:
	case -ERANGE:
		log_info("rejected request method=%s peer=%s err='%s'", method,
			 gn_rpc_call_peer(call), strerror(-ret));
		break;
	default:
		break;
	}
	return ret;
}

#define THUNK(method, fn) \
	static int thunk_##fn(void *svc, struct gn_rpc_call *call, \
			      const ProtobufCMessage *req, const struct gn_bulk *data) \
	{ \
		return rpc_logged(method, call, mds_rpc_##fn(svc, call, req, data)); \
	}
THUNK("SessionOpen", session_open)
THUNK("SessionHeartbeat", session_heartbeat)
THUNK("SessionClose", session_close)
THUNK("Lookup", lookup)
THUNK("GetAttr", getattr)
THUNK("SetAttr", setattr)
THUNK("Mknod", mknod)
THUNK("Mkdir", mkdir)
THUNK("Unlink", unlink)
THUNK("Rmdir", rmdir)
THUNK("Rename", rename)
THUNK("Link", link)
THUNK("Symlink", symlink)
THUNK("Readlink", readlink)
THUNK("ReadDir", readdir)
THUNK("SetXattr", setxattr)
THUNK("GetXattr", getxattr)
THUNK("ListXattr", listxattr)
THUNK("RemoveXattr", removexattr)
THUNK("StatFs", statfs)
THUNK("Open", open)
THUNK("Create", create)
THUNK("GetChunks", getchunks)
THUNK("AllocateChunks", allocate_chunks)
THUNK("CommitWrite", commit_write)
THUNK("Close", close)
THUNK("ReportBadChunk", report_bad_chunk)
THUNK("GetPolicy", get_policy)
THUNK("SetPolicy", set_policy)
THUNK("DsRegister", ds_register)
THUNK("DsHeartbeat", ds_heartbeat)
THUNK("DsReplicated", ds_replicated)
THUNK("ListDs", list_ds)
THUNK("DsAdmin", ds_admin)
THUNK("ListSessions", list_sessions)
THUNK("Status", status)
THUNK("ListDegraded", list_degraded)

#define ROW(method, reqtype, fn) \
	{ "/gannet.Mds/" method, &gannet__##reqtype##__descriptor, thunk_##fn }

static const struct gn_rpc_method methods[] = {
	ROW("SessionOpen", session_open_request, session_open),
	ROW("SessionHeartbeat", session_heartbeat_request, session_heartbeat),
	ROW("SessionClose", session_close_request, session_close),
	ROW("Lookup", lookup_request, lookup),
	ROW("GetAttr", get_attr_request, getattr),
	ROW("SetAttr", set_attr_request, setattr),
	ROW("Mknod", mknod_request, mknod),
	ROW("Mkdir", mkdir_request, mkdir),
	ROW("Unlink", unlink_request, unlink),
	ROW("Rmdir", unlink_request, rmdir),
	ROW("Rename", rename_request, rename),
	ROW("Link", link_request, link),
	ROW("Symlink", symlink_request, symlink),
	ROW("Readlink", readlink_request, readlink),
	ROW("ReadDir", read_dir_request, readdir),
	ROW("SetXattr", set_xattr_request, setxattr),
	ROW("GetXattr", get_xattr_request, getxattr),
	ROW("ListXattr", list_xattr_request, listxattr),
	ROW("RemoveXattr", get_xattr_request, removexattr),
	ROW("StatFs", stat_fs_request, statfs),
	ROW("Open", open_request, open),
	ROW("Create", create_request, create),
	ROW("GetChunks", get_chunks_request, getchunks),
	ROW("AllocateChunks", allocate_chunks_request, allocate_chunks),
	ROW("CommitWrite", commit_write_request, commit_write),
	ROW("Close", close_request, close),
	ROW("ReportBadChunk", report_bad_chunk_request, report_bad_chunk),
	ROW("GetPolicy", policy_request, get_policy),
	ROW("SetPolicy", policy_request, set_policy),
	ROW("DsRegister", ds_register_request, ds_register),
	ROW("DsHeartbeat", ds_heartbeat_request, ds_heartbeat),
	ROW("DsReplicated", ds_replicated_request, ds_replicated),
	ROW("ListDs", list_ds_request, list_ds),
	ROW("DsAdmin", ds_admin_request, ds_admin),
	ROW("ListSessions", list_sessions_request, list_sessions),
	ROW("Status", status_request, status),
	ROW("ListDegraded", list_degraded_request, list_degraded),
};

const struct gn_rpc_method *mds_rpc_methods(size_t *n)
{
	*n = GN_ARRAY_SIZE(methods);
	return methods;
}
