/* mdsc.c - see mdsc.h */
#include "config.h"
#include "fs/mdsc.h"
#include "common/log.h"
#include "common/status.h"
#include "common/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const struct fs_cred fs_cred_root = { 0, 0, 0, 0, { 0 } };

/* The MDS (or the path to it) is down: worth another attempt. */
static bool is_unreachable(int err)
{
	return err == -EHOSTUNREACH || err == -ENOTCONN ||
	       err == -ECONNREFUSED || err == -ECONNRESET;
}

/* The MDS does not know our session (it restarted, or expired us). */
static bool is_session_lost(int err)
{
	return err == -EUNATCH;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

int mdsc_call(struct fs_session *s, const struct fs_cred *cred,
	      const char *method, ProtobufCMessage *req,
	      Gannet__ReqHeader **hslot,
	      const ProtobufCMessageDescriptor *reply_desc, unsigned flags,
	      int timeout_ms, struct gn_rpc_result *res)
{
	Gannet__ReqHeader h = GANNET__REQ_HEADER__INIT;
	Gannet__Cred c = GANNET__CRED__INIT;
	int64_t deadline = gn_mono_ms() + s->conf->op_timeout_ms;
	int backoff = 50, ret, reopened = 0;
	uint64_t epoch;

	c.uid = cred->uid;
	c.gid = cred->gid;
	c.pid = cred->pid;
	c.n_groups = cred->ngroups;
	c.groups = (uint32_t *)cred->groups;
	h.cred = &c;
	*hslot = &h;
	if (timeout_ms <= 0)
		timeout_ms = (int)s->conf->timeout_ms;
	for (;;) {
		struct gn_rpc_callopts o = { 0 };
		int64_t left = deadline - gn_mono_ms();

		pthread_mutex_lock(&s->lock);
		h.request_id = ++s->next_req_id;
		h.session_id = s->session_id;
		epoch = s->epoch;
		pthread_mutex_unlock(&s->lock);
		o.timeout_ms = (int)GN_MAX(1, GN_MIN((int64_t)timeout_ms, left));
		h.deadline_ms = (uint32_t)o.timeout_ms;
		memset(res, 0, sizeof(*res));
		{
			int64_t t0 = gn_mono_ns();

			ret = gn_rpc_call(s->mds, method, req, NULL, 0, reply_desc, &o, res);
			log_debug("mds call method=%s err=%d us=%lld", method, ret,
				  (long long)(gn_mono_ns() - t0) / 1000);
		}
		if (!ret)
			break;
		gn_rpc_result_release(res);
		if (is_session_lost(ret) && !(flags & MDSC_NO_SESSION) &&
		    reopened < 3) {
			reopened++;
			if (fs_session_reopen(s, epoch) == 0)
				continue;
		}
		if (!is_unreachable(ret) &&
		    !(ret == -ETIMEDOUT && (flags & MDSC_IDEMPOTENT)))
			break;
		left = deadline - gn_mono_ms();
		if (left <= 0) {
			log_warn("metadata server unreachable addr=%s method=%s err='%s'",
				 s->mds_addr, method, gn_strerror(ret));
			ret = -ETIMEDOUT;
			break;
		}
		sleep_ms((int)GN_MIN((int64_t)backoff, left));
		backoff = GN_MIN(backoff * 2, 1000);
	}
	*hslot = NULL;
	return ret;
}

int fs_attr_from_pb(const Gannet__Attr *a, struct fs_attr *out)
{
	struct stat *st = &out->st;

	if (!a)
		return -EBADMSG;
	memset(out, 0, sizeof(*out));
	switch (a->mode & S_IFMT) {
	case S_IFREG: case S_IFDIR: case S_IFLNK: case S_IFIFO:
	case S_IFSOCK: case S_IFCHR: case S_IFBLK:
		break;
	default:
		return -EBADMSG;
	}
	st->st_ino = a->ino;
	st->st_mode = a->mode;
	st->st_nlink = a->nlink;
	st->st_uid = a->uid;
	st->st_gid = a->gid;
	st->st_rdev = a->rdev;
	st->st_size = (off_t)a->size;
	st->st_blocks = (blkcnt_t)a->blocks;
	st->st_blksize = GN_CHUNK_SIZE;
	st->st_atim.tv_sec = a->atime_ns / 1000000000;
	st->st_atim.tv_nsec = a->atime_ns % 1000000000;
	st->st_mtim.tv_sec = a->mtime_ns / 1000000000;
	st->st_mtim.tv_nsec = a->mtime_ns % 1000000000;
	st->st_ctim.tv_sec = a->ctime_ns / 1000000000;
	st->st_ctim.tv_nsec = a->ctime_ns % 1000000000;
	if (st->st_atim.tv_nsec < 0) { st->st_atim.tv_sec--; st->st_atim.tv_nsec += 1000000000; }
	if (st->st_mtim.tv_nsec < 0) { st->st_mtim.tv_sec--; st->st_mtim.tv_nsec += 1000000000; }
	if (st->st_ctim.tv_nsec < 0) { st->st_ctim.tv_sec--; st->st_ctim.tv_nsec += 1000000000; }
	out->generation = a->generation;
	return 0;
}

#define CALL(s, c, m, req, rdesc, fl, res) \
	mdsc_call((s), (c), "/gannet.Mds/" m, &(req).base, &(req).h, \
		  &gannet__##rdesc##__descriptor, (fl), 0, (res))

/* Decode an EntryReply into out and release res. */
static int entry_out(int ret, struct gn_rpc_result *res, struct fs_attr *out)
{
	Gannet__EntryReply *r;

	if (ret)
		return ret;
	r = (Gannet__EntryReply *)res->reply;
	ret = fs_attr_from_pb(r->attr, out);
	if (!ret) {
		out->attr_lease_ms = r->attr_lease_ms;
		out->entry_lease_ms = r->entry_lease_ms;
	}
	gn_rpc_result_release(res);
	return ret;
}

static int attr_out(int ret, struct gn_rpc_result *res, struct fs_attr *out)
{
	Gannet__AttrReply *r;

	if (ret)
		return ret;
	r = (Gannet__AttrReply *)res->reply;
	ret = fs_attr_from_pb(r->attr, out);
	if (!ret)
		out->attr_lease_ms = r->attr_lease_ms;
	gn_rpc_result_release(res);
	return ret;
}

int mdsc_lookup(struct fs_session *s, const struct fs_cred *c, uint64_t parent,
		const char *name, struct fs_attr *out, struct fs_chunk *hint)
{
	Gannet__LookupRequest req = GANNET__LOOKUP_REQUEST__INIT;
	struct gn_rpc_result res;
	Gannet__EntryReply *r;
	int ret;

	req.parent = parent;
	req.name = gn_rpc_str(name);
	ret = CALL(s, c, "Lookup", req, entry_reply, MDSC_IDEMPOTENT, &res);
	if (!ret && hint) {
		r = (Gannet__EntryReply *)res.reply;
		if (fs_chunk_hint_from_pb(hint, r->first_chunk))
			fs_session_add_servers(s, r->servers, r->n_servers);
	}
	return entry_out(ret, &res, out);
}

int mdsc_getattr(struct fs_session *s, const struct fs_cred *c, uint64_t ino,
		 struct fs_attr *out)
{
	Gannet__GetAttrRequest req = GANNET__GET_ATTR_REQUEST__INIT;
	struct gn_rpc_result res;

	req.ino = ino;
	return attr_out(CALL(s, c, "GetAttr", req, attr_reply, MDSC_IDEMPOTENT, &res),
			&res, out);
}

static int64_t ts_ns(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
}

int mdsc_setattr(struct fs_session *s, const struct fs_cred *c, uint64_t ino,
		 uint32_t valid, const struct stat *st, uint64_t handle,
		 struct fs_attr *out)
{
	Gannet__SetAttrRequest req = GANNET__SET_ATTR_REQUEST__INIT;
	struct gn_rpc_result res;

	req.ino = ino;
	req.valid = valid;
	req.mode = st->st_mode & 07777;
	req.uid = st->st_uid;
	req.gid = st->st_gid;
	req.size = (uint64_t)st->st_size;
	req.atime_ns = ts_ns(&st->st_atim);
	req.mtime_ns = ts_ns(&st->st_mtim);
	req.ctime_ns = ts_ns(&st->st_ctim);
	req.handle = handle;
	/* Setting the same values twice is harmless: idempotent. */
	return attr_out(CALL(s, c, "SetAttr", req, attr_reply, MDSC_IDEMPOTENT, &res),
			&res, out);
}

int mdsc_mknod(struct fs_session *s, const struct fs_cred *c, uint64_t parent,
	       const char *name, uint32_t mode, uint64_t rdev, uint32_t umask,
	       struct fs_attr *out)
{
	Gannet__MknodRequest req = GANNET__MKNOD_REQUEST__INIT;
	struct gn_rpc_result res;

	req.parent = parent;
	req.name = gn_rpc_str(name);
	req.mode = mode;
	req.rdev = rdev;
	req.umask = umask;
	return entry_out(CALL(s, c, "Mknod", req, entry_reply, 0, &res), &res, out);
}

int mdsc_mkdir(struct fs_session *s, const struct fs_cred *c, uint64_t parent,
	       const char *name, uint32_t mode, uint32_t umask,
	       struct fs_attr *out)
{
	Gannet__MkdirRequest req = GANNET__MKDIR_REQUEST__INIT;
	struct gn_rpc_result res;

	req.parent = parent;
	req.name = gn_rpc_str(name);
	req.mode = mode;
	req.umask = umask;
	return entry_out(CALL(s, c, "Mkdir", req, entry_reply, 0, &res), &res, out);
}

static int unlink_common(struct fs_session *s, const struct fs_cred *c,
			 const char *m, uint64_t parent, const char *name)
{
	Gannet__UnlinkRequest req = GANNET__UNLINK_REQUEST__INIT;
	struct gn_rpc_result res;
	int ret;

	req.parent = parent;
	req.name = gn_rpc_str(name);
	ret = mdsc_call(s, c, m, &req.base, &req.h,
			&gannet__unlink_reply__descriptor, 0, 0, &res);
	gn_rpc_result_release(&res);
	return ret;
}

int mdsc_unlink(struct fs_session *s, const struct fs_cred *c, uint64_t parent,
		const char *name)
{
	return unlink_common(s, c, "/gannet.Mds/Unlink", parent, name);
}

int mdsc_rmdir(struct fs_session *s, const struct fs_cred *c, uint64_t parent,
	       const char *name)
{
	return unlink_common(s, c, "/gannet.Mds/Rmdir", parent, name);
}

int mdsc_rename(struct fs_session *s, const struct fs_cred *c, uint64_t parent,
		const char *name, uint64_t newparent, const char *newname,
		uint32_t flags)
{
	Gannet__RenameRequest req = GANNET__RENAME_REQUEST__INIT;
	struct gn_rpc_result res;
	int ret;

	req.parent = parent;
	req.name = gn_rpc_str(name);
	req.new_parent = newparent;
	req.new_name = gn_rpc_str(newname);
	req.flags = flags;
	ret = CALL(s, c, "Rename", req, rename_reply, 0, &res);
	gn_rpc_result_release(&res);
	return ret;
}

int mdsc_link(struct fs_session *s, const struct fs_cred *c, uint64_t ino,
	      uint64_t newparent, const char *newname, struct fs_attr *out)
{
	Gannet__LinkRequest req = GANNET__LINK_REQUEST__INIT;
	struct gn_rpc_result res;

	req.ino = ino;
	req.new_parent = newparent;
	req.new_name = gn_rpc_str(newname);
	return entry_out(CALL(s, c, "Link", req, entry_reply, 0, &res), &res, out);
}

int mdsc_symlink(struct fs_session *s, const struct fs_cred *c,
		 uint64_t parent, const char *name, const char *target,
		 struct fs_attr *out)
{
	Gannet__SymlinkRequest req = GANNET__SYMLINK_REQUEST__INIT;
	struct gn_rpc_result res;

	req.parent = parent;
	req.name = gn_rpc_str(name);
	req.target = gn_rpc_str(target);
	return entry_out(CALL(s, c, "Symlink", req, entry_reply, 0, &res), &res, out);
}

int mdsc_readlink(struct fs_session *s, const struct fs_cred *c, uint64_t ino,
		  char **target)
{
	Gannet__ReadlinkRequest req = GANNET__READLINK_REQUEST__INIT;
	struct gn_rpc_result res;
	int ret;

	req.ino = ino;
	ret = CALL(s, c, "Readlink", req, readlink_reply, MDSC_IDEMPOTENT, &res);
	if (!ret) {
		*target = xstrdup(((Gannet__ReadlinkReply *)res.reply)->target);
		gn_rpc_result_release(&res);
	}
	return ret;
}

int mdsc_readdir(struct fs_session *s, const struct fs_cred *c, uint64_t ino,
		 uint64_t cookie, uint32_t max, bool plus,
		 struct gn_rpc_result *res)
{
	Gannet__ReadDirRequest req = GANNET__READ_DIR_REQUEST__INIT;

	req.ino = ino;
	req.cookie = cookie;
	req.max_entries = max;
	req.plus = plus;
	return CALL(s, c, "ReadDir", req, read_dir_reply, MDSC_IDEMPOTENT, res);
}

int mdsc_setxattr(struct fs_session *s, const struct fs_cred *c, uint64_t ino,
		  const char *name, const void *value, size_t size, int flags)
{
	Gannet__SetXattrRequest req = GANNET__SET_XATTR_REQUEST__INIT;
	struct gn_rpc_result res;
	int ret;

	req.ino = ino;
	req.name = gn_rpc_str(name);
	req.value.data = (uint8_t *)value;
	req.value.len = size;
	req.flags = (uint32_t)flags;
	ret = CALL(s, c, "SetXattr", req, xattr_reply, 0, &res);
	gn_rpc_result_release(&res);
	return ret;
}

int mdsc_getxattr(struct fs_session *s, const struct fs_cred *c, uint64_t ino,
		  const char *name, struct gn_rpc_result *res)
{
	Gannet__GetXattrRequest req = GANNET__GET_XATTR_REQUEST__INIT;

	req.ino = ino;
	req.name = gn_rpc_str(name);
	return CALL(s, c, "GetXattr", req, get_xattr_reply, MDSC_IDEMPOTENT, res);
}

int mdsc_listxattr(struct fs_session *s, const struct fs_cred *c, uint64_t ino,
		   struct gn_rpc_result *res)
{
	Gannet__ListXattrRequest req = GANNET__LIST_XATTR_REQUEST__INIT;

	req.ino = ino;
	return CALL(s, c, "ListXattr", req, list_xattr_reply, MDSC_IDEMPOTENT, res);
}

int mdsc_removexattr(struct fs_session *s, const struct fs_cred *c,
		     uint64_t ino, const char *name)
{
	Gannet__GetXattrRequest req = GANNET__GET_XATTR_REQUEST__INIT;
	struct gn_rpc_result res;
	int ret;

	req.ino = ino;
	req.name = gn_rpc_str(name);
	ret = CALL(s, c, "RemoveXattr", req, xattr_reply, 0, &res);
	gn_rpc_result_release(&res);
	return ret;
}

int mdsc_statfs(struct fs_session *s, const struct fs_cred *c,
		Gannet__StatFsReply *out)
{
	Gannet__StatFsRequest req = GANNET__STAT_FS_REQUEST__INIT;
	struct gn_rpc_result res;
	int ret;

	ret = CALL(s, c, "StatFs", req, stat_fs_reply, MDSC_IDEMPOTENT, &res);
	if (!ret) {
		Gannet__StatFsReply *r = (Gannet__StatFsReply *)res.reply;
		out->total_bytes = r->total_bytes;
		out->free_bytes = r->free_bytes;
		out->files = r->files;
		out->max_files = r->max_files;
		gn_rpc_result_release(&res);
	}
	return ret;
}

int mdsc_open(struct fs_session *s, const struct fs_cred *c, uint64_t ino,
	      uint32_t flags, struct gn_rpc_result *res)
{
	Gannet__OpenRequest req = GANNET__OPEN_REQUEST__INIT;

	req.ino = ino;
	req.flags = flags;
	/* Not idempotent with O_TRUNC, and a repeated Open leaks a handle
	 * until the session ends; retried only while unreachable. */
	return CALL(s, c, "Open", req, open_reply, 0, res);
}

int mdsc_create(struct fs_session *s, const struct fs_cred *c,
		uint64_t parent, const char *name, uint32_t mode,
		uint32_t umask, uint32_t flags, struct gn_rpc_result *res)
{
	Gannet__CreateRequest req = GANNET__CREATE_REQUEST__INIT;

	req.parent = parent;
	req.name = gn_rpc_str(name);
	req.mode = mode;
	req.umask = umask;
	req.flags = flags;
	return CALL(s, c, "Create", req, open_reply, 0, res);
}

int mdsc_allocate(struct fs_session *s, const struct fs_cred *c, uint64_t ino,
		  uint64_t handle, const uint64_t *indexes,
		  const uint64_t *pending, size_t n, struct gn_rpc_result *res)
{
	Gannet__AllocateChunksRequest req = GANNET__ALLOCATE_CHUNKS_REQUEST__INIT;

	req.ino = ino;
	req.handle = handle;
	req.n_indexes = n;
	req.indexes = (uint64_t *)indexes;
	req.n_pending = pending ? 2 * n : 0;
	req.pending = (uint64_t *)pending;
	/* A repeated allocation only leaves an unused version to reclaim. */
	return CALL(s, c, "AllocateChunks", req, allocate_chunks_reply,
		    MDSC_IDEMPOTENT, res);
}

int mdsc_commit(struct fs_session *s, const struct fs_cred *c, uint64_t ino,
		uint64_t handle, const struct fs_chunk *chunks, size_t n,
		bool set_size, uint64_t size, struct fs_attr *out)
{
	Gannet__CommitWriteRequest req = GANNET__COMMIT_WRITE_REQUEST__INIT;
	Gannet__ChunkInfo *ci = xcalloc(n ? n : 1, sizeof(*ci));
	Gannet__ChunkInfo **cp = xcalloc(n ? n : 1, sizeof(*cp));
	uint32_t *reps = xcalloc(n ? n * FS_MAX_REPLICAS : 1, sizeof(*reps));
	struct gn_rpc_result res;
	int ret;

	for (size_t i = 0; i < n; i++) {
		gannet__chunk_info__init(&ci[i]);
		ci[i].index = chunks[i].index;
		ci[i].chunk_id = chunks[i].id;
		ci[i].version = chunks[i].version;
		ci[i].length = chunks[i].length;
		ci[i].digest = chunks[i].digest;
		ci[i].base_version = chunks[i].base_version;
		ci[i].compression = chunks[i].compression;
		ci[i].n_replicas = chunks[i].nrep;
		ci[i].replicas = &reps[i * FS_MAX_REPLICAS];
		memcpy(ci[i].replicas, chunks[i].rep, chunks[i].nrep * sizeof(uint32_t));
		cp[i] = &ci[i];
	}
	req.ino = ino;
	req.handle = handle;
	req.n_chunks = n;
	req.chunks = cp;
	req.set_size = set_size;
	req.size = size;
	/* Replacing with the same versions twice is a no-op on the MDS. */
	ret = attr_out(CALL(s, c, "CommitWrite", req, attr_reply, MDSC_IDEMPOTENT, &res),
		       &res, out);
	free(ci);
	free(cp);
	free(reps);
	return ret;
}

int mdsc_close(struct fs_session *s, const struct fs_cred *c, uint64_t ino,
	       uint64_t handle)
{
	Gannet__CloseRequest req = GANNET__CLOSE_REQUEST__INIT;
	struct gn_rpc_result res;
	int ret;

	req.ino = ino;
	req.handle = handle;
	ret = CALL(s, c, "Close", req, close_reply, MDSC_IDEMPOTENT, &res);
	gn_rpc_result_release(&res);
	return ret;
}

int mdsc_getchunks(struct fs_session *s, const struct fs_cred *c,
		   uint64_t ino, struct gn_rpc_result *res)
{
	Gannet__GetChunksRequest req = GANNET__GET_CHUNKS_REQUEST__INIT;

	req.ino = ino;
	return CALL(s, c, "GetChunks", req, get_chunks_reply, MDSC_IDEMPOTENT, res);
}

int mdsc_report_bad(struct fs_session *s, uint64_t chunk_id,
		    uint64_t version, uint32_t ds_id, const char *reason)
{
	Gannet__ReportBadChunkRequest req = GANNET__REPORT_BAD_CHUNK_REQUEST__INIT;
	struct gn_rpc_result res;
	int ret;

	req.chunk_id = chunk_id;
	req.version = version;
	req.ds_id = ds_id;
	req.reason = (char *)reason;
	ret = CALL(s, &fs_cred_root, "ReportBadChunk", req, report_bad_chunk_reply,
		   MDSC_IDEMPOTENT, &res);
	gn_rpc_result_release(&res);
	return ret;
}

int mdsc_close_many(struct fs_session *s, const struct fs_close_item *v, size_t n,
		    bool stopping)
{
	Gannet__CloseRequest req = GANNET__CLOSE_REQUEST__INIT;
	Gannet__CloseItem *items, **more;
	struct gn_rpc_result res;
	int ret;

	if (!n || n > MDSC_CLOSE_BATCH)
		return -EINVAL;
	items = xcalloc(n, sizeof(*items));
	more = xcalloc(n, sizeof(*more));
	req.ino = v[0].ino;
	req.handle = v[0].handle;
	for (size_t i = 0; i + 1 < n; i++) {
		gannet__close_item__init(&items[i]);
		items[i].ino = v[i + 1].ino;
		items[i].handle = v[i + 1].handle;
		more[i] = &items[i];
	}
	req.n_more = n - 1;
	req.more = more;
	/* Unmounting: one short deadline, and no new session for this. */
	ret = mdsc_call(s, &fs_cred_root, "/gannet.Mds/Close", &req.base, &req.h,
			&gannet__close_reply__descriptor,
			MDSC_IDEMPOTENT | (stopping ? MDSC_NO_SESSION : 0),
			stopping ? (int)GN_MIN(2000, s->conf->timeout_ms) : 0, &res);
	gn_rpc_result_release(&res);
	free(more);
	free(items);
	return ret;
}

void mdsc_close_async(struct fs_session *s, uint64_t ino, uint64_t handle)
{
	pthread_mutex_lock(&s->lock);
	if (!s->closer_running || s->closer_stop) {
		/* No closer (not mounted yet, or unmounting): close here. */
		pthread_mutex_unlock(&s->lock);
		mdsc_close(s, &fs_cred_root, ino, handle);
		return;
	}
	if (s->closeq_n == s->closeq_cap) {
		s->closeq_cap = s->closeq_cap ? s->closeq_cap * 2 : 64;
		s->closeq = xrealloc(s->closeq, s->closeq_cap * sizeof(*s->closeq));
	}
	s->closeq[s->closeq_n++] = (struct fs_close_item){ ino, handle };
	s->closes_inflight++;
	if (s->closeq_n == 1 || s->closeq_n == MDSC_CLOSE_BATCH)
		pthread_cond_signal(&s->closeq_cond);
	pthread_mutex_unlock(&s->lock);
}

/*
 * The closer thread: waits MDSC_CLOSE_DELAY_MS after the first queued
 * handle (or until a batch is full) so that one Close carries the
 * releases of that while.  Nobody waits for closes, and what they free at
 * the MDS (an orphan's last hold) may wait that long.  When stopping it
 * sends at once; a failure then drops the rest of the queue, as each
 * further call would wait out its own deadline and the MDS drops the
 * handles with the session.
 */
static void *closer_main(void *arg)
{
	struct fs_session *s = arg;
	struct fs_close_item v[MDSC_CLOSE_BATCH];

	pthread_mutex_lock(&s->lock);
	for (;;) {
		struct timespec until;
		bool stopping;
		size_t n;
		int ret;

		while (!s->closeq_n && !s->closer_stop)
			pthread_cond_wait(&s->closeq_cond, &s->lock);
		if (!s->closeq_n)
			break;
		until = gn_mono_after_ns((int64_t)MDSC_CLOSE_DELAY_MS * 1000000);
		while (s->closeq_n < MDSC_CLOSE_BATCH && !s->closer_stop &&
		       pthread_cond_timedwait(&s->closeq_cond, &s->lock, &until) == 0)
			;
		/* An MDS without batches would close only the first. */
		n = GN_MIN(s->closeq_n, s->mds_close_batch ? (size_t)MDSC_CLOSE_BATCH : 1);
		memcpy(v, s->closeq, n * sizeof(v[0]));
		s->closeq_n -= n;
		memmove(s->closeq, s->closeq + n, s->closeq_n * sizeof(v[0]));
		stopping = s->closer_stop;
		pthread_mutex_unlock(&s->lock);
		ret = mdsc_close_many(s, v, n, stopping);
		if (ret)
			log_info("close of %zu handles failed err='%s'", n, gn_strerror(ret));
		pthread_mutex_lock(&s->lock);
		if (ret && s->closer_stop && s->closeq_n) {
			log_warn("unmounting: %zu handles left open at the metadata server",
				 s->closeq_n);
			s->closes_inflight -= (unsigned)s->closeq_n;
			s->closeq_n = 0;
		}
		s->closes_inflight -= (unsigned)n;
		if (!s->closes_inflight)
			pthread_cond_broadcast(&s->closes_cond);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

int mdsc_closer_start(struct fs_session *s)
{
	int ret = pthread_create(&s->closer, NULL, closer_main, s);

	if (ret)
		return -ret;
	pthread_mutex_lock(&s->lock);
	s->closer_running = true;
	pthread_mutex_unlock(&s->lock);
	return 0;
}

void mdsc_closer_stop(struct fs_session *s)
{
	if (!s->closer_running)
		return;
	pthread_mutex_lock(&s->lock);
	s->closer_stop = true;
	pthread_cond_signal(&s->closeq_cond);
	while (s->closes_inflight)
		pthread_cond_wait(&s->closes_cond, &s->lock);
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->closer, NULL);
	pthread_mutex_lock(&s->lock);
	s->closer_running = false;
	pthread_mutex_unlock(&s->lock);
}
