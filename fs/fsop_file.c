/*
 * fsop_file.c - open files: open, create, read, write, flush, release,
 * fsync, lseek (SEEK_DATA/SEEK_HOLE), fallocate.
 *
 * Close-to-open: open always asks the MDS (fresh size and chunk map);
 * the kernel keeps its cached pages only when the chunk versions are the
 * ones it cached (keep_cache), and its cached attributes are dropped when
 * they may be stale.  flush (every close) and fsync upload what is
 * buffered and commit it before answering.
 */
#include "config.h"
#include "fs/fsop_i.h"
#include "fs/io.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/status.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

static struct fs_file *file_of(struct fuse_file_info *fi)
{
	return (struct fs_file *)(uintptr_t)fi->fh;
}

/* Set up fi for a fresh MDS handle; takes over the reference on in. */
static int file_setup(struct fs_session *s, struct fs_inode *in,
		      const Gannet__OpenReply *r, struct fuse_file_info *fi,
		      struct fs_file **out)
{
	struct fs_file *f;
	bool keep = false;
	int ret;

	f = xcalloc(1, sizeof(*f));
	f->inode = in;
	f->handle = r->handle;
	f->flags = fi->flags;
	f->writable = (fi->flags & O_ACCMODE) != O_RDONLY;
	f->direct = (fi->flags & O_DIRECT) != 0;
	ret = fs_io_open_reply(s, in, r, r->handle, f->writable, &keep);
	if (ret) {
		free(f);
		return ret;
	}
	pthread_mutex_lock(&in->lock);
	f->errseq = in->wb_errseq;
	pthread_mutex_unlock(&in->lock);
	fi->fh = (uintptr_t)f;
	fi->direct_io = f->direct;
	fi->keep_cache = keep && !f->direct;
	/* A read-only handle has nothing to upload at close (fsop_flush), and
	 * locks are the kernel's own: spare close(2) the FLUSH round trip. */
	fi->noflush = !f->writable;
	*out = f;
	return 0;
}

/* Undo file_setup after a failed reply. */
static void file_abort(struct fs_session *s, struct fs_file *f)
{
	mdsc_close(s, &fs_cred_root, f->inode->ino, f->handle);
	fs_io_closed(f->inode);
	fs_inode_put(s, f->inode);
	free(f);
}

static int fsop_do_open(fuse_req_t req, fuse_ino_t fino, struct fuse_file_info *fi,
			struct fs_file **out)
{
	struct fs_session *s = fsop_session(req);
	uint64_t ino = fsop_ino(s, fino);
	struct fs_inode *in = fs_inode_get(s, ino);
	struct gn_rpc_result res;
	struct fs_attr fresh;
	struct fs_cred c;
	int ret;

	fsop_cred(req, &c);
	if (fi->flags & O_TRUNC) {
		/* Our own buffered bytes must not outlive the truncate. */
		ret = fs_io_sync(s, in, 0, &c);
		if (ret)
			goto out;
	}
	if ((fi->flags & O_ACCMODE) == O_RDONLY && !(fi->flags & O_DIRECT))
		fs_io_open_hint(s, in);
	ret = mdsc_open(s, &c, ino, (uint32_t)fi->flags, &res);
	if (ret == -ENOENT)
		ret = -ESTALE;	/* a stale dentry: the kernel looks up again */
	if (ret)
		goto out;
	ret = file_setup(s, in, (Gannet__OpenReply *)res.reply, fi, out);
	if (ret)
		mdsc_close(s, &c, ino, ((Gannet__OpenReply *)res.reply)->handle);
	/* The kernel's size may predate another client's close: drop its
	 * attributes unless they are these (a getattr round trip saved on
	 * most opens of files that did not change). */
	if (!ret && !fi->keep_cache && s->kops &&
	    (fs_attr_from_pb(((Gannet__OpenReply *)res.reply)->attr, &fresh) ||
	     !fs_inode_kattr_current(in, &fresh.st)))
		s->kops->inval_inode(s, ino, false);
	gn_rpc_result_release(&res);
	if (!ret)
		in = NULL;	/* the file holds the reference */
out:
	fs_inode_put(s, in);
	return ret;
}

