/*
 * ctl_file.c - gannetctl info and policy: commands on one path.
 *
 * A PATH is resolved by the MDS, never through the kernel: gannetctl may
 * run where nothing is mounted, and stat() through a mount would not give
 * chunk maps anyway.  An absolute PATH under a gannet mount listed in
 * /proc/self/mounts (type fuse.gannet, source HOST[:PORT]:/[SUBDIR]) is
 * turned into SUBDIR/REST on that mount's MDS; any other PATH is taken
 * from the filesystem root.  Components are looked up one by one from
 * inode 1, so the caller's credentials (sent in every request) decide
 * what may be traversed, as they would in the kernel.
 */
#include "config.h"
#include "fs/ctl_i.h"
#include "common/status.h"
#include "common/util.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <mntent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define GN_ROOT_INO 1
#define MDS_DEFAULT_PORT 9400

/* realpath() of arg's directory plus its last component, so that a
 * symlink named by PATH is described itself, not its target. */
static char *canonical(const char *arg)
{
	char *copy = xstrdup(arg), *slash, *dir, *ret = NULL;
	const char *base;

	slash = strrchr(copy, '/');
	if (!slash || !slash[1] || !strcmp(slash + 1, ".") ||
	    !strcmp(slash + 1, "..")) {
		ret = realpath(arg, NULL);
		goto out;
	}
	*slash = '\0';
	base = slash + 1;
	dir = realpath(*copy ? copy : "/", NULL);
	if (dir) {
		ret = xasprintf("%s%s%s", dir, strcmp(dir, "/") ? "/" : "", base);
		free(dir);
	}
out:
	free(copy);
	return ret;
}

/* "host:port:/sub" -> mds "host:port", sub "/sub".  -EINVAL if it is not
 * a gannet source. */
static int parse_source(const char *src, char **mds, char **sub)
{
	const char *p = src, *start, *sep;
	char *host, hbuf[256];
	int port, ret;

	if (!strncmp(p, "gannet#", 7))
		p += 7;
	start = p;
	if (*p == '[' && !(start = strchr(p, ']')))
		return -EINVAL;
	sep = strstr(start, ":/");
	if (!sep || sep == p)
		return -EINVAL;
	host = xmalloc((size_t)(sep - p) + 1);
	memcpy(host, p, (size_t)(sep - p));
	host[sep - p] = '\0';
	ret = gn_parse_hostport(host, hbuf, sizeof(hbuf), &port, MDS_DEFAULT_PORT);
	free(host);
	if (ret)
		return -EINVAL;
	*mds = strchr(hbuf, ':') ? xasprintf("[%s]:%d", hbuf, port) :
				   xasprintf("%s:%d", hbuf, port);
	*sub = xstrdup(sep + 1);
	return 0;
}

/*
 * If arg lies under a gannet mount: *fspath = SUBDIR/REST, *mds = the
 * mount's MDS; returns 1.  Returns 0 when it does not.
 */
static int find_mount(const char *arg, char **fspath, char **mds)
{
	struct mntent *me, ment;
	char buf[4096], *path, *best_mds = NULL, *best_sub = NULL;
	size_t best_len = 0;
	FILE *f;
	int ret = 0;

	if (arg[0] != '/')
		return 0;
	path = canonical(arg);
	if (!path)
		return 0;
	f = setmntent("/proc/self/mounts", "r");
	while (f && (me = getmntent_r(f, &ment, buf, sizeof(buf)))) {
		size_t n = strlen(me->mnt_dir);
		char *m, *s;

		if (strcmp(me->mnt_type, "fuse.gannet") && strcmp(me->mnt_type, "gannet"))
			continue;
		if (strncmp(path, me->mnt_dir, n) ||
		    (path[n] && path[n] != '/' && strcmp(me->mnt_dir, "/")))
			continue;
		if (n < best_len || parse_source(me->mnt_fsname, &m, &s))
			continue;
		free(best_mds);
		free(best_sub);
		best_mds = m;
		best_sub = s;
		best_len = n;
	}
	if (f)
		endmntent(f);
	if (best_mds) {
		*fspath = xasprintf("%s/%s", best_sub,
				    path + (best_len == 1 ? 0 : best_len));
		*mds = best_mds;
		best_mds = NULL;
		ret = 1;
	}
	free(best_mds);
	free(best_sub);
	free(path);
	return ret;
}

/* Split a path into components, resolving "." and ".." lexically (".."
 * of the root is the root).  *comps is malloc'd, strings point into
 * *storage. */
