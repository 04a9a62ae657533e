/* rpc_ns.c - namespace handlers: decode, validate, mds_ns_*, encode */
#include "config.h"
#include "mds/rpc_mds.h"
#include "common/log.h"
#include "common/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Decode the header's cred into `c` or fail the call. */
#define GET_CRED(h, c) do { \
		int ret_ = mds_rpc_begin(svc, (h), &(c)); \
		if (ret_) \
			return ret_; \
	} while (0)

/* An xattr name as text; past MDS_XATTR_NAME_MAX it is ERANGE, as Linux. */
#define XATTR_NAME(b, out) mds_rpc_text((b), MDS_XATTR_NAME_MAX, -ERANGE, (out))

/* first: NULL, or a Lookup's hint (version 0: none). */
static int reply_entry_first(struct mds *m, struct gn_rpc_call *call,
			     uint64_t session, uint64_t parent,
			     const struct db_inode *n, const struct mds_chunk *first)
{
	Gannet__EntryReply r = GANNET__ENTRY_REPLY__INIT;
	Gannet__ChunkInfo ci;
	uint32_t reps[DB_MAX_REPLICAS];
	Gannet__Attr a;
	int ret;

	mds_rpc_attr(n, &a);
	r.attr = &a;
	if (first && first->c.version) {
		mds_rpc_chunk(first, &ci, reps);
		r.first_chunk = &ci;
		r.n_servers = mds_rpc_servers(m, first, 1, &r.servers);
	}
	if (session && mds_session_known(m, session)) {
		mds_lease_grant(m, session, n->ino, false);
		if (parent)
			mds_lease_grant(m, session, parent, true);
		r.attr_lease_ms = (uint32_t)mds_lease_ms(m);
		r.entry_lease_ms = parent ? (uint32_t)mds_lease_ms(m) : 0;
	}
	ret = gn_rpc_reply(call, &r.base);
	mds_rpc_servers_free(r.servers, r.n_servers);
	return ret;
}

static int reply_entry(struct mds *m, struct gn_rpc_call *call, uint64_t session,
		       uint64_t parent, const struct db_inode *n)
{
	return reply_entry_first(m, call, session, parent, n, NULL);
}

/* The tail of every handler that made a new name: recall the leases the
 * change broke, then answer with the entry. */
static int created(struct mds *m, struct gn_rpc_call *call,
		   const Gannet__ReqHeader *h, uint64_t parent,
		   const struct db_inode *n, struct mds_changes *ch)
{
	mds_lease_recall(m, mds_rpc_session(h), ch);
	return reply_entry(m, call, mds_rpc_session(h), parent, n);
}

static int reply_attr(struct mds *m, struct gn_rpc_call *call, uint64_t session,
		      const struct db_inode *n)
{
	Gannet__AttrReply r = GANNET__ATTR_REPLY__INIT;
	Gannet__Attr a;

	mds_rpc_attr(n, &a);
	r.attr = &a;
	if (session && mds_session_known(m, session)) {
		mds_lease_grant(m, session, n->ino, false);
		r.attr_lease_ms = (uint32_t)mds_lease_ms(m);
	}
	return gn_rpc_reply(call, &r.base);
}

MDS_RPC_HANDLER(lookup)
{
	const Gannet__LookupRequest *q = (const void *)req;
	struct mds *m = svc;
	struct mds_cred c;
	struct db_inode n;
	struct mds_chunk first;
	char name[MDS_NAME_MAX + 1];
	int ret;

	GET_CRED(q->h, c);
	if ((ret = mds_rpc_name(&q->name, name)))
		return ret;
	ret = mds_ns_lookup_first(m, &c, q->parent, name, &n, &first);
	if (ret)
		return ret;
	return reply_entry_first(m, call, mds_rpc_session(q->h), q->parent, &n,
				 &first);
}

MDS_RPC_HANDLER(getattr)
{
	const Gannet__GetAttrRequest *q = (const void *)req;
	struct mds *m = svc;
	struct mds_cred c;
	struct db_inode n;
	int ret;

	GET_CRED(q->h, c);
	ret = mds_ns_getattr(m, q->ino, &n);
	if (ret)
		return ret;
	return reply_attr(m, call, mds_rpc_session(q->h), &n);
}