/*
 * Valid replies:
 *   fuse_reply_open
 *   fuse_reply_err
 */
void fsop_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs_session *s = fsop_session(req);
	struct fs_file *f;
	int ret = fsop_do_open(req, ino, fi, &f);

	if (ret)
		fsop_reply_err(req, ret);
	else if (fuse_reply_open(req, fi) == -ENOENT)
		file_abort(s, f);
}

/*
 * Valid replies:
 *   fuse_reply_create
 *   fuse_reply_err
 */
void fsop_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		 mode_t mode, struct fuse_file_info *fi)
{
	struct fs_session *s = fsop_session(req);
	struct gn_rpc_result res;
	struct fuse_entry_param e;
	struct fs_inode *in;
	struct fs_file *f;
	struct fs_attr a;
	struct fs_cred c;
	int ret;

	ret = fsop_check_name(name);
	if (ret)
		goto fail;
	fsop_cred(req, &c);
	ret = mdsc_create(s, &c, fsop_ino(s, parent), name, mode, 0,
			  (uint32_t)fi->flags, &res);
	if (ret)
		goto fail;
	ret = fs_attr_from_pb(((Gannet__OpenReply *)res.reply)->attr, &a);
	if (ret) {
		gn_rpc_result_release(&res);
		goto fail;
	}
	a.attr_lease_ms = ((Gannet__OpenReply *)res.reply)->attr_lease_ms;
	a.entry_lease_ms = a.attr_lease_ms;
	in = fs_inode_get(s, a.st.st_ino);
	ret = file_setup(s, in, (Gannet__OpenReply *)res.reply, fi, &f);
	gn_rpc_result_release(&res);
	if (ret) {
		fs_inode_put(s, in);
		goto fail;
	}
	fsop_entry_param(s, &a, &e);
	fs_inode_lookup(s, a.st.st_ino, a.st.st_mode, &e.attr);
	if (fuse_reply_create(req, &e, fi) == -ENOENT) {
		fs_inode_forget(s, a.st.st_ino, 1);
		file_abort(s, f);
	}
	return;
fail:
	fsop_reply_err(req, ret);
}

/* Answer a read from the pinned blocks of p, then unpin them. */
static void reply_pinned(fuse_req_t req, struct fs_session *s, struct fs_io_pinned *p)
{
	gn_metric_add(s->m.read_bytes, p->len);
	if (p->niov)
		fuse_reply_iov(req, p->iov, p->niov);
	else
		fuse_reply_buf(req, NULL, 0);
	fs_io_pinned_release(s, p);
}

/*
 * Valid replies:
 *   fuse_reply_buf
 *   fuse_reply_iov
 *   fuse_reply_data
 *   fuse_reply_err
 */
void fsop_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
	       struct fuse_file_info *fi)
{
	struct fs_session *s = fsop_session(req);
	struct fs_file *f = file_of(fi);
	struct fs_io_pinned pin;
	int ret;

	(void)ino;
	if (off < 0) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	if (size > FS_READ_MAX)
		size = FS_READ_MAX;
	/* Straight from the cache needs no buffer, so no read budget. */
	ret = fs_io_read_pinned(s, f->inode, (uint64_t)off, size, &pin);
	if (!ret) {
		reply_pinned(req, s, &pin);
		return;
	}
	fs_io_read_begin(s, size);
	/* Fetched into the cache and answered from there: no reply buffer
	 * to fault in, and one copy fewer. */
	ret = fs_io_read_fill(s, f->inode, (uint64_t)off, size, &pin);
	if (!ret) {
		reply_pinned(req, s, &pin);
	} else {
		gn_metric_inc(s->m.err_read);
		fsop_reply_err(req, ret);
	}
	fs_io_read_end(s, size);
}

/*
 * Valid replies:
 *   fuse_reply_write
 *   fuse_reply_err
 */
