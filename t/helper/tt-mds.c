/* tt-mds.c - test-tool subcommands talking to gannet-mds over RPC
 *
 *   test-tool mds-ds-up ADDR
 *   test-tool mds ADDR [--uid=N] [--gid=N] [--groups=A,B] [--session=ID]
 *                      [--escapes] OP ARGS...
 *
 * Paths start with '/' and are resolved with Lookup from the root (as the
 * given uid); "#N" names inode N.  With --escapes, "\xHH" in a path
 * component, an xattr name or a symlink target stands for the byte 0xHH and
 * "\\" for a backslash, so that names with a NUL or a '/' inside can be
 * sent as they are (the fields are `bytes`).  On success an OP prints its result;
 * on failure it prints the errno name (ENOENT, ...) on stdout, the detail
 * on stderr, and exits 1.
 */
#include "config.h"
#include "t/helper/test-tool.h"
#include "common/cksum.h"
#include "common/rpc.h"
#include "common/status.h"
#include "common/util.h"
#include "mds.pb-c.h"
#include "mds/mds.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct tt {
	struct gn_rpc_client *client;
	struct gn_rpc_channel *ch;
	Gannet__Cred cred;
	uint32_t groups[64];
	Gannet__ReqHeader h;
	bool escapes;		/* --escapes: decode \xHH and \\ in names */
};

/*
 * The bytes to send for the name s: s itself, or with --escapes s with its
 * escapes decoded, in place (the result is never longer).  Borrows s.
 */
static ProtobufCBinaryData tt_name(const struct tt *t, char *s)
{
	ProtobufCBinaryData b = { 0, (uint8_t *)s };
	const char *in = s;
	char *out = s;

	if (!t->escapes)
		return gn_rpc_str(s);
	while (*in) {
		if (in[0] == '\\' && in[1] == '\\') {
			*out++ = '\\';
			in += 2;
		} else if (in[0] == '\\' && in[1] == 'x' &&
			   isxdigit((unsigned char)in[2]) && isxdigit((unsigned char)in[3])) {
			char hex[3] = { in[2], in[3], '\0' };
			*out++ = (char)strtoul(hex, NULL, 16);
			in += 4;
		} else {
			*out++ = *in++;
		}
	}
	b.len = (size_t)(out - s);
	return b;
}

static int tt_connect(struct tt *t, const char *addr)
{
	int ret;

	gn_rpc_init();
	ret = gn_rpc_client_new(&t->client);
	if (ret == 0)
		ret = gn_rpc_channel_new(t->client, addr, NULL, &t->ch);
	gannet__cred__init(&t->cred);
	gannet__req_header__init(&t->h);
	t->h.cred = &t->cred;
	return ret;
}

static void tt_disconnect(struct tt *t)
{
	if (t->ch)
		gn_rpc_channel_free(t->ch);
	if (t->client)
		gn_rpc_client_free(t->client);
	gn_rpc_shutdown();
}

static const char *errname(int err)
{
	const char *n;

	if (err < 0)
		err = -err;
	if (err >= GN_ERR_BASE)
		return err == GN_ERR_BADMSG ? "GN_ERR_BADMSG" :
		       err == GN_ERR_CKSUM ? "GN_ERR_CKSUM" : "GN_ERR_STALE_VERSION";
	n = strerrorname_np(err);
	return n ? n : "E?";
}

/* Call Mds/METHOD; the request's first field must be the header. */
static int tt_call(struct tt *t, const char *method, ProtobufCMessage *req,
		   const ProtobufCMessageDescriptor *rd, int timeout_ms,
		   struct gn_rpc_result *res)
{
	struct gn_rpc_callopts o = { .timeout_ms = timeout_ms ? timeout_ms : 10000,
				     .wait_for_ready = true };
	char full[128];

	memset(res, 0, sizeof(*res));
	snprintf(full, sizeof(full), "/gannet.Mds/%s", method);
	return gn_rpc_call(t->ch, full, req, NULL, 0, rd, &o, res);
}

static int tt_fail(struct gn_rpc_result *res)
{
	printf("%s\n", errname(res->err));
	if (res->detail[0])
		fprintf(stderr, "%s\n", res->detail);
	gn_rpc_result_release(res);
	return 1;
}

#define CALL(t, method, reqp, reptype, res) \
	tt_call((t), (method), &(reqp)->base, &gannet__##reptype##__descriptor, 0, (res))

static void print_attr(const Gannet__Attr *a)
{
	printf("ino=%" PRIu64 " mode=%o nlink=%u uid=%u gid=%u size=%" PRIu64
	       " rdev=%" PRIu64 " mtime=%" PRId64 " ctime=%" PRId64 "\n",
	       a->ino, a->mode, a->nlink, a->uid, a->gid, a->size, a->rdev,
	       a->mtime_ns, a->ctime_ns);
}

/* Resolve PATH ("/a/b", "/", "#N") to an inode. */
static int tt_resolve(struct tt *t, const char *path, uint64_t *ino)
{
	char *p, *save = NULL, *comp;
	uint64_t cur = 1;
	int ret = 0;

	if (path[0] == '#') {
		*ino = strtoull(path + 1, NULL, 10);
		return 0;
	}
	p = xstrdup(path);
	for (comp = strtok_r(p, "/", &save); comp; comp = strtok_r(NULL, "/", &save)) {
		Gannet__LookupRequest q = GANNET__LOOKUP_REQUEST__INIT;
		struct gn_rpc_result res;
		q.h = &t->h;
		q.parent = cur;
		q.name = tt_name(t, comp);
		ret = CALL(t, "Lookup", &q, entry_reply, &res);
		if (ret == 0)
			cur = ((Gannet__EntryReply *)res.reply)->attr->ino;
		gn_rpc_result_release(&res);
		if (ret)
			break;
	}
	free(p);
	if (ret == 0)
		*ino = cur;
	return ret;
}

/* Split PATH into its parent's inode and its last name (into name). */
static int tt_parent(struct tt *t, const char *path, uint64_t *parent, char *name,
		     size_t len)
{
	char *p = xstrdup(path), *slash = strrchr(p, '/');
	int ret;

	if (!slash) {
		free(p);
		return -EINVAL;
	}
	snprintf(name, len, "%s", slash + 1);
	*slash = '\0';
	ret = tt_resolve(t, p[0] ? p : "/", parent);
	free(p);
	return ret;
}

static int resolve_or_fail(struct tt *t, const char *path, uint64_t *ino)
{
	int ret = tt_resolve(t, path, ino);
	if (ret)
		printf("%s\n", errname(ret));
	return ret ? 1 : 0;
}

static int parent_or_fail(struct tt *t, const char *path, uint64_t *parent,
			  char *name, size_t len)
{
	int ret = tt_parent(t, path, parent, name, len);
	if (ret)
		printf("%s\n", errname(ret));
	return ret ? 1 : 0;
}

static int print_entry(int ret, struct gn_rpc_result *res)
{
	if (ret)
		return tt_fail(res);
	print_attr(((Gannet__EntryReply *)res->reply)->attr);
	gn_rpc_result_release(res);
	return 0;
}

static int print_attrreply(int ret, struct gn_rpc_result *res)
{
	if (ret)
		return tt_fail(res);
	print_attr(((Gannet__AttrReply *)res->reply)->attr);
	gn_rpc_result_release(res);
	return 0;
}

static int print_ok(int ret, struct gn_rpc_result *res)
{
	if (ret)
		return tt_fail(res);
	printf("OK\n");
	gn_rpc_result_release(res);
	return 0;
}

/* ---- namespace ops ---- */

static int op_stat(struct tt *t, int argc, char **argv)
{
	Gannet__GetAttrRequest q = GANNET__GET_ATTR_REQUEST__INIT;
	struct gn_rpc_result res;

	if (argc < 1)
		return 2;
	q.h = &t->h;
	if (resolve_or_fail(t, argv[0], &q.ino))
		return 1;
	return print_attrreply(CALL(t, "GetAttr", &q, attr_reply, &res), &res);
}

static int op_mkdir(struct tt *t, int argc, char **argv)
{
	Gannet__MkdirRequest q = GANNET__MKDIR_REQUEST__INIT;
	struct gn_rpc_result res;
	char name[1024];

	if (argc < 1)
		return 2;
	q.h = &t->h;
	if (parent_or_fail(t, argv[0], &q.parent, name, sizeof(name)))
		return 1;
	q.name = tt_name(t, name);
	q.mode = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 8) : 0755;
	return print_entry(CALL(t, "Mkdir", &q, entry_reply, &res), &res);
}