MDS_RPC_HANDLER(setattr)
{
	const Gannet__SetAttrRequest *q = (const void *)req;
	struct mds_changes ch = { 0 };
	struct mds_setattr sa = { 0 };
	struct mds *m = svc;
	struct mds_cred c;
	struct db_inode n;
	int ret;

	GET_CRED(q->h, c);
	if (q->valid & ~0x1ffu)
		return -EINVAL;
	sa.valid = q->valid;
	sa.mode = q->mode;
	sa.uid = q->uid;
	sa.gid = q->gid;
	sa.size = q->size;
	sa.atime = q->atime_ns;
	sa.mtime = q->mtime_ns;
	sa.ctime = q->ctime_ns;
	sa.handle = q->handle;
	sa.session = mds_rpc_session(q->h);
	if ((sa.valid & MDS_SET_SIZE) &&
	    sa.size > (MDS_MAX_CHUNK_INDEX + 1) * (uint64_t)(4 << 20))
		return -EFBIG;
	ret = mds_ns_setattr(m, &c, q->ino, &sa, &n, &ch);
	if (ret)
		return ret;
	mds_lease_recall(m, mds_rpc_session(q->h), &ch);
	return reply_attr(m, call, mds_rpc_session(q->h), &n);
}

MDS_RPC_HANDLER(mknod)
{
	const Gannet__MknodRequest *q = (const void *)req;
	struct mds_changes ch = { 0 };
	struct mds *m = svc;
	struct mds_cred c;
	struct db_inode n;
	char name[MDS_NAME_MAX + 1];
	int ret;

	GET_CRED(q->h, c);
	if ((ret = mds_rpc_name(&q->name, name)))
		return ret;
	ret = mds_ns_mknod(m, &c, q->parent, name, q->mode, q->rdev, q->umask, &n, &ch);
	if (ret)
		return ret;
	return created(m, call, q->h, q->parent, &n, &ch);
}

MDS_RPC_HANDLER(mkdir)
{
	const Gannet__MkdirRequest *q = (const void *)req;
	struct mds_changes ch = { 0 };
	struct mds *m = svc;
	struct mds_cred c;
	struct db_inode n;
	char name[MDS_NAME_MAX + 1];
	int ret;

	GET_CRED(q->h, c);
	if ((ret = mds_rpc_name(&q->name, name)))
		return ret;
	ret = mds_ns_mkdir(m, &c, q->parent, name, q->mode, q->umask, &n, &ch);
	if (ret)
		return ret;
	return created(m, call, q->h, q->parent, &n, &ch);
}

static int do_remove(void *svc, struct gn_rpc_call *call,
		     const ProtobufCMessage *req, bool dir)
{
	const Gannet__UnlinkRequest *q = (const void *)req;
	Gannet__UnlinkReply r = GANNET__UNLINK_REPLY__INIT;
	struct mds_changes ch = { 0 };
	struct mds *m = svc;
	struct mds_cred c;
	char name[MDS_NAME_MAX + 1];
	int ret;

	GET_CRED(q->h, c);
	if ((ret = mds_rpc_name(&q->name, name)))
		return ret;
	ret = dir ? mds_ns_rmdir(m, &c, q->parent, name, &ch) :
		    mds_ns_unlink(m, &c, q->parent, name, &ch);
	if (ret)
		return ret;
	mds_lease_recall(m, mds_rpc_session(q->h), &ch);
	return gn_rpc_reply(call, &r.base);
}

MDS_RPC_HANDLER(unlink)
{
	return do_remove(svc, call, req, false);
}

MDS_RPC_HANDLER(rmdir)
{
	return do_remove(svc, call, req, true);
}

MDS_RPC_HANDLER(rename)
{
	const Gannet__RenameRequest *q = (const void *)req;
	Gannet__RenameReply r = GANNET__RENAME_REPLY__INIT;
	struct mds_changes ch = { 0 };
	struct mds *m = svc;
	struct mds_cred c;
	char name[MDS_NAME_MAX + 1], new_name[MDS_NAME_MAX + 1];
	int ret;

	GET_CRED(q->h, c);
	if ((ret = mds_rpc_name(&q->name, name)) ||
	    (ret = mds_rpc_name(&q->new_name, new_name)))
		return ret;
	ret = mds_ns_rename(m, &c, q->parent, name, q->new_parent, new_name,
			    q->flags, &ch);
	if (ret)
		return ret;
	mds_lease_recall(m, mds_rpc_session(q->h), &ch);
	return gn_rpc_reply(call, &r.base);
}

