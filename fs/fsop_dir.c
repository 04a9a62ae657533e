/*
 * fsop_dir.c - directory handles (opendir, readdir, readdirplus,
 * releasedir, fsyncdir) and statfs.
 *
 * A directory handle keeps the entries fetched so far, in order; the
 * kernel's offset is the position in that list, so telldir/seekdir work
 * and a listing never repeats or skips an entry present throughout.  The
 * MDS's cookies resume the listing where the list ends.  "." and ".."
 * are made here (the MDS does not return them).  rewinddir (offset 0)
 * starts afresh.
 */
#include "config.h"
#include "fs/fsop_i.h"
#include "fs/io.h"
#include "common/log.h"
#include "common/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define DIR_BATCH 512

struct dent {
	char *name;
	uint64_t ino;		/* MDS inode */
	uint32_t type;		/* S_IFMT bits */
	bool has_attr;
	struct fs_attr attr;
	struct fs_chunk hint;	/* chunk 0 of a small file; version 0: none */
};

struct fs_dir {
	pthread_mutex_t lock;
	uint64_t ino;
	struct dent *v;
	size_t n, cap;
	uint64_t cookie;	/* resume after the last fetched entry */
	bool eof;
};

static void dir_clear(struct fs_dir *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->v[i].name);
	d->n = 0;
	d->cookie = 0;
	d->eof = false;
}

static struct dent *dir_add(struct fs_dir *d, const char *name, uint64_t ino,
			    uint32_t type, const struct fs_attr *a)
{
	struct dent *e;

	if (d->n == d->cap) {
		d->cap = d->cap ? d->cap * 2 : 64;
		d->v = xrealloc(d->v, d->cap * sizeof(*d->v));
	}
	e = &d->v[d->n++];
	memset(e, 0, sizeof(*e));
	e->name = xstrdup(name);
	e->ino = ino;
	e->type = type & S_IFMT;
	if (a) {
		e->has_attr = true;
		e->attr = *a;
	}
	return e;
}

/* Fetch the next batch from the MDS; under d->lock. */
static int dir_fetch(fuse_req_t req, struct fs_session *s, struct fs_dir *d)
{
	Gannet__ReadDirReply *r;
	struct gn_rpc_result res;
	struct fs_cred c;
	int ret;

	fsop_cred(req, &c);
	ret = mdsc_readdir(s, &c, d->ino, d->cookie, DIR_BATCH, true, &res);
	if (ret)
		return ret;
	r = (Gannet__ReadDirReply *)res.reply;
	fs_session_add_servers(s, r->servers, r->n_servers);
	for (size_t i = 0; i < r->n_entries; i++) {
		const Gannet__DirEntry *de = r->entries[i];
		struct fs_attr a;
		struct dent *e;
		bool ok;

		if (!de->name || fsop_check_name(de->name) || strchr(de->name, '/') ||
		    !de->ino) {
			log_warn("bad directory entry from the metadata server dir=%llu",
				 (unsigned long long)d->ino);
			continue;
		}
		ok = de->attr && !fs_attr_from_pb(de->attr, &a);
		if (ok) {
			a.attr_lease_ms = r->attr_lease_ms;
			a.entry_lease_ms = r->attr_lease_ms;
		}
		e = dir_add(d, de->name, de->ino, de->type, ok ? &a : NULL);
		if (ok)
			fs_chunk_hint_from_pb(&e->hint, de->first_chunk);
		d->cookie = de->cookie;
	}
	/* An empty batch that is not eof would loop forever: treat as eof. */
	d->eof = r->eof || !r->n_entries;
	gn_rpc_result_release(&res);
	return 0;
}

/*
 * Valid replies:
 *   fuse_reply_open
 *   fuse_reply_err
 */
void fsop_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs_session *s = fsop_session(req);
	struct fs_dir *d = xcalloc(1, sizeof(*d));

	pthread_mutex_init(&d->lock, NULL);
	d->ino = fsop_ino(s, ino);
	fi->fh = (uintptr_t)d;
	if (fuse_reply_open(req, fi) == -ENOENT) {
		pthread_mutex_destroy(&d->lock);
		free(d);
	}
}