static int op_mknod(struct tt *t, int argc, char **argv)
{
	Gannet__MknodRequest q = GANNET__MKNOD_REQUEST__INIT;
	struct gn_rpc_result res;
	char name[1024];

	if (argc < 2)
		return 2;
	q.h = &t->h;
	if (parent_or_fail(t, argv[0], &q.parent, name, sizeof(name)))
		return 1;
	q.name = tt_name(t, name);
	q.mode = (uint32_t)strtoul(argv[1], NULL, 8);
	q.rdev = argc > 2 ? strtoull(argv[2], NULL, 0) : 0;
	return print_entry(CALL(t, "Mknod", &q, entry_reply, &res), &res);
}

static int op_remove(struct tt *t, int argc, char **argv, const char *method)
{
	Gannet__UnlinkRequest q = GANNET__UNLINK_REQUEST__INIT;
	struct gn_rpc_result res;
	char name[1024];

	if (argc < 1)
		return 2;
	q.h = &t->h;
	if (parent_or_fail(t, argv[0], &q.parent, name, sizeof(name)))
		return 1;
	q.name = tt_name(t, name);
	return print_ok(CALL(t, method, &q, unlink_reply, &res), &res);
}

static int op_rename(struct tt *t, int argc, char **argv)
{
	Gannet__RenameRequest q = GANNET__RENAME_REQUEST__INIT;
	struct gn_rpc_result res;
	char name[1024], nname[1024];

	if (argc < 2)
		return 2;
	q.h = &t->h;
	if (parent_or_fail(t, argv[0], &q.parent, name, sizeof(name)) ||
	    parent_or_fail(t, argv[1], &q.new_parent, nname, sizeof(nname)))
		return 1;
	q.name = tt_name(t, name);
	q.new_name = tt_name(t, nname);
	q.flags = argc > 2 ? (uint32_t)strtoul(argv[2], NULL, 0) : 0;
	return print_ok(CALL(t, "Rename", &q, rename_reply, &res), &res);
}

static int op_link(struct tt *t, int argc, char **argv)
{
	Gannet__LinkRequest q = GANNET__LINK_REQUEST__INIT;
	struct gn_rpc_result res;
	char nname[1024];

	if (argc < 2)
		return 2;
	q.h = &t->h;
	if (resolve_or_fail(t, argv[0], &q.ino) ||
	    parent_or_fail(t, argv[1], &q.new_parent, nname, sizeof(nname)))
		return 1;
	q.new_name = tt_name(t, nname);
	return print_entry(CALL(t, "Link", &q, entry_reply, &res), &res);
}

static int op_symlink(struct tt *t, int argc, char **argv)
{
	Gannet__SymlinkRequest q = GANNET__SYMLINK_REQUEST__INIT;
	struct gn_rpc_result res;
	char name[1024];

	if (argc < 2)
		return 2;
	q.h = &t->h;
	if (parent_or_fail(t, argv[1], &q.parent, name, sizeof(name)))
		return 1;
	q.name = tt_name(t, name);
	q.target = tt_name(t, argv[0]);
	return print_entry(CALL(t, "Symlink", &q, entry_reply, &res), &res);
}

static int op_readlink(struct tt *t, int argc, char **argv)
{
	Gannet__ReadlinkRequest q = GANNET__READLINK_REQUEST__INIT;
	struct gn_rpc_result res;
	int ret;

	if (argc < 1)
		return 2;
	q.h = &t->h;
	if (resolve_or_fail(t, argv[0], &q.ino))
		return 1;
	ret = CALL(t, "Readlink", &q, readlink_reply, &res);
	if (ret)
		return tt_fail(&res);
	printf("%s\n", ((Gannet__ReadlinkReply *)res.reply)->target);
	gn_rpc_result_release(&res);
	return 0;
}

static int op_ls(struct tt *t, int argc, char **argv, bool plus)
{
	Gannet__ReadDirRequest q = GANNET__READ_DIR_REQUEST__INIT;
	bool eof = false;

	if (argc < 1)
		return 2;
	q.h = &t->h;
	if (resolve_or_fail(t, argv[0], &q.ino))
		return 1;
	q.max_entries = argc > 1 ? (uint32_t)atoi(argv[1]) : 100;
	q.plus = plus;
	while (!eof) {
		struct gn_rpc_result res;
		Gannet__ReadDirReply *r;
		int ret = CALL(t, "ReadDir", &q, read_dir_reply, &res);
		if (ret)
			return tt_fail(&res);
		r = (Gannet__ReadDirReply *)res.reply;
		for (size_t i = 0; i < r->n_entries; i++) {
			printf("%s %" PRIu64 " %o", r->entries[i]->name, r->entries[i]->ino,
			       r->entries[i]->type);
			if (plus && r->entries[i]->attr)
				printf(" size=%" PRIu64, r->entries[i]->attr->size);
			printf("\n");
			q.cookie = r->entries[i]->cookie;
		}
		eof = r->eof || r->n_entries == 0;
		gn_rpc_result_release(&res);
	}
	return 0;
}

static int op_setattr(struct tt *t, const char *path, Gannet__SetAttrRequest *q)
{
	struct gn_rpc_result res;

	q->h = &t->h;
	if (resolve_or_fail(t, path, &q->ino))
		return 1;
	return print_attrreply(CALL(t, "SetAttr", q, attr_reply, &res), &res);
}

static int op_chmod(struct tt *t, int argc, char **argv)
{
	Gannet__SetAttrRequest q = GANNET__SET_ATTR_REQUEST__INIT;

	if (argc < 2)
		return 2;
	q.valid = GANNET__SET_ATTR_REQUEST__VALID__MODE;
	q.mode = (uint32_t)strtoul(argv[1], NULL, 8);
	return op_setattr(t, argv[0], &q);
}

static int op_chown(struct tt *t, int argc, char **argv)
{
	Gannet__SetAttrRequest q = GANNET__SET_ATTR_REQUEST__INIT;

	if (argc < 3)
		return 2;
	if (strcmp(argv[1], "-1")) {
		q.valid |= GANNET__SET_ATTR_REQUEST__VALID__UID;
		q.uid = (uint32_t)atoi(argv[1]);
	}
	if (strcmp(argv[2], "-1")) {
		q.valid |= GANNET__SET_ATTR_REQUEST__VALID__GID;
		q.gid = (uint32_t)atoi(argv[2]);
	}
	return op_setattr(t, argv[0], &q);
}

static int op_truncate(struct tt *t, int argc, char **argv)
{
	Gannet__SetAttrRequest q = GANNET__SET_ATTR_REQUEST__INIT;

	if (argc < 2)
		return 2;
	q.valid = GANNET__SET_ATTR_REQUEST__VALID__SIZE;
	q.size = strtoull(argv[1], NULL, 0);
	return op_setattr(t, argv[0], &q);
}