MDS_RPC_HANDLER(link)
{
	const Gannet__LinkRequest *q = (const void *)req;
	struct mds_changes ch = { 0 };
	struct mds *m = svc;
	struct mds_cred c;
	struct db_inode n;
	char new_name[MDS_NAME_MAX + 1];
	int ret;

	GET_CRED(q->h, c);
	if ((ret = mds_rpc_name(&q->new_name, new_name)))
		return ret;
	ret = mds_ns_link(m, &c, q->ino, q->new_parent, new_name, &n, &ch);
	if (ret)
		return ret;
	return created(m, call, q->h, q->new_parent, &n, &ch);
}

MDS_RPC_HANDLER(symlink)
{
	const Gannet__SymlinkRequest *q = (const void *)req;
	struct mds_changes ch = { 0 };
	struct mds *m = svc;
	struct mds_cred c;
	struct db_inode n;
	char name[MDS_NAME_MAX + 1], target[MDS_SYMLINK_MAX + 1];
	int ret;

	GET_CRED(q->h, c);
	if ((ret = mds_rpc_name(&q->name, name)) ||
	    (ret = mds_rpc_text(&q->target, MDS_SYMLINK_MAX, -ENAMETOOLONG, target)))
		return ret;
	ret = mds_ns_symlink(m, &c, q->parent, name, target, &n, &ch);
	if (ret)
		return ret;
	return created(m, call, q->h, q->parent, &n, &ch);
}

MDS_RPC_HANDLER(readlink)
{
	const Gannet__ReadlinkRequest *q = (const void *)req;
	Gannet__ReadlinkReply r = GANNET__READLINK_REPLY__INIT;
	struct mds *m = svc;
	struct mds_cred c;
	char *target = NULL;
	int ret;

	GET_CRED(q->h, c);
	ret = mds_ns_readlink(m, &c, q->ino, &target);
	if (ret)
		return ret;
	r.target = target;
	ret = gn_rpc_reply(call, &r.base);
	free(target);
	return ret;
}

MDS_RPC_HANDLER(readdir)
{
	const Gannet__ReadDirRequest *q = (const void *)req;
	Gannet__ReadDirReply r = GANNET__READ_DIR_REPLY__INIT;
	struct mds *m = svc;
	struct mds_dirent *e = NULL;
	Gannet__DirEntry *de = NULL, **dp = NULL;
	Gannet__Attr *attrs = NULL;
	Gannet__ChunkInfo *ci = NULL;
	uint32_t (*reps)[DB_MAX_REPLICAS] = NULL;
	uint32_t *ids = NULL;
	uint64_t session = mds_rpc_session(q->h);
	struct mds_cred c;
	size_t n = 0, nids = 0;
	bool eof = false;
	int ret;

	GET_CRED(q->h, c);
	ret = mds_ns_readdir(m, &c, q->ino, q->cookie, q->max_entries, q->plus,
			     &e, &n, &eof);
	if (ret)
		return ret;
	de = xcalloc(n + 1, sizeof(*de));
	dp = xcalloc(n + 1, sizeof(*dp));
	attrs = xcalloc(n + 1, sizeof(*attrs));
	ci = xcalloc(n + 1, sizeof(*ci));
	reps = xcalloc(n + 1, sizeof(*reps));
	ids = xcalloc(n * DB_MAX_REPLICAS + 1, sizeof(*ids));
	for (size_t i = 0; i < n; i++) {
		gannet__dir_entry__init(&de[i]);
		de[i].name = e[i].name;
		de[i].ino = e[i].ino;
		de[i].type = e[i].type;
		de[i].cookie = e[i].cookie;
		if (q->plus && e[i].attr.ino) {
			mds_rpc_attr(&e[i].attr, &attrs[i]);
			de[i].attr = &attrs[i];
			mds_lease_grant(m, session, e[i].ino, false);
		}
		if (e[i].first.c.version) {
			mds_rpc_chunk(&e[i].first, &ci[i], reps[i]);
			de[i].first_chunk = &ci[i];
			for (size_t k = 0; k < ci[i].n_replicas; k++)
				ids[nids++] = reps[i][k];
		}
		dp[i] = &de[i];
	}
	r.n_servers = mds_rpc_servers_of(m, ids, nids, &r.servers);
	r.n_entries = n;
	r.entries = dp;
	r.eof = eof;
	if (session && mds_session_known(m, session)) {
		mds_lease_grant(m, session, q->ino, true);
		r.attr_lease_ms = q->plus ? (uint32_t)mds_lease_ms(m) : 0;
	}
	ret = gn_rpc_reply(call, &r.base);
	mds_rpc_servers_free(r.servers, r.n_servers);
	free(ids);
	free(reps);
	free(ci);
	free(attrs);
	free(dp);
	free(de);
	free(e);
	return ret;
}