static size_t split_path(const char *path, char ***comps, char **storage)
{
	char *s = xstrdup(path), *tok, *save = NULL;
	char **v = xcalloc(strlen(path) / 2 + 2, sizeof(char *));
	size_t n = 0;

	for (tok = strtok_r(s, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
		if (!strcmp(tok, "."))
			continue;
		if (!strcmp(tok, "..")) {
			if (n)
				n--;
			continue;
		}
		v[n++] = tok;
	}
	*comps = v;
	*storage = s;
	return n;
}

struct ctl_resolved {
	char *fspath;			/* normalized, "/a/b" */
	uint64_t ino;
	const Gannet__Attr *attr;	/* owned by res */
	struct gn_rpc_result res;
};

static void resolved_release(struct ctl_resolved *r)
{
	free(r->fspath);
	gn_rpc_result_release(&r->res);
}

static int resolve(struct ctl *c, const char *arg, struct ctl_resolved *out)
{
	char *fspath = NULL, *mds = NULL, **comps = NULL, *storage = NULL;
	struct gn_rpc_result res = { 0 };
	uint64_t ino = GN_ROOT_INO;
	size_t n, i;
	int ret;

	if (find_mount(arg, &fspath, &mds)) {
		if (!c->mds_from_cmdline) {
			free(c->mds_addr);
			c->mds_addr = mds;
			mds = NULL;
		}
	} else {
		fspath = xstrdup(arg);
	}
	n = split_path(fspath, &comps, &storage);
	free(fspath);
	/* Rebuild the normalized path for messages and output. */
	fspath = xstrdup("");
	for (i = 0; i < n; i++) {
		char *t = xasprintf("%s/%s", fspath, comps[i]);

		free(fspath);
		fspath = t;
	}
	if (!n) {
		Gannet__GetAttrRequest req = GANNET__GET_ATTR_REQUEST__INIT;

		free(fspath);
		fspath = xstrdup("/");
		req.h = ctl_hdr(c);
		req.ino = GN_ROOT_INO;
		ret = ctl_mds_call(c, "GetAttr", "getattr '/'", &req.base,
				   &gannet__attr_reply__descriptor, &res);
		if (ret)
			goto out;
		out->attr = ((Gannet__AttrReply *)res.reply)->attr;
	}
	for (i = 0; i < n; i++) {
		Gannet__LookupRequest req = GANNET__LOOKUP_REQUEST__INIT;
		char what[PATH_MAX + 32];

		gn_rpc_result_release(&res);
		req.h = ctl_hdr(c);
		req.parent = ino;
		req.name = gn_rpc_str(comps[i]);
		snprintf(what, sizeof(what), "'%s'", fspath);
		ret = ctl_mds_call(c, "Lookup", what, &req.base,
				   &gannet__entry_reply__descriptor, &res);
		if (ret)
			goto out;
		out->attr = ((Gannet__EntryReply *)res.reply)->attr;
		if (!out->attr) {
			ctl_err(c, "lookup of '%s' returned no attributes", fspath);
			ret = -EPROTO;
			goto out;
		}
		ino = out->attr->ino;
	}
	if (!out->attr) {
		ctl_err(c, "getattr of '/' returned no attributes");
		ret = -EPROTO;
		goto out;
	}
	out->ino = out->attr->ino;
	out->fspath = fspath;
	fspath = NULL;
	out->res = res;
	memset(&res, 0, sizeof(res));
	ret = 0;
out:
	gn_rpc_result_release(&res);
	free(fspath);
	free(mds);
	free(comps);
	free(storage);
	return ret;
}

static const char *type_name(uint32_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG: return "file";
	case S_IFDIR: return "directory";
	case S_IFLNK: return "symlink";
	case S_IFIFO: return "fifo";
	case S_IFSOCK: return "socket";
	case S_IFCHR: return "char device";
	case S_IFBLK: return "block device";
	default: return "unknown";
	}
}

static const char *ds_addr(const Gannet__GetChunksReply *r, uint32_t id)
{
	for (size_t i = 0; i < r->n_servers; i++)
		if (r->servers[i]->id == id)
			return r->servers[i]->addr;
	return NULL;
}

/* GetPolicy without printing errors: policy is optional in `info`. */
static int get_policy(struct ctl *c, uint64_t ino, struct gn_rpc_result *res,
		      const Gannet__Policy **out)
{
	Gannet__PolicyRequest req = GANNET__POLICY_REQUEST__INIT;
	int ret;

	req.h = ctl_hdr(c);
	req.ino = ino;
	ret = ctl_mds_call_quiet(c, "GetPolicy", &req.base,
				 &gannet__policy_reply__descriptor, res);
	if (!ret && !((Gannet__PolicyReply *)res->reply)->policy) {
		gn_rpc_result_release(res);
		ret = -EPROTO;
		res->err = ret;
	}
	if (!ret)
		*out = ((Gannet__PolicyReply *)res->reply)->policy;
	return ret;
}