static int op_utime(struct tt *t, int argc, char **argv)
{
	Gannet__SetAttrRequest q = GANNET__SET_ATTR_REQUEST__INIT;

	if (argc < 3)
		return 2;
	if (!strcmp(argv[1], "now"))
		q.valid |= GANNET__SET_ATTR_REQUEST__VALID__ATIME_NOW;
	else {
		q.valid |= GANNET__SET_ATTR_REQUEST__VALID__ATIME;
		q.atime_ns = strtoll(argv[1], NULL, 0);
	}
	if (!strcmp(argv[2], "now"))
		q.valid |= GANNET__SET_ATTR_REQUEST__VALID__MTIME_NOW;
	else {
		q.valid |= GANNET__SET_ATTR_REQUEST__VALID__MTIME;
		q.mtime_ns = strtoll(argv[2], NULL, 0);
	}
	return op_setattr(t, argv[0], &q);
}

static int op_setxattr(struct tt *t, int argc, char **argv, bool sized)
{
	Gannet__SetXattrRequest q = GANNET__SET_XATTR_REQUEST__INIT;
	struct gn_rpc_result res;
	char *buf = NULL;
	int ret;

	if (argc < 3)
		return 2;
	q.h = &t->h;
	if (resolve_or_fail(t, argv[0], &q.ino))
		return 1;
	q.name = tt_name(t, argv[1]);
	if (sized) {
		q.value.len = strtoul(argv[2], NULL, 0);
		buf = xmalloc(q.value.len + 1);
		memset(buf, 'x', q.value.len);
		q.value.data = (uint8_t *)buf;
	} else {
		q.value.data = (uint8_t *)argv[2];
		q.value.len = strlen(argv[2]);
	}
	q.flags = argc > 3 ? (uint32_t)atoi(argv[3]) : 0;
	ret = print_ok(CALL(t, "SetXattr", &q, xattr_reply, &res), &res);
	free(buf);
	return ret;
}

static int op_getxattr(struct tt *t, int argc, char **argv, bool remove)
{
	Gannet__GetXattrRequest q = GANNET__GET_XATTR_REQUEST__INIT;
	struct gn_rpc_result res;
	int ret;

	if (argc < 2)
		return 2;
	q.h = &t->h;
	if (resolve_or_fail(t, argv[0], &q.ino))
		return 1;
	q.name = tt_name(t, argv[1]);
	if (remove)
		return print_ok(CALL(t, "RemoveXattr", &q, xattr_reply, &res), &res);
	ret = CALL(t, "GetXattr", &q, get_xattr_reply, &res);
	if (ret)
		return tt_fail(&res);
	{
		Gannet__GetXattrReply *r = (Gannet__GetXattrReply *)res.reply;
		printf("%.*s\n", (int)r->value.len, (const char *)r->value.data);
	}
	gn_rpc_result_release(&res);
	return 0;
}

static int op_listxattr(struct tt *t, int argc, char **argv)
{
	Gannet__ListXattrRequest q = GANNET__LIST_XATTR_REQUEST__INIT;
	struct gn_rpc_result res;
	Gannet__ListXattrReply *r;
	int ret;

	if (argc < 1)
		return 2;
	q.h = &t->h;
	if (resolve_or_fail(t, argv[0], &q.ino))
		return 1;
	ret = CALL(t, "ListXattr", &q, list_xattr_reply, &res);
	if (ret)
		return tt_fail(&res);
	r = (Gannet__ListXattrReply *)res.reply;
	for (size_t i = 0; i < r->n_names; i++)
		printf("%s\n", r->names[i]);
	gn_rpc_result_release(&res);
	return 0;
}

static int op_statfs(struct tt *t)
{
	Gannet__StatFsRequest q = GANNET__STAT_FS_REQUEST__INIT;
	struct gn_rpc_result res;
	Gannet__StatFsReply *r;

	q.h = &t->h;
	if (CALL(t, "StatFs", &q, stat_fs_reply, &res))
		return tt_fail(&res);
	r = (Gannet__StatFsReply *)res.reply;
	printf("total=%" PRIu64 " free=%" PRIu64 " files=%" PRIu64 "\n",
	       r->total_bytes, r->free_bytes, r->files);
	gn_rpc_result_release(&res);
	return 0;
}

/* ---- files and chunks ---- */

/* Create (or open) PATH for writing; *ino, *handle. */
static int tt_open_write(struct tt *t, const char *path, uint32_t flags,
			 uint64_t *ino, uint64_t *handle, struct gn_rpc_result *res)
{
	Gannet__CreateRequest q = GANNET__CREATE_REQUEST__INIT;
	char name[1024];
	int ret;

	q.h = &t->h;
	ret = tt_parent(t, path, &q.parent, name, sizeof(name));
	if (ret) {
		memset(res, 0, sizeof(*res));
		res->err = ret;
		return ret;
	}
	q.name = tt_name(t, name);
	q.mode = 0644;
	q.flags = O_RDWR | O_CREAT | flags;
	ret = CALL(t, "Create", &q, open_reply, res);
	if (ret == 0) {
		Gannet__OpenReply *r = (Gannet__OpenReply *)res->reply;
		*ino = r->attr->ino;
		*handle = r->handle;
		gn_rpc_result_release(res);
	}
	return ret;
}

/* One Close for handles h[0..n) of inodes ino[0..n), with extra copies
 * of the last pair appended to the batch. */
static int tt_close_batch(struct tt *t, const uint64_t *ino, const uint64_t *h,
			  size_t n, size_t extra)
{
	Gannet__CloseRequest q = GANNET__CLOSE_REQUEST__INIT;
	size_t nm = n - 1 + extra;
	Gannet__CloseItem *it = xcalloc(nm + 1, sizeof(*it));
	Gannet__CloseItem **more = xcalloc(nm + 1, sizeof(*more));
	struct gn_rpc_result res;
	int ret;

	q.h = &t->h;
	q.ino = ino[0];
	q.handle = h[0];
	for (size_t i = 0; i < nm; i++) {
		size_t k = GN_MIN(i + 1, n - 1);
		gannet__close_item__init(&it[i]);
		it[i].ino = ino[k];
		it[i].handle = h[k];
		more[i] = &it[i];
	}
	q.n_more = nm;
	q.more = more;
	ret = CALL(t, "Close", &q, close_reply, &res);
	gn_rpc_result_release(&res);
	free(more);
	free(it);
	return ret;
}

static int tt_close(struct tt *t, uint64_t ino, uint64_t handle)
{
	return tt_close_batch(t, &ino, &handle, 1, 0);
}

/* Allocate and commit chunks 0..n-1 of ino (metadata only: nothing is
 * written to data servers). */
static int tt_write_meta(struct tt *t, uint64_t ino, uint64_t handle, uint32_t n,
			 uint32_t last_len, struct gn_rpc_result *res)
{
	Gannet__AllocateChunksRequest q = GANNET__ALLOCATE_CHUNKS_REQUEST__INIT;
	Gannet__CommitWriteRequest cq = GANNET__COMMIT_WRITE_REQUEST__INIT;
	Gannet__AllocateChunksReply *r;
	uint64_t *idx = xcalloc(n + 1, sizeof(*idx));
	int ret;

	for (uint32_t i = 0; i < n; i++)
		idx[i] = i;
	q.h = &t->h;
	q.ino = ino;
	q.handle = handle;
	q.n_indexes = n;
	q.indexes = idx;
	ret = CALL(t, "AllocateChunks", &q, allocate_chunks_reply, res);
	free(idx);
	if (ret)
		return ret;
	r = (Gannet__AllocateChunksReply *)res->reply;
	for (size_t i = 0; i < r->n_chunks; i++)
		r->chunks[i]->length = i + 1 == r->n_chunks ? last_len : GN_CHUNK_SIZE;
	cq.h = &t->h;
	cq.ino = ino;
	cq.handle = handle;
	cq.n_chunks = r->n_chunks;
	cq.chunks = r->chunks;
	{
		struct gn_rpc_result cres;
		ret = CALL(t, "CommitWrite", &cq, attr_reply, &cres);
		gn_rpc_result_release(res);
		*res = cres;
	}
	return ret;
}