void fsop_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size,
		off_t off, struct fuse_file_info *fi)
{
	struct fs_session *s = fsop_session(req);
	struct fs_file *f = file_of(fi);
	int ret;

	(void)ino;
	if (off < 0 || (uint64_t)off + size > (uint64_t)INT64_MAX) {
		fuse_reply_err(req, EFBIG);
		return;
	}
	ret = fs_io_write(s, f, (uint64_t)off, buf, size);
	if (ret) {
		fsop_reply_err(req, ret);
	} else {
		gn_metric_add(s->m.written_bytes, size);
		fuse_reply_write(req, size);
	}
}

/*
 * Every close(2): upload and commit what this inode has buffered, so the
 * application sees write errors and other clients see the data.
 *
 * Valid replies:
 *   fuse_reply_err
 */
void fsop_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs_session *s = fsop_session(req);
	struct fs_file *f = file_of(fi);
	struct fs_cred c;
	int ret = 0;

	(void)ino;
	fsop_cred(req, &c);
	if (f->writable)
		ret = fs_io_sync_file(s, f, &c);
	fsop_reply_err(req, ret);
}

/*
 * Valid replies:
 *   fuse_reply_err
 */
void fsop_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs_session *s = fsop_session(req);
	struct fs_file *f = file_of(fi);
	int ret;

	(void)ino;
	/* Writes through a shared mapping may arrive after the last flush. */
	if (f->writable) {
		ret = fs_io_sync_file(s, f, &fs_cred_root);
		if (ret)
			log_err("cannot write back data at close ino=%llu err='%s'",
				(unsigned long long)f->inode->ino, gn_strerror(ret));
	}
	/* Nobody waits for the answer: data was committed above. */
	mdsc_close_async(s, f->inode->ino, f->handle);
	fs_io_closed(f->inode);
	fs_inode_put(s, f->inode);
	free(f);
	fuse_reply_err(req, 0);
}

/*
 * Valid replies:
 *   fuse_reply_err
 */
void fsop_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
		struct fuse_file_info *fi)
{
	struct fs_session *s = fsop_session(req);
	struct fs_file *f = file_of(fi);
	struct fs_cred c;

	(void)ino; (void)datasync;
	fsop_cred(req, &c);
	fsop_reply_err(req, fs_io_sync_file(s, f, &c));
}

/*
 * Valid replies:
 *   fuse_reply_lseek
 *   fuse_reply_err
 */
void fsop_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence,
		struct fuse_file_info *fi)
{
	struct fs_session *s = fsop_session(req);
	struct fs_file *f = file_of(fi);
	uint64_t out = 0;
	int ret;

	(void)ino;
	if (whence != SEEK_DATA && whence != SEEK_HOLE) {
		/* The kernel answers the others itself. */
		fuse_reply_err(req, EINVAL);
		return;
	}
	if (off < 0) {
		fuse_reply_err(req, ENXIO);
		return;
	}
	ret = fs_io_lseek(s, f->inode, (uint64_t)off, whence, &out);
	if (ret)
		fsop_reply_err(req, ret);
	else
		fuse_reply_lseek(req, (off_t)out);
}

/*
 * Mode 0 only: the size grows to offset + length; the space is not
 * reserved (chunks are placed when written), holes read as zeros.
 *
 * Valid replies:
 *   fuse_reply_err
 */
void fsop_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset,
		    off_t length, struct fuse_file_info *fi)
{
	struct fs_session *s = fsop_session(req);
	struct fs_file *f = file_of(fi);
	struct fs_inode *in = f->inode;
	struct fs_cred c;
	uint64_t end;
	int ret = 0;

	(void)ino;
	if (mode) {
		fuse_reply_err(req, EOPNOTSUPP);
		return;
	}
	if (offset < 0 || length <= 0 || offset > INT64_MAX - length) {
		fuse_reply_err(req, offset < 0 || length <= 0 ? EINVAL : EFBIG);
		return;
	}
	if (!f->writable) {
		fuse_reply_err(req, EBADF);
		return;
	}
	end = (uint64_t)offset + (uint64_t)length;
	pthread_mutex_lock(&in->lock);
	if (end > in->size) {
		in->size = end;
		in->size_dirty = true;
	}
	pthread_mutex_unlock(&in->lock);
	fsop_cred(req, &c);
	ret = fs_io_sync_file(s, f, &c);
	fsop_reply_err(req, ret);
}