MDS_RPC_HANDLER(setxattr)
{
	const Gannet__SetXattrRequest *q = (const void *)req;
	Gannet__XattrReply r = GANNET__XATTR_REPLY__INIT;
	struct mds_changes ch = { 0 };
	struct mds *m = svc;
	struct mds_cred c;
	char name[MDS_XATTR_NAME_MAX + 1];
	int ret;

	GET_CRED(q->h, c);
	if ((ret = XATTR_NAME(&q->name, name)))
		return ret;
	ret = mds_ns_setxattr(m, &c, q->ino, name, q->value.data, q->value.len,
			      q->flags, &ch);
	if (ret)
		return ret;
	mds_lease_recall(m, mds_rpc_session(q->h), &ch);
	return gn_rpc_reply(call, &r.base);
}

MDS_RPC_HANDLER(getxattr)
{
	const Gannet__GetXattrRequest *q = (const void *)req;
	Gannet__GetXattrReply r = GANNET__GET_XATTR_REPLY__INIT;
	struct mds *m = svc;
	struct mds_cred c;
	void *v = NULL;
	size_t len = 0;
	char name[MDS_XATTR_NAME_MAX + 1];
	int ret;

	GET_CRED(q->h, c);
	if ((ret = XATTR_NAME(&q->name, name)))
		return ret;
	ret = mds_ns_getxattr(m, &c, q->ino, name, &v, &len);
	if (ret)
		return ret;
	r.value.data = v;
	r.value.len = len;
	ret = gn_rpc_reply(call, &r.base);
	free(v);
	return ret;
}

MDS_RPC_HANDLER(listxattr)
{
	const Gannet__ListXattrRequest *q = (const void *)req;
	Gannet__ListXattrReply r = GANNET__LIST_XATTR_REPLY__INIT;
	struct mds *m = svc;
	struct mds_cred c;
	char *names = NULL, **v;
	size_t len = 0, cnt = 0, off = 0;
	int ret;

	GET_CRED(q->h, c);
	ret = mds_ns_listxattr(m, &c, q->ino, &names, &len, &cnt);
	if (ret)
		return ret;
	v = xcalloc(cnt + 1, sizeof(*v));
	for (size_t i = 0; i < cnt; i++) {
		v[i] = names + off;
		off += strlen(names + off) + 1;
	}
	r.n_names = cnt;
	r.names = v;
	ret = gn_rpc_reply(call, &r.base);
	free(v);
	free(names);
	return ret;
}

MDS_RPC_HANDLER(removexattr)
{
	const Gannet__GetXattrRequest *q = (const void *)req;
	Gannet__XattrReply r = GANNET__XATTR_REPLY__INIT;
	struct mds_changes ch = { 0 };
	struct mds *m = svc;
	struct mds_cred c;
	char name[MDS_XATTR_NAME_MAX + 1];
	int ret;

	GET_CRED(q->h, c);
	if ((ret = XATTR_NAME(&q->name, name)))
		return ret;
	ret = mds_ns_removexattr(m, &c, q->ino, name, &ch);
	if (ret)
		return ret;
	mds_lease_recall(m, mds_rpc_session(q->h), &ch);
	return gn_rpc_reply(call, &r.base);
}

MDS_RPC_HANDLER(statfs)
{
	const Gannet__StatFsRequest *q = (const void *)req;
	Gannet__StatFsReply r = GANNET__STAT_FS_REPLY__INIT;
	struct mds_statfs s;
	struct mds_cred c;
	int ret;

	GET_CRED(q->h, c);
	ret = mds_ns_statfs(svc, &s);
	if (ret)
		return ret;
	r.total_bytes = s.total;
	r.free_bytes = s.free;
	r.files = s.files;
	r.max_files = s.max_files;
	return gn_rpc_reply(call, &r.base);
}