static int op_write(struct tt *t, int argc, char **argv)
{
	struct gn_rpc_result res;
	uint64_t ino, handle;
	uint32_t n;
	int ret;

	if (argc < 2)
		return 2;
	n = (uint32_t)atoi(argv[1]);
	ret = tt_open_write(t, argv[0], 0, &ino, &handle, &res);
	if (ret)
		return tt_fail(&res);
	ret = tt_write_meta(t, ino, handle, n, argc > 2 ? (uint32_t)atoi(argv[2]) : GN_CHUNK_SIZE,
			    &res);
	if (ret)
		return tt_fail(&res);
	print_attr(((Gannet__AttrReply *)res.reply)->attr);
	gn_rpc_result_release(&res);
	return tt_close(t, ino, handle) ? 1 : 0;
}

static int op_create(struct tt *t, int argc, char **argv)
{
	struct gn_rpc_result res;
	uint64_t ino, handle;

	if (argc < 1)
		return 2;
	if (tt_open_write(t, argv[0], argc > 1 && !strcmp(argv[1], "excl") ? O_EXCL : 0,
			  &ino, &handle, &res))
		return tt_fail(&res);
	printf("ino=%" PRIu64 "\n", ino);
	return tt_close(t, ino, handle) ? 1 : 0;
}

static int op_chunks(struct tt *t, int argc, char **argv)
{
	Gannet__GetChunksRequest q = GANNET__GET_CHUNKS_REQUEST__INIT;
	struct gn_rpc_result res;
	Gannet__GetChunksReply *r;

	if (argc < 1)
		return 2;
	q.h = &t->h;
	if (resolve_or_fail(t, argv[0], &q.ino))
		return 1;
	if (CALL(t, "GetChunks", &q, get_chunks_reply, &res))
		return tt_fail(&res);
	r = (Gannet__GetChunksReply *)res.reply;
	printf("size=%" PRIu64 "\n", r->size);
	for (size_t i = 0; i < r->n_chunks; i++) {
		Gannet__ChunkInfo *c = r->chunks[i];
		printf("%" PRIu64 " id=%" PRIu64 " v=%" PRIu64 " len=%u replicas=",
		       c->index, c->chunk_id, c->version, c->length);
		for (size_t j = 0; j < c->n_replicas; j++)
			printf("%s%u", j ? "," : "", c->replicas[j]);
		printf("\n");
	}
	gn_rpc_result_release(&res);
	return 0;
}

static int op_policy(struct tt *t, int argc, char **argv)
{
	Gannet__PolicyRequest q = GANNET__POLICY_REQUEST__INIT;
	Gannet__Policy p = GANNET__POLICY__INIT;
	struct gn_rpc_result res;
	Gannet__PolicyReply *r;
	int ret;

	if (argc < 1)
		return 2;
	q.h = &t->h;
	if (resolve_or_fail(t, argv[0], &q.ino))
		return 1;
	if (argc > 2) {
		p.replicas = (uint32_t)atoi(argv[1]);
		p.compression = !strcmp(argv[2], "zstd") ? GANNET__COMPRESSION__COMPRESSION_ZSTD :
							   GANNET__COMPRESSION__COMPRESSION_NONE;
		q.policy = &p;
		ret = CALL(t, "SetPolicy", &q, policy_reply, &res);
	} else {
		ret = CALL(t, "GetPolicy", &q, policy_reply, &res);
	}
	if (ret)
		return tt_fail(&res);
	r = (Gannet__PolicyReply *)res.reply;
	printf("replicas=%u compression=%s\n", r->policy->replicas,
	       r->policy->compression ? "zstd" : "none");
	gn_rpc_result_release(&res);
	return 0;
}

/* ---- administration and data servers ---- */

static int op_status(struct tt *t)
{
	Gannet__StatusRequest q = GANNET__STATUS_REQUEST__INIT;
	struct gn_rpc_result res;
	Gannet__StatusReply *r;

	q.h = &t->h;
	if (CALL(t, "Status", &q, status_reply, &res))
		return tt_fail(&res);
	r = (Gannet__StatusReply *)res.reply;
	printf("inodes=%" PRIu64 " chunks=%" PRIu64 " degraded=%" PRIu64
	       " damaged=%" PRIu64 " sessions=%u servers=%zu\n", r->inodes, r->chunks,
	       r->degraded_chunks, r->damaged_chunks, r->sessions, r->n_servers);
	gn_rpc_result_release(&res);
	return 0;
}

static int op_ds_list(struct tt *t)
{
	Gannet__ListDsRequest q = GANNET__LIST_DS_REQUEST__INIT;
	static const char *const st[] = { "UP", "DOWN", "DRAINING", "REMOVED" };
	struct gn_rpc_result res;
	Gannet__ListDsReply *r;

	q.h = &t->h;
	if (CALL(t, "ListDs", &q, list_ds_reply, &res))
		return tt_fail(&res);
	r = (Gannet__ListDsReply *)res.reply;
	for (size_t i = 0; i < r->n_servers; i++)
		printf("%u %s %s %s\n", r->servers[i]->id, r->servers[i]->uuid,
		       r->servers[i]->addr, (unsigned)r->servers[i]->state < 4 ?
		       st[r->servers[i]->state] : "?");
	gn_rpc_result_release(&res);
	return 0;
}

/* list-degraded MAX: the chunk ids ListDegraded returns, one a line,
 * calling with max_chunks MAX from each reply's cursor until eof. */
static int op_list_degraded(struct tt *t, int argc, char **argv)
{
	Gannet__ListDegradedRequest q = GANNET__LIST_DEGRADED_REQUEST__INIT;
	struct gn_rpc_result res;

	if (argc < 1)
		return 2;
	q.max_chunks = (uint32_t)strtoul(argv[0], NULL, 10);
	for (int calls = 0; calls < 1000000; calls++) {
		Gannet__ListDegradedReply *r;
		bool eof;

		q.h = &t->h;
		if (CALL(t, "ListDegraded", &q, list_degraded_reply, &res))
			return tt_fail(&res);
		r = (Gannet__ListDegradedReply *)res.reply;
		for (size_t i = 0; i < r->n_chunks; i++)
			printf("%" PRIu64 "\n", r->chunks[i]->chunk_id);
		eof = r->eof;
		q.start_ino = r->next_ino;
		q.start_index = r->next_index;
		gn_rpc_result_release(&res);
		if (eof)
			return 0;
	}
	fprintf(stderr, "ListDegraded never reached eof\n");
	return 1;
}

static int op_ds_admin(struct tt *t, int argc, char **argv)
{
	Gannet__DsAdminRequest q = GANNET__DS_ADMIN_REQUEST__INIT;
	struct gn_rpc_result res;

	if (argc < 2)
		return 2;
	q.h = &t->h;
	q.ds_id = (uint32_t)atoi(argv[0]);
	q.op = !strcmp(argv[1], "drain") ? 0 : !strcmp(argv[1], "undrain") ? 1 : 2;
	return print_ok(CALL(t, "DsAdmin", &q, ds_admin_reply, &res), &res);
}

static int op_ds_register(struct tt *t, int argc, char **argv)
{
	Gannet__DsRegisterRequest q = GANNET__DS_REGISTER_REQUEST__INIT;
	Gannet__DsInfo info = GANNET__DS_INFO__INIT;
	struct gn_rpc_result res;

	if (argc < 2)
		return 2;
	q.h = &t->h;
	info.uuid = argv[0];
	info.addr = argv[1];
	info.capacity_bytes = (uint64_t)1 << 40;
	info.free_bytes = (uint64_t)1 << 39;
	q.info = &info;
	if (CALL(t, "DsRegister", &q, ds_register_reply, &res))
		return tt_fail(&res);
	printf("%u\n", ((Gannet__DsRegisterReply *)res.reply)->id);
	gn_rpc_result_release(&res);
	return 0;
}