static void do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi, bool plus)
{
	struct fs_session *s = fsop_session(req);
	struct fs_dir *d = (struct fs_dir *)(uintptr_t)fi->fh;
	char *buf = xmalloc(size), *p = buf;
	size_t rem = size, i;
	int ret = 0;

	pthread_mutex_lock(&d->lock);
	if (off == 0 || d->n == 0) {
		dir_clear(d);
		dir_add(d, ".", d->ino, S_IFDIR, NULL);
		dir_add(d, "..", d->ino == s->root_ino ? d->ino : 0, S_IFDIR, NULL);
	}
	for (i = (size_t)off;; i++) {
		struct dent *e;
		size_t need;

		if (i >= d->n) {
			if (d->eof)
				break;
			ret = dir_fetch(req, s, d);
			if (ret)
				break;
			if (i >= d->n)
				break;
		}
		e = &d->v[i];
		if (plus) {
			struct fuse_entry_param ep;
			struct fs_inode *in;

			if (e->has_attr && i >= 2) {
				fsop_entry_param(s, &e->attr, &ep);
			} else {
				memset(&ep, 0, sizeof(ep));
				ep.attr.st_ino = e->ino ? fsop_fino(s, e->ino) : FUSE_ROOT_ID;
				ep.attr.st_mode = e->type;
			}
			need = fuse_add_direntry_plus(req, p, rem, e->name, &ep,
						      (off_t)i + 1);
			if (need > rem)
				break;
			/* The kernel counts a lookup for every entry with a
			 * node id it gets from readdirplus. */
			if (ep.ino) {
				fs_inode_lookup(s, e->attr.st.st_ino, e->type,
						e->has_attr && i >= 2 ? &ep.attr : NULL);
				in = e->hint.version ? fs_inode_find(s, e->ino) : NULL;
				if (in) {
					fs_io_hint_set(in, &e->hint);
					fs_inode_put(s, in);
				}
			}
		} else {
			struct stat st = { 0 };

			st.st_ino = e->ino ? fsop_fino(s, e->ino) : FUSE_ROOT_ID;
			st.st_mode = e->type;
			need = fuse_add_direntry(req, p, rem, e->name, &st, (off_t)i + 1);
			if (need > rem)
				break;
		}
		p += need;
		rem -= need;
	}
	pthread_mutex_unlock(&d->lock);
	(void)ino;
	/* Entries already placed are returned; an error only when none. */
	if (ret && p == buf)
		fsop_reply_err(req, ret);
	else
		fuse_reply_buf(req, buf, size - rem);
	free(buf);
}

/*
 * Valid replies:
 *   fuse_reply_buf
 *   fuse_reply_data
 *   fuse_reply_err
 */
void fsop_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		  struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, fi, false);
}

/*
 * Valid replies:
 *   fuse_reply_buf
 *   fuse_reply_data
 *   fuse_reply_err
 */
void fsop_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		      struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, fi, true);
}

/*
 * Valid replies:
 *   fuse_reply_err
 */
void fsop_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs_dir *d = (struct fs_dir *)(uintptr_t)fi->fh;

	(void)ino;
	dir_clear(d);
	free(d->v);
	pthread_mutex_destroy(&d->lock);
	free(d);
	fuse_reply_err(req, 0);
}

/*
 * Directory changes are durable when the MDS answers them.
 *
 * Valid replies:
 *   fuse_reply_err
 */
void fsop_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync,
		   struct fuse_file_info *fi)
{
	(void)ino; (void)datasync; (void)fi;
	fuse_reply_err(req, 0);
}

/*
 * Valid replies:
 *   fuse_reply_statfs
 *   fuse_reply_err
 */
void fsop_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct fs_session *s = fsop_session(req);
	Gannet__StatFsReply r = GANNET__STAT_FS_REPLY__INIT;
	struct statvfs st;
	struct fs_cred c;
	int ret;

	(void)ino;
	fsop_cred(req, &c);
	ret = mdsc_statfs(s, &c, &r);
	if (ret) {
		fsop_reply_err(req, ret);
		return;
	}
	memset(&st, 0, sizeof(st));
	st.f_bsize = 1 << 20;		/* preferred I/O size */
	st.f_frsize = 4096;
	st.f_blocks = r.total_bytes / 4096;
	st.f_bfree = r.free_bytes / 4096;
	st.f_bavail = st.f_bfree;
	st.f_files = r.max_files ? r.max_files : r.files + (1ull << 32);
	st.f_ffree = st.f_files > r.files ? st.f_files - r.files : 0;
	st.f_favail = st.f_ffree;
	st.f_namemax = FS_NAME_MAX;
	fuse_reply_statfs(req, &st);
}