static void info_json(struct ctl *c, const struct ctl_resolved *r,
		      const Gannet__Policy *pol, const Gannet__GetChunksReply *ch)
{
	const Gannet__Attr *a = r->attr;
	struct ctl_json j;
	char mode[8];

	snprintf(mode, sizeof(mode), "%04o", a->mode & 07777);
	cj_begin(&j, stdout);
	cj_str(&j, "path", r->fspath);
	cj_u64(&j, "inode", a->ino);
	cj_str(&j, "type", type_name(a->mode));
	cj_str(&j, "mode", mode);
	cj_u64(&j, "nlink", a->nlink);
	cj_u64(&j, "uid", a->uid);
	cj_u64(&j, "gid", a->gid);
	cj_u64(&j, "size", a->size);
	cj_u64(&j, "blocks", a->blocks);
	cj_i64(&j, "mtime_ns", a->mtime_ns);
	cj_i64(&j, "ctime_ns", a->ctime_ns);
	if (pol) {
		cj_obj(&j, "policy");
		cj_u64(&j, "replicas", pol->replicas);
		cj_str(&j, "compression", ctl_compression(pol->compression));
		cj_close_obj(&j);
	}
	cj_arr(&j, "chunks");
	for (size_t i = 0; ch && i < ch->n_chunks; i++) {
		const Gannet__ChunkInfo *k = ch->chunks[i];

		cj_obj(&j, NULL);
		cj_u64(&j, "index", k->index);
		cj_hex(&j, "chunk_id", k->chunk_id);
		cj_u64(&j, "version", k->version);
		cj_u64(&j, "length", k->length);
		cj_hex(&j, "digest", k->digest);
		cj_str(&j, "compression", ctl_compression(k->compression));
		cj_arr(&j, "replicas");
		for (size_t m = 0; m < k->n_replicas; m++) {
			cj_obj(&j, NULL);
			cj_u64(&j, "id", k->replicas[m]);
			cj_str(&j, "addr", ds_addr(ch, k->replicas[m]));
			cj_close_obj(&j);
		}
		cj_close_arr(&j);
		cj_close_obj(&j);
	}
	cj_close_arr(&j);
	cj_end_doc(&j);
}

static void info_text(const struct ctl_resolved *r, const Gannet__Policy *pol,
		      const Gannet__GetChunksReply *ch)
{
	static const char *const head[] = { "INDEX", "CHUNK", "VERSION", "LENGTH",
					    "DIGEST", "REPLICAS" };
	const Gannet__Attr *a = r->attr;
	char b[48];

	printf("path:      %s\n", r->fspath);
	printf("inode:     %" PRIu64 "\n", a->ino);
	printf("type:      %s\n", type_name(a->mode));
	printf("mode:      %04o  uid %u  gid %u  links %u\n", a->mode & 07777,
	       a->uid, a->gid, a->nlink);
	printf("size:      %" PRIu64 " (%s)\n", a->size, gn_fmt_bytes(b, sizeof(b), a->size));
	printf("modified:  %s\n", ctl_fmt_time(b, sizeof(b), a->mtime_ns));
	if (pol)
		printf("policy:    replicas %u, compression %s\n", pol->replicas,
		       ctl_compression(pol->compression));
	if (!ch)
		return;
	printf("chunks:    %zu\n", ch->n_chunks);
	if (!ch->n_chunks)
		return;
	putchar('\n');
	struct ctl_table t;

	ctl_table_init(&t, head, 6, 1u << 0 | 1u << 2 | 1u << 3);
	for (size_t i = 0; i < ch->n_chunks; i++) {
		const Gannet__ChunkInfo *k = ch->chunks[i];
		char idx[24], id[24], ver[24], len[16], dig[24], reps[1024] = "";
		size_t off = 0;

		snprintf(idx, sizeof(idx), "%" PRIu64, k->index);
		snprintf(id, sizeof(id), "%016" PRIx64, k->chunk_id);
		snprintf(ver, sizeof(ver), "%" PRIu64, k->version);
		snprintf(len, sizeof(len), "%u", k->length);
		snprintf(dig, sizeof(dig), "%016" PRIx64, k->digest);
		for (size_t m = 0; m < k->n_replicas && off < sizeof(reps) - 64; m++) {
			const char *addr = ds_addr(ch, k->replicas[m]);

			off += (size_t)snprintf(reps + off, sizeof(reps) - off, "%s%u(%s)",
						m ? " " : "", k->replicas[m],
						addr ? addr : "?");
		}
		ctl_table_row(&t, idx, id, ver, len, dig, k->n_replicas ? reps : "none");
	}
	ctl_table_print(&t, stdout);
	ctl_table_release(&t);
}