static int op_ds_heartbeat(struct tt *t, int argc, char **argv)
{
	Gannet__DsHeartbeatRequest q = GANNET__DS_HEARTBEAT_REQUEST__INIT;
	Gannet__DsInfo info = GANNET__DS_INFO__INIT;
	struct gn_rpc_result res;
	Gannet__DsHeartbeatReply *r;

	if (argc < 2)
		return 2;
	q.h = &t->h;
	info.id = (uint32_t)atoi(argv[0]);
	info.uuid = argv[1];
	info.capacity_bytes = (uint64_t)1 << 40;
	info.free_bytes = (uint64_t)1 << 39;
	q.info = &info;
	if (CALL(t, "DsHeartbeat", &q, ds_heartbeat_reply, &res))
		return tt_fail(&res);
	r = (Gannet__DsHeartbeatReply *)res.reply;
	if (r->unknown)
		printf("unknown\n");
	if (r->draining)
		printf("draining\n");
	for (size_t i = 0; i < r->n_deletions; i++)
		printf("del %" PRIu64 " %" PRIu64 "\n", r->deletions[i]->chunk_id,
		       r->deletions[i]->version);
	for (size_t i = 0; i < r->n_replicate; i++)
		printf("rep %" PRIu64 " %" PRIu64 " from %u %s\n", r->replicate[i]->chunk_id,
		       r->replicate[i]->version, r->replicate[i]->source_id,
		       r->replicate[i]->source_addr);
	gn_rpc_result_release(&res);
	return 0;
}

static int op_ds_replicated(struct tt *t, int argc, char **argv)
{
	Gannet__DsReplicatedRequest q = GANNET__DS_REPLICATED_REQUEST__INIT;
	Gannet__ChunkRef ref = GANNET__CHUNK_REF__INIT;
	struct gn_rpc_result res;

	if (argc < 3)
		return 2;
	q.h = &t->h;
	q.ds_id = (uint32_t)atoi(argv[0]);
	ref.chunk_id = strtoull(argv[1], NULL, 0);
	ref.version = strtoull(argv[2], NULL, 0);
	q.chunk = &ref;
	return print_ok(CALL(t, "DsReplicated", &q, ds_replicated_reply, &res), &res);
}

static int op_report_bad(struct tt *t, int argc, char **argv)
{
	Gannet__ReportBadChunkRequest q = GANNET__REPORT_BAD_CHUNK_REQUEST__INIT;
	struct gn_rpc_result res;

	if (argc < 3)
		return 2;
	q.h = &t->h;
	q.chunk_id = strtoull(argv[0], NULL, 0);
	q.version = strtoull(argv[1], NULL, 0);
	q.ds_id = (uint32_t)atoi(argv[2]);
	return print_ok(CALL(t, "ReportBadChunk", &q, report_bad_chunk_reply, &res), &res);
}

static int op_sessions(struct tt *t)
{
	Gannet__ListSessionsRequest q = GANNET__LIST_SESSIONS_REQUEST__INIT;
	struct gn_rpc_result res;
	Gannet__ListSessionsReply *r;

	q.h = &t->h;
	if (CALL(t, "ListSessions", &q, list_sessions_reply, &res))
		return tt_fail(&res);
	r = (Gannet__ListSessionsReply *)res.reply;
	for (size_t i = 0; i < r->n_sessions; i++)
		printf("%" PRIu64 " %s open=%u\n", r->sessions[i]->session_id,
		       r->sessions[i]->client, r->sessions[i]->open_files);
	gn_rpc_result_release(&res);
	return 0;
}

/* ---- sessions, orphans, leases ---- */

static int tt_session_open(struct tt *t, const char *client, uint64_t *id)
{
	Gannet__SessionOpenRequest q = GANNET__SESSION_OPEN_REQUEST__INIT;
	struct gn_rpc_result res;
	int ret;

	q.h = &t->h;
	q.client = (char *)client;
	ret = CALL(t, "SessionOpen", &q, session_open_reply, &res);
	if (ret == 0)
		*id = ((Gannet__SessionOpenReply *)res.reply)->session_id;
	gn_rpc_result_release(&res);
	return ret;
}

/* session-open SUBDIR: open a session rooted at SUBDIR (what a mount of
 * HOST:SUBDIR sends), print "root=INO" and close the session again. */
static int op_session_open(struct tt *t, int argc, char **argv)
{
	Gannet__SessionOpenRequest q = GANNET__SESSION_OPEN_REQUEST__INIT;
	Gannet__SessionCloseRequest cq = GANNET__SESSION_CLOSE_REQUEST__INIT;
	Gannet__SessionOpenReply *r;
	Gannet__ReqHeader h;
	struct gn_rpc_result res;
	uint64_t root;

	if (argc < 1)
		return 2;
	q.h = &t->h;
	q.client = (char *)"tt-session-open";
	q.subdir = tt_name(t, argv[0]);
	if (CALL(t, "SessionOpen", &q, session_open_reply, &res))
		return tt_fail(&res);
	r = (Gannet__SessionOpenReply *)res.reply;
	root = r->root_ino;
	h = t->h;
	h.session_id = r->session_id;
	gn_rpc_result_release(&res);
	cq.h = &h;
	if (CALL(t, "SessionClose", &cq, session_close_reply, &res))
		return tt_fail(&res);
	gn_rpc_result_release(&res);
	printf("root=%" PRIu64 "\n", root);
	return 0;
}

/* Open a session, create PATH, commit one chunk, unlink it while open,
 * print "ino=N session=S", and leave without closing anything (a client
 * that died). */
static int op_orphan(struct tt *t, int argc, char **argv)
{
	struct gn_rpc_result res;
	uint64_t ino, handle, sid;
	char *rm[1];

	if (argc < 1)
		return 2;
	if (tt_session_open(t, "tt-orphan", &sid)) {
		printf("ESESSION\n");
		return 1;
	}
	t->h.session_id = sid;
	if (tt_open_write(t, argv[0], O_EXCL, &ino, &handle, &res))
		return tt_fail(&res);
	if (tt_write_meta(t, ino, handle, 1, 4096, &res))
		return tt_fail(&res);
	gn_rpc_result_release(&res);
	rm[0] = argv[0];
	if (op_remove(t, 1, rm, "Unlink"))
		return 1;
	printf("ino=%" PRIu64 " session=%" PRIu64 "\n", ino, sid);
	return 0;
}

/* nlink of inode ino, or -errno. */
static int64_t tt_nlink(struct tt *t, uint64_t ino)
{
	Gannet__GetAttrRequest q = GANNET__GET_ATTR_REQUEST__INIT;
	struct gn_rpc_result res;
	int64_t ret;

	q.h = &t->h;
	q.ino = ino;
	ret = CALL(t, "GetAttr", &q, attr_reply, &res);
	if (!ret)
		ret = ((Gannet__AttrReply *)res.reply)->attr->nlink;
	gn_rpc_result_release(&res);
	return ret;
}

/* close-batch DIR N: in a fresh session, N files in DIR are written and
 * unlinked while open.  A Close carrying them and 1024 more handles is
 * refused with EINVAL and closes none; a Close carrying the N reclaims
 * every one at once.  Prints "ok", or what went wrong. */
