/*
 * fsop.c - the operations table, connection set-up (init) and what the
 * handlers share: credentials, inode number mapping, entry replies, and
 * the kernel invalidation hooks used by the session's lease recalls.
 */
#include "config.h"
#include "fs/fsop_i.h"
#include "fs/io.h"
#include "common/log.h"
#include "common/status.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

void fsop_cred(fuse_req_t req, struct fs_cred *c)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	gid_t groups[FS_MAX_GROUPS];
	int n;

	c->uid = ctx->uid;
	c->gid = ctx->gid;
	c->pid = (uint32_t)ctx->pid;
	c->ngroups = 0;
	/* Reads /proc/PID/task/PID/status; fails for a vanished process
	 * or an internal request (pid 0): then only the primary group. */
	n = fuse_req_getgroups(req, FS_MAX_GROUPS, groups);
	if (n > 0) {
		n = GN_MIN(n, FS_MAX_GROUPS);
		for (int i = 0; i < n; i++)
			c->groups[i] = groups[i];
		c->ngroups = (uint32_t)n;
	}
}

uint64_t fsop_ino(struct fs_session *s, fuse_ino_t ino)
{
	return ino == FUSE_ROOT_ID ? s->root_ino : ino;
}

fuse_ino_t fsop_fino(struct fs_session *s, uint64_t ino)
{
	return ino == s->root_ino ? FUSE_ROOT_ID : ino;
}

void fsop_fix_stat(struct fs_session *s, struct stat *st)
{
	struct fs_inode *in = fs_inode_find(s, st->st_ino);
	uint64_t size;

	if (in) {
		if (fs_io_local_size(in, &size)) {
			st->st_size = (off_t)size;
			if ((uint64_t)st->st_blocks * 512 < size)
				st->st_blocks = (blkcnt_t)((size + 511) / 512);
		}
		fs_inode_kattr_note(in, st);
		fs_inode_put(s, in);
	}
	st->st_ino = fsop_fino(s, st->st_ino);
}

void fsop_entry_param(struct fs_session *s, const struct fs_attr *a,
		      struct fuse_entry_param *e)
{
	memset(e, 0, sizeof(*e));
	e->attr = a->st;
	fsop_fix_stat(s, &e->attr);
	e->ino = e->attr.st_ino;
	e->generation = a->generation;
	e->attr_timeout = a->attr_lease_ms / 1000.0;
	e->entry_timeout = a->entry_lease_ms / 1000.0;
}

void fsop_reply_entry(fuse_req_t req, struct fs_session *s,
		      const struct fs_attr *a)
{
	struct fuse_entry_param e;

	fsop_entry_param(s, a, &e);
	/* Count first: a forget may race in right after the reply. */
	fs_inode_lookup(s, a->st.st_ino, a->st.st_mode, &e.attr);
	if (fuse_reply_entry(req, &e) == -ENOENT)
		fs_inode_forget(s, a->st.st_ino, 1);	/* interrupted */
}

void fsop_reply_err(fuse_req_t req, int err)
{
	fuse_reply_err(req, err ? gn_errno_posix(err) : 0);
}

int fsop_check_name(const char *name)
{
	size_t n = strlen(name);

	if (n > FS_NAME_MAX)
		return -ENAMETOOLONG;
	if (!n)
		return -ENOENT;
	return 0;
}

/* ---- kernel invalidation hooks ---- */

static void k_inval_inode(struct fs_session *s, uint64_t ino, bool data)
{
	int ret;

	if (!s->se)
		return;
	ret = fuse_lowlevel_notify_inval_inode(s->se, fsop_fino(s, ino),
					       data ? 0 : -1, 0);
	if (ret && ret != -ENOENT)
		log_debug("cannot invalidate inode ino=%llu err=%d",
			  (unsigned long long)ino, ret);
}

static void k_inval_entry(struct fs_session *s, uint64_t parent, const char *name)
{
	int ret;

	if (!s->se)
		return;
	ret = fuse_lowlevel_notify_inval_entry(s->se, fsop_fino(s, parent), name,
					       strlen(name));
	if (ret)
		log_debug("cannot invalidate entry parent=%llu name='%s' err=%d",
			  (unsigned long long)parent, name, ret);
}

static const struct fs_kernel_ops kops = {
	.inval_inode = k_inval_inode,
	.inval_entry = k_inval_entry,
};