int ctl_cmd_info(struct ctl *c, int argc, char **argv)
{
	Gannet__GetChunksRequest req = GANNET__GET_CHUNKS_REQUEST__INIT;
	struct gn_rpc_result pres = { 0 }, cres = { 0 };
	const Gannet__GetChunksReply *ch = NULL;
	const Gannet__Policy *pol = NULL;
	struct ctl_resolved r = { 0 };
	char what[PATH_MAX + 32];
	int ret = CTL_FAIL;

	if (argc != 2 || ctl_only_opts(c, "info", 0)) {
		if (argc != 2)
			ctl_err(c, "usage: gannetctl info PATH");
		return CTL_USAGE;
	}
	if (resolve(c, argv[1], &r))
		goto out;
	if (get_policy(c, r.ino, &pres, &pol))
		pol = NULL;
	if (S_ISREG(r.attr->mode)) {
		req.h = ctl_hdr(c);
		req.ino = r.ino;
		snprintf(what, sizeof(what), "chunks of '%s'", r.fspath);
		if (ctl_mds_call(c, "GetChunks", what, &req.base,
				 &gannet__get_chunks_reply__descriptor, &cres))
			goto out;
		ch = (const Gannet__GetChunksReply *)cres.reply;
	}
	if (c->json)
		info_json(c, &r, pol, ch);
	else
		info_text(&r, pol, ch);
	ret = CTL_OK;
out:
	gn_rpc_result_release(&cres);
	gn_rpc_result_release(&pres);
	resolved_release(&r);
	return ret;
}

static void print_policy(struct ctl *c, const char *path, const Gannet__Policy *p)
{
	if (c->json) {
		struct ctl_json j;

		cj_begin(&j, stdout);
		cj_str(&j, "path", path);
		cj_u64(&j, "replicas", p->replicas);
		cj_str(&j, "compression", ctl_compression(p->compression));
		cj_end_doc(&j);
	} else {
		printf("%s: replicas %u, compression %s\n", path, p->replicas,
		       ctl_compression(p->compression));
	}
}

int ctl_cmd_policy(struct ctl *c, int argc, char **argv)
{
	Gannet__PolicyRequest req = GANNET__POLICY_REQUEST__INIT;
	struct gn_rpc_result res = { 0 }, sres = { 0 };
	const Gannet__Policy *cur;
	struct ctl_resolved r = { 0 };
	Gannet__Policy np = GANNET__POLICY__INIT;
	char what[PATH_MAX + 32];
	bool set;
	int ret = CTL_FAIL;

	set = argc == 3 && !strcmp(argv[1], "set");
	if (argc != 3 || (!set && strcmp(argv[1], "get"))) {
		ctl_err(c, "usage: gannetctl policy get PATH | policy set PATH "
			"[--replicas N] [--compression none|zstd]");
		return CTL_USAGE;
	}
	if (ctl_only_opts(c, set ? "policy set" : "policy get",
			  set ? CTL_O_REPLICAS | CTL_O_COMPRESSION : 0))
		return CTL_USAGE;
	if (set && !(c->opts_given & (CTL_O_REPLICAS | CTL_O_COMPRESSION))) {
		ctl_err(c, "policy set needs --replicas or --compression");
		return CTL_USAGE;
	}
	if (resolve(c, argv[2], &r))
		goto out;
	req.h = ctl_hdr(c);
	req.ino = r.ino;
	snprintf(what, sizeof(what), "policy of '%s'", r.fspath);
	if (ctl_mds_call(c, "GetPolicy", what, &req.base,
			 &gannet__policy_reply__descriptor, &res))
		goto out;
	cur = ((Gannet__PolicyReply *)res.reply)->policy;
	if (!cur) {
		ctl_err(c, "%s: the MDS sent no policy", what);
		goto out;
	}
	if (!set) {
		print_policy(c, r.fspath, cur);
		ret = CTL_OK;
		goto out;
	}
	np.replicas = c->opts_given & CTL_O_REPLICAS ? (uint32_t)c->replicas :
						       cur->replicas;
	np.compression = cur->compression;
	if (c->opts_given & CTL_O_COMPRESSION)
		np.compression = strcmp(c->compression, "zstd") ?
			GANNET__COMPRESSION__COMPRESSION_NONE :
			GANNET__COMPRESSION__COMPRESSION_ZSTD;
	req.h = ctl_hdr(c);
	req.policy = &np;
	snprintf(what, sizeof(what), "set policy of '%s'", r.fspath);
	if (ctl_mds_call(c, "SetPolicy", what, &req.base,
			 &gannet__policy_reply__descriptor, &sres))
		goto out;
	cur = ((Gannet__PolicyReply *)sres.reply)->policy;
	print_policy(c, r.fspath, cur ? cur : &np);
	ret = CTL_OK;
out:
	gn_rpc_result_release(&sres);
	gn_rpc_result_release(&res);
	resolved_release(&r);
	return ret;
}