static int op_close_batch(struct tt *t, int argc, char **argv)
{
	uint64_t ino[64], h[64], sid;
	struct gn_rpc_result res;
	char path[1024], *rm[1] = { path };
	int n, ret;

	if (argc < 2 || (n = atoi(argv[1])) < 2 || n > 64)
		return 2;
	if (tt_session_open(t, "tt-close-batch", &sid)) {
		printf("ESESSION\n");
		return 1;
	}
	t->h.session_id = sid;
	for (int i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/c%d", argv[0], i);
		if (tt_open_write(t, path, O_EXCL, &ino[i], &h[i], &res) ||
		    tt_write_meta(t, ino[i], h[i], 1, 4096, &res))
			return tt_fail(&res);
		gn_rpc_result_release(&res);
		if (op_remove(t, 1, rm, "Unlink"))
			return 1;
	}
	ret = tt_close_batch(t, ino, h, (size_t)n, 1024);
	if (ret != -EINVAL) {
		printf("oversize close: %s\n", errname(ret));
		return 1;
	}
	for (int i = 0; i < n; i++)
		if (tt_nlink(t, ino[i]) != 0) {
			printf("refused close released ino=%" PRIu64 "\n", ino[i]);
			return 1;
		}
	ret = tt_close_batch(t, ino, h, (size_t)n, 0);
	if (ret) {
		printf("close: %s\n", errname(ret));
		return 1;
	}
	for (int i = 0; i < n; i++)
		if (tt_nlink(t, ino[i]) != -ENOENT) {
			printf("closed orphan kept ino=%" PRIu64 "\n", ino[i]);
			return 1;
		}
	printf("ok\n");
	return 0;
}

struct hb_arg {
	struct tt *t;
	uint64_t sid, want_ino;
	int got_kind;
	uint64_t got_ino;
	int err;
};

/* Long-poll heartbeats until an invalidation for want_ino arrives, then
 * acknowledge it. */
static void *hb_thread(void *p)
{
	struct hb_arg *a = p;
	Gannet__ReqHeader h = a->t->h;
	uint64_t ack = 0;

	h.session_id = a->sid;
	for (int round = 0; round < 20 && a->got_kind < 0; round++) {
		Gannet__SessionHeartbeatRequest q = GANNET__SESSION_HEARTBEAT_REQUEST__INIT;
		Gannet__SessionHeartbeatReply *r;
		struct gn_rpc_result res;
		q.h = &h;
		q.ack_seq = ack;
		q.wait_ms = 2000;
		a->err = tt_call(a->t, "SessionHeartbeat", &q.base,
				 &gannet__session_heartbeat_reply__descriptor, 10000, &res);
		if (a->err)
			return NULL;
		r = (Gannet__SessionHeartbeatReply *)res.reply;
		for (size_t i = 0; i < r->n_invalidations; i++) {
			if (r->invalidations[i]->ino == a->want_ino) {
				a->got_kind = r->invalidations[i]->kind;
				a->got_ino = r->invalidations[i]->ino;
			}
		}
		ack = r->seq;
		gn_rpc_result_release(&res);
	}
	{
		Gannet__SessionHeartbeatRequest q = GANNET__SESSION_HEARTBEAT_REQUEST__INIT;
		struct gn_rpc_result res;
		q.h = &h;
		q.ack_seq = ack;
		q.wait_ms = 0;
		tt_call(a->t, "SessionHeartbeat", &q.base,
			&gannet__session_heartbeat_reply__descriptor, 10000, &res);
		gn_rpc_result_release(&res);
	}
	return NULL;
}

/* Session 1 caches PATH's attributes (GetAttr under a lease); session 2
 * chmods it; session 1 must receive the recall.  Prints
 * "recalled kind=ATTR ino=N" and exits 0, or fails. */
static int op_lease_recall(struct tt *t, int argc, char **argv)
{
	static const char *const kinds[] = { "ATTR", "ENTRY", "DATA" };
	Gannet__GetAttrRequest gq = GANNET__GET_ATTR_REQUEST__INIT;
	Gannet__SetAttrRequest sq = GANNET__SET_ATTR_REQUEST__INIT;
	Gannet__ReqHeader h1, h2;
	struct gn_rpc_result res;
	struct hb_arg a = { .t = t, .got_kind = -1 };
	uint64_t s1, s2, ino;
	pthread_t th;
	uint32_t lease;

	if (argc < 2)
		return 2;
	if (resolve_or_fail(t, argv[0], &ino))
		return 1;
	if (tt_session_open(t, "tt-lease-1", &s1) || tt_session_open(t, "tt-lease-2", &s2)) {
		printf("ESESSION\n");
		return 1;
	}
	h1 = t->h;
	h1.session_id = s1;
	h2 = t->h;
	h2.session_id = s2;
	gq.h = &h1;
	gq.ino = ino;
	if (CALL(t, "GetAttr", &gq, attr_reply, &res))
		return tt_fail(&res);
	lease = ((Gannet__AttrReply *)res.reply)->attr_lease_ms;
	gn_rpc_result_release(&res);
	if (lease == 0) {
		printf("NOLEASE\n");
		return 1;
	}
	a.sid = s1;
	a.want_ino = ino;
	pthread_create(&th, NULL, hb_thread, &a);
	sq.h = &h2;
	sq.ino = ino;
	sq.valid = GANNET__SET_ATTR_REQUEST__VALID__MODE;
	sq.mode = (uint32_t)strtoul(argv[1], NULL, 8);
	if (CALL(t, "SetAttr", &sq, attr_reply, &res)) {
		pthread_join(th, NULL);
		return tt_fail(&res);
	}
	gn_rpc_result_release(&res);
	pthread_join(th, NULL);
	if (a.got_kind < 0) {
		printf("NORECALL err=%s\n", a.err ? errname(a.err) : "none");
		return 1;
	}
	printf("recalled kind=%s ino=%" PRIu64 "\n",
	       (unsigned)a.got_kind < 3 ? kinds[a.got_kind] : "?", a.got_ino);
	return 0;
}

/* ---- crash test load ---- */

/* Forever (until killed or an error): create P-i, commit chunk(s), rename
 * to P-i.r.  Print each acknowledged step, flushed, so that the log holds
 * only what the MDS acknowledged. */
static int op_load(struct tt *t, int argc, char **argv)
{
	char path[1024], npath[1024];
	uint64_t start, n;

	if (argc < 3)
		return 2;
	start = strtoull(argv[1], NULL, 10);
	n = strtoull(argv[2], NULL, 10);
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (uint64_t i = start; i < start + n; i++) {
		struct gn_rpc_result res;
		uint64_t ino, handle;
		char *args[2] = { path, npath };
		snprintf(path, sizeof(path), "%s-%" PRIu64, argv[0], i);
		snprintf(npath, sizeof(npath), "%s-%" PRIu64 ".r", argv[0], i);
		if (tt_open_write(t, path, O_EXCL, &ino, &handle, &res))
			return tt_fail(&res);
		printf("C %" PRIu64 "\n", i);
		if (tt_write_meta(t, ino, handle, 1 + (uint32_t)(i % 3), 1000 + (uint32_t)i, &res))
			return tt_fail(&res);
		printf("W %" PRIu64 " %" PRIu64 "\n", i,
		       ((Gannet__AttrReply *)res.reply)->attr->size);
		gn_rpc_result_release(&res);
		tt_close(t, ino, handle);
		if (op_rename(t, 2, args))
			return 1;
		printf("R %" PRIu64 "\n", i);
	}
	return 0;
}

static int tt_size_of(struct tt *t, const char *path, uint64_t *size)
{
	Gannet__GetAttrRequest q = GANNET__GET_ATTR_REQUEST__INIT;
	struct gn_rpc_result res;
	int ret;

	q.h = &t->h;
	ret = tt_resolve(t, path, &q.ino);
	if (ret)
		return ret;
	ret = CALL(t, "GetAttr", &q, attr_reply, &res);
	if (ret == 0)
		*size = ((Gannet__AttrReply *)res.reply)->attr->size;
	gn_rpc_result_release(&res);
	return ret;
}