void fsop_kernel_ops_init(struct fs_session *s)
{
	s->kops = &kops;
}

/* ---- init ---- */

/* Raise the mount's read-ahead in /sys/class/bdi (the kernel only lowers
 * it from max_readahead, never raises it).  Runs on its own thread: the
 * stat() of the mount point needs the session loop to answer. */
static void *raise_readahead(void *arg)
{
	struct fsop_ctx *ctx = arg;
	char path[128], val[32];
	struct stat st;
	int fd, n;

	if (!ctx->opts.mountpoint || stat(ctx->opts.mountpoint, &st))
		return NULL;
	snprintf(path, sizeof(path), "/sys/class/bdi/%u:%u/read_ahead_kb",
		 major(st.st_dev), minor(st.st_dev));
	fd = open(path, O_WRONLY);
	if (fd < 0) {
		log_debug("cannot open '%s': %s", path, strerror(errno));
		return NULL;
	}
	n = snprintf(val, sizeof(val), "%u", 4096u);
	if (write(fd, val, (size_t)n) != n)
		log_debug("cannot set read-ahead path='%s' err='%s'", path, strerror(errno));
	close(fd);
	return NULL;
}

static void fsop_init(void *userdata, struct fuse_conn_info *conn)
{
	struct fsop_ctx *ctx = userdata;
	pthread_t t;

	conn->max_write = 1u << 20;
	conn->max_readahead = 4u << 20;
	conn->max_background = 64;
	conn->congestion_threshold = 48;
	conn->time_gran = 1;
	conn->want |= conn->capable & (FUSE_CAP_ASYNC_READ | FUSE_CAP_ATOMIC_O_TRUNC |
				       FUSE_CAP_PARALLEL_DIROPS);
	if (ctx->opts.readdirplus)
		conn->want |= conn->capable & (FUSE_CAP_READDIRPLUS |
					       FUSE_CAP_READDIRPLUS_AUTO);
	else
		conn->want &= ~(FUSE_CAP_READDIRPLUS | FUSE_CAP_READDIRPLUS_AUTO);
	/* Measured slower here, and it would delay writes past close(),
	 * breaking close-to-open across clients. */
	conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
	/* Splicing a memory buffer is slower than a plain reply. */
	conn->want &= ~(FUSE_CAP_SPLICE_READ | FUSE_CAP_SPLICE_WRITE |
			FUSE_CAP_SPLICE_MOVE);
	/* Locks stay local to this client (the kernel's own). */
	conn->want &= ~(FUSE_CAP_POSIX_LOCKS | FUSE_CAP_FLOCK_LOCKS);
	conn->want &= ~FUSE_CAP_AUTO_INVAL_DATA;
	if (pthread_create(&t, NULL, raise_readahead, ctx) == 0)
		pthread_detach(t);
}

static void fsop_destroy(void *userdata)
{
	(void)userdata;
}

const struct fuse_lowlevel_ops fsop_ops = {
	.init = fsop_init,
	.destroy = fsop_destroy,
	.lookup = fsop_lookup,
	.forget = fsop_forget,
	.forget_multi = fsop_forget_multi,
	.getattr = fsop_getattr,
	.setattr = fsop_setattr,
	.readlink = fsop_readlink,
	.mknod = fsop_mknod,
	.mkdir = fsop_mkdir,
	.unlink = fsop_unlink,
	.rmdir = fsop_rmdir,
	.symlink = fsop_symlink,
	.rename = fsop_rename,
	.link = fsop_link,
	.access = fsop_access,
	.open = fsop_open,
	.create = fsop_create,
	.read = fsop_read,
	.write = fsop_write,
	.flush = fsop_flush,
	.release = fsop_release,
	.fsync = fsop_fsync,
	.opendir = fsop_opendir,
	.readdir = fsop_readdir,
	.readdirplus = fsop_readdirplus,
	.releasedir = fsop_releasedir,
	.fsyncdir = fsop_fsyncdir,
	.statfs = fsop_statfs,
	.setxattr = fsop_setxattr,
	.getxattr = fsop_getxattr,
	.listxattr = fsop_listxattr,
	.removexattr = fsop_removexattr,
	.lseek = fsop_lseek,
	.fallocate = fsop_fallocate,
};