/* Check every step in LOG (from `load`) is in the store. */
static int op_verify(struct tt *t, int argc, char **argv)
{
	char line[256], path[1024], npath[1024];
	FILE *f;
	int bad = 0, steps = 0;

	if (argc < 2)
		return 2;
	f = fopen(argv[1], "r");
	if (!f) {
		perror(argv[1]);
		return 1;
	}
	while (fgets(line, sizeof(line), f)) {
		uint64_t i, size = 0, got = 0;
		char op;
		int k = sscanf(line, "%c %" SCNu64 " %" SCNu64, &op, &i, &size);
		bool at_old, at_new;
		if (k < 2)
			continue;
		steps++;
		snprintf(path, sizeof(path), "%s-%" PRIu64, argv[0], i);
		snprintf(npath, sizeof(npath), "%s-%" PRIu64 ".r", argv[0], i);
		at_old = tt_size_of(t, path, &got) == 0;
		at_new = !at_old && tt_size_of(t, npath, &got) == 0;
		if (op == 'R' && (at_old || !at_new)) {
			printf("lost rename %" PRIu64 "\n", i);
			bad++;
		} else if (!at_old && !at_new) {
			printf("lost create %" PRIu64 "\n", i);
			bad++;
		} else if (op == 'W' && got != size) {
			printf("lost commit %" PRIu64 ": size %" PRIu64 " != %" PRIu64 "\n", i, got, size);
			bad++;
		}
	}
	fclose(f);
	printf("verified %d steps, %d lost\n", steps, bad);
	return bad ? 1 : 0;
}


/* ---- md-bench driver ---- */

struct bench_thr {
	struct tt *t;
	int id, phase, n;
	uint64_t dir;
	int errors;
	pthread_barrier_t *bar;
};

static int bench_op(struct tt *t, int phase, uint64_t dir, int id, int i)
{
	struct gn_rpc_result res;
	char name[64], nname[64];
	int ret;

	snprintf(name, sizeof(name), "f%d-%d", id, i);
	snprintf(nname, sizeof(nname), "g%d-%d", id, i);
	if (phase == 0) {
		Gannet__MknodRequest q = GANNET__MKNOD_REQUEST__INIT;
		q.h = &t->h;
		q.parent = dir;
		q.name = gn_rpc_str(name);
		q.mode = 0100644;
		ret = CALL(t, "Mknod", &q, entry_reply, &res);
	} else if (phase == 1) {
		Gannet__LookupRequest q = GANNET__LOOKUP_REQUEST__INIT;
		q.h = &t->h;
		q.parent = dir;
		q.name = gn_rpc_str(name);
		ret = CALL(t, "Lookup", &q, entry_reply, &res);
	} else if (phase == 2) {
		Gannet__RenameRequest q = GANNET__RENAME_REQUEST__INIT;
		q.h = &t->h;
		q.parent = q.new_parent = dir;
		q.name = gn_rpc_str(name);
		q.new_name = gn_rpc_str(nname);
		ret = CALL(t, "Rename", &q, rename_reply, &res);
	} else {
		Gannet__UnlinkRequest q = GANNET__UNLINK_REQUEST__INIT;
		q.h = &t->h;
		q.parent = dir;
		q.name = gn_rpc_str(nname);
		ret = CALL(t, "Unlink", &q, unlink_reply, &res);
	}
	gn_rpc_result_release(&res);
	return ret;
}

static void *bench_thread(void *p)
{
	struct bench_thr *b = p;

	for (int phase = 0; phase < 4; phase++) {
		pthread_barrier_wait(b->bar);
		for (int i = 0; i < b->n; i++)
			if (bench_op(b->t, phase, b->dir, b->id, i))
				b->errors++;
		pthread_barrier_wait(b->bar);
	}
	return NULL;
}

/* test-tool mds-bench ADDR THREADS NOPS: NOPS creates (Mknod), stats
 * (Lookup), renames and unlinks spread over THREADS threads, each in its
 * own directory; prints operations per second of each phase. */
int tt_mds_bench(int argc, char **argv)
{
	static const char *const names[] = { "create", "stat", "rename", "unlink" };
	struct bench_thr *b;
	pthread_barrier_t bar;
	pthread_t *th;
	struct tt t = { 0 };
	int nthr, nops, errors = 0;

	if (argc != 4)
		return 2;
	nthr = atoi(argv[2]);
	nops = atoi(argv[3]);
	if (nthr < 1 || nops < nthr)
		return 2;
	if (tt_connect(&t, argv[1])) {
		tt_disconnect(&t);
		return 1;
	}
	b = xcalloc((size_t)nthr, sizeof(*b));
	th = xcalloc((size_t)nthr, sizeof(*th));
	pthread_barrier_init(&bar, NULL, (unsigned)nthr + 1);
	for (int i = 0; i < nthr; i++) {
		Gannet__MkdirRequest q = GANNET__MKDIR_REQUEST__INIT;
		struct gn_rpc_result res;
		char name[64];
		snprintf(name, sizeof(name), "bench-%d-%d-%d", (int)getpid(), nthr, i);
		q.h = &t.h;
		q.parent = 1;
		q.name = gn_rpc_str(name);
		q.mode = 0755;
		if (CALL(&t, "Mkdir", &q, entry_reply, &res))
			return tt_fail(&res);
		b[i].dir = ((Gannet__EntryReply *)res.reply)->attr->ino;
		gn_rpc_result_release(&res);
		b[i].t = &t;
		b[i].id = i;
		b[i].n = nops / nthr;
		b[i].bar = &bar;
		pthread_create(&th[i], NULL, bench_thread, &b[i]);
	}
	for (int phase = 0; phase < 4; phase++) {
		int64_t start;
		double secs;
		pthread_barrier_wait(&bar);
		start = gn_mono_ns();
		pthread_barrier_wait(&bar);
		secs = (double)(gn_mono_ns() - start) / 1e9;
		printf("%s%s=%.0f", phase ? " " : "", names[phase],
		       (double)(nops / nthr * nthr) / secs);
		fflush(stdout);
	}
	printf("\n");
	for (int i = 0; i < nthr; i++) {
		pthread_join(th[i], NULL);
		errors += b[i].errors;
	}
	pthread_barrier_destroy(&bar);
	free(b);
	free(th);
	tt_disconnect(&t);
	if (errors)
		fprintf(stderr, "mds-bench: %d operations failed\n", errors);
	return errors ? 1 : 0;
}

/* Send a message of the wrong type to Mds/METHOD: a varint where the
 * request's field 1 (the header) must be a message.  Prints the errno. */
static int op_malformed(struct tt *t, int argc, char **argv)
{
	Gannet__SessionOpenReply bogus = GANNET__SESSION_OPEN_REPLY__INIT;
	struct gn_rpc_result res;

	if (argc < 1)
		return 2;
	bogus.session_id = 5;
	bogus.root_ino = 7;
	if (tt_call(t, argv[0], &bogus.base, &gannet__session_open_reply__descriptor, 0, &res) == 0) {
		gn_rpc_result_release(&res);
		printf("OK\n");
		return 0;
	}
	return tt_fail(&res);
}

/* ---- store-only benchmark (no RPC) ---- */

struct sbench_thr {
	struct mds *m;
	int id, n, errors;
};

static void *sbench_thread(void *p)
{
	static const struct mds_cred root;
	struct sbench_thr *b = p;
	char name[64];

	for (int i = 0; i < b->n; i++) {
		struct db_inode n;
		snprintf(name, sizeof(name), "s%d-%d", b->id, i);
		if (mds_ns_mknod(b->m, &root, 1, name, 0100644, 0, 0, &n, NULL))
			b->errors++;
	}
	return NULL;
}

/* test-tool mds-store-bench DIR THREADS NOPS yes|no: durable creates per
 * second through the namespace layer on a fresh store in DIR, without RPC:
 * what the store and group commit can do on this machine. */
int tt_mds_store_bench(int argc, char **argv)
{
	struct mds_opts o = { .session_timeout_ms = 60000, .default_replicas = 1,
			      .no_ticker = true };
	struct sbench_thr *b;
	pthread_t *th;
	struct mds *m;
	int nthr, nops, errors = 0;
	int64_t start;

	if (argc != 5)
		return 2;
	o.data_dir = argv[1];
	nthr = atoi(argv[2]);
	nops = atoi(argv[3]);
	o.group_commit = !strcmp(argv[4], "yes");
	if (nthr < 1 || nops < nthr)
		return 2;
	if (mds_new(&o, &m)) {
		fprintf(stderr, "cannot open store '%s'\n", argv[1]);
		return 1;
	}
	b = xcalloc((size_t)nthr, sizeof(*b));
	th = xcalloc((size_t)nthr, sizeof(*th));
	start = gn_mono_ns();
	for (int i = 0; i < nthr; i++) {
		b[i] = (struct sbench_thr){ .m = m, .id = i, .n = nops / nthr };
		pthread_create(&th[i], NULL, sbench_thread, &b[i]);
	}
	for (int i = 0; i < nthr; i++) {
		pthread_join(th[i], NULL);
		errors += b[i].errors;
	}
	printf("create=%.0f\n", (double)(nops / nthr * nthr) /
	       ((double)(gn_mono_ns() - start) / 1e9));
	mds_free(m);
	free(b);
	free(th);
	return errors ? 1 : 0;
}

/* ---- dispatch ---- */

static int tt_dispatch(struct tt *t, int argc, char **argv)
{
	const char *op = argv[0];

	argc--;
	argv++;
	if (!strcmp(op, "lookup") || !strcmp(op, "stat"))
		return op_stat(t, argc, argv);
	if (!strcmp(op, "mkdir"))
		return op_mkdir(t, argc, argv);
	if (!strcmp(op, "mknod"))
		return op_mknod(t, argc, argv);
	if (!strcmp(op, "create"))
		return op_create(t, argc, argv);
	if (!strcmp(op, "unlink"))
		return op_remove(t, argc, argv, "Unlink");
	if (!strcmp(op, "rmdir"))
		return op_remove(t, argc, argv, "Rmdir");
	if (!strcmp(op, "rename"))
		return op_rename(t, argc, argv);
	if (!strcmp(op, "link"))
		return op_link(t, argc, argv);
	if (!strcmp(op, "symlink"))
		return op_symlink(t, argc, argv);
	if (!strcmp(op, "readlink"))
		return op_readlink(t, argc, argv);
	if (!strcmp(op, "ls"))
		return op_ls(t, argc, argv, false);
	if (!strcmp(op, "lsplus"))
		return op_ls(t, argc, argv, true);
	if (!strcmp(op, "chmod"))
		return op_chmod(t, argc, argv);
	if (!strcmp(op, "chown"))
		return op_chown(t, argc, argv);
	if (!strcmp(op, "truncate"))
		return op_truncate(t, argc, argv);
	if (!strcmp(op, "utime"))
		return op_utime(t, argc, argv);
	if (!strcmp(op, "setxattr"))
		return op_setxattr(t, argc, argv, false);
	if (!strcmp(op, "setxattr-size"))
		return op_setxattr(t, argc, argv, true);
	if (!strcmp(op, "getxattr"))
		return op_getxattr(t, argc, argv, false);
	if (!strcmp(op, "rmxattr"))
		return op_getxattr(t, argc, argv, true);
	if (!strcmp(op, "listxattr"))
		return op_listxattr(t, argc, argv);
	if (!strcmp(op, "statfs"))
		return op_statfs(t);
	if (!strcmp(op, "write"))
		return op_write(t, argc, argv);
	if (!strcmp(op, "chunks"))
		return op_chunks(t, argc, argv);
	if (!strcmp(op, "policy"))
		return op_policy(t, argc, argv);
	if (!strcmp(op, "status"))
		return op_status(t);
	if (!strcmp(op, "ds-list"))
		return op_ds_list(t);
	if (!strcmp(op, "ds-admin"))
		return op_ds_admin(t, argc, argv);
	if (!strcmp(op, "list-degraded"))
		return op_list_degraded(t, argc, argv);
	if (!strcmp(op, "ds-register"))
		return op_ds_register(t, argc, argv);
	if (!strcmp(op, "ds-heartbeat"))
		return op_ds_heartbeat(t, argc, argv);
	if (!strcmp(op, "ds-replicated"))
		return op_ds_replicated(t, argc, argv);
	if (!strcmp(op, "report-bad"))
		return op_report_bad(t, argc, argv);
	if (!strcmp(op, "sessions"))
		return op_sessions(t);
	if (!strcmp(op, "session-open"))
		return op_session_open(t, argc, argv);
	if (!strcmp(op, "orphan"))
		return op_orphan(t, argc, argv);
	if (!strcmp(op, "close-batch"))
		return op_close_batch(t, argc, argv);
	if (!strcmp(op, "lease-recall"))
		return op_lease_recall(t, argc, argv);
	if (!strcmp(op, "malformed"))
		return op_malformed(t, argc, argv);
	if (!strcmp(op, "load"))
		return op_load(t, argc, argv);
	if (!strcmp(op, "verify"))
		return op_verify(t, argc, argv);
	fprintf(stderr, "test-tool mds: unknown op '%s'\n", op);
	return 2;
}

int tt_mds(int argc, char **argv)
{
	struct tt t = { 0 };
	int i, ret;

	if (argc < 3)
		return 2;
	if (tt_connect(&t, argv[1])) {
		fprintf(stderr, "cannot connect to '%s'\n", argv[1]);
		tt_disconnect(&t);
		return 1;
	}
	for (i = 2; i < argc && !strncmp(argv[i], "--", 2); i++) {
		if (!strncmp(argv[i], "--uid=", 6))
			t.cred.uid = (uint32_t)atoi(argv[i] + 6);
		else if (!strncmp(argv[i], "--gid=", 6))
			t.cred.gid = (uint32_t)atoi(argv[i] + 6);
		else if (!strcmp(argv[i], "--escapes"))
			t.escapes = true;
		else if (!strncmp(argv[i], "--session=", 10))
			t.h.session_id = strtoull(argv[i] + 10, NULL, 10);
		else if (!strncmp(argv[i], "--groups=", 9)) {
			char *s = argv[i] + 9, *end;
			while (*s && t.cred.n_groups < 64) {
				t.groups[t.cred.n_groups++] = (uint32_t)strtoul(s, &end, 10);
				s = *end == ',' ? end + 1 : end;
				if (end == s)
					break;
			}
			t.cred.groups = t.groups;
		}
	}
	ret = i < argc ? tt_dispatch(&t, argc - i, argv + i) : 2;
	fflush(stdout);
	tt_disconnect(&t);
	return ret;
}

int tt_mds_ds_up(int argc, char **argv)
{
	Gannet__ListDsRequest q = GANNET__LIST_DS_REQUEST__INIT;
	Gannet__ReqHeader h = GANNET__REQ_HEADER__INIT;
	struct gn_rpc_result res;
	struct tt t = { 0 };
	int up = 0, ret;

	if (argc != 2)
		return 2;
	if (tt_connect(&t, argv[1])) {
		tt_disconnect(&t);
		return 1;
	}
	q.h = &h;
	ret = tt_call(&t, "ListDs", &q.base, &gannet__list_ds_reply__descriptor, 3000, &res);
	if (ret == 0) {
		Gannet__ListDsReply *r = (Gannet__ListDsReply *)res.reply;
		for (size_t i = 0; i < r->n_servers; i++)
			if (r->servers[i]->state == GANNET__DS_INFO__STATE__UP)
				up++;
		printf("%d\n", up);
	} else {
		fprintf(stderr, "ListDs: %s %s\n", errname(ret), res.detail);
	}
	gn_rpc_result_release(&res);
	tt_disconnect(&t);
	return ret ? 1 : 0;
}
