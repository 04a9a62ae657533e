/*
 * nullfs.c - the FUSE ceiling of this machine, for the benchmarks: a
 * low-level FUSE filesystem with one directory holding `zero` (64 GiB of
 * zeros served from memory) and `sink` (writes are discarded).  Same
 * session set-up as gannet-fuse (multi-threaded loop, 1 MiB requests,
 * 4 MiB read-ahead), so that Gannet's figures can be put against it.
 *
 *   nullfs MOUNTPOINT [-o direct_io]
 *
 * A benchmark tool, not part of Gannet: it lives in contrib/bench.
 */
#define FUSE_USE_VERSION 34
#include "config.h"

#include <errno.h>
#include <fuse_lowlevel.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ZERO_INO 2
#define SINK_INO 3
#define ZERO_SIZE ((off_t)64 << 30)
#define MAXIO (1 << 20)

static int direct_io;
static char zeros[MAXIO];

static void fill(fuse_ino_t ino, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	st->st_nlink = 1;
	if (ino == FUSE_ROOT_ID) {
		st->st_mode = S_IFDIR | 0755;
		st->st_nlink = 2;
	} else {
		st->st_mode = S_IFREG | 0666;
		st->st_size = ino == ZERO_INO ? ZERO_SIZE : 0;
	}
}

static void nf_init(void *ud, struct fuse_conn_info *conn)
{
	conn->max_readahead = 4 << 20;
	conn->max_write = MAXIO;
	conn->max_read = MAXIO;
	conn->want &= ~FUSE_CAP_SPLICE_READ;
}

static void nf_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param e;

	memset(&e, 0, sizeof(e));
	if (parent != FUSE_ROOT_ID)
		return (void)fuse_reply_err(req, ENOENT);
	if (!strcmp(name, "zero"))
		e.ino = ZERO_INO;
	else if (!strcmp(name, "sink"))
		e.ino = SINK_INO;
	else
		return (void)fuse_reply_err(req, ENOENT);
	fill(e.ino, &e.attr);
	e.attr_timeout = e.entry_timeout = 3600;
	fuse_reply_entry(req, &e);
}

static void nf_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct stat st;

	fill(ino, &st);
	fuse_reply_attr(req, &st, 3600);
}

static void nf_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	fi->direct_io = direct_io;
	fi->keep_cache = 1;
	fuse_reply_open(req, fi);
}

static void nf_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	if (ino != ZERO_INO || off >= ZERO_SIZE)
		size = 0;
	else if (off + (off_t)size > ZERO_SIZE)
		size = ZERO_SIZE - off;
	fuse_reply_buf(req, zeros, size > MAXIO ? MAXIO : size);
}

static void nf_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
		     size_t size, off_t off, struct fuse_file_info *fi)
{
	fuse_reply_write(req, size);
}

static void nf_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		       int to_set, struct fuse_file_info *fi)
{
	nf_getattr(req, ino, fi);
}

static void nf_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
		     struct fuse_file_info *fi)
{
	fuse_reply_err(req, 0);
}

static void nf_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	fuse_reply_err(req, 0);
}

static const struct fuse_lowlevel_ops ops = {
	.init = nf_init,
	.lookup = nf_lookup,
	.getattr = nf_getattr,
	.setattr = nf_setattr,
	.open = nf_open,
	.read = nf_read,
	.write = nf_write,
	.fsync = nf_fsync,
	.flush = nf_flush,
};

int main(int argc, char **argv)
{
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	struct fuse_loop_config cfg = { .clone_fd = 0, .max_idle_threads = 10 };
	struct fuse_session *se;
	const char *mnt = NULL;
	int ret;

	fuse_opt_add_arg(&args, argv[0]);
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-o") && i + 1 < argc && !strcmp(argv[i + 1], "direct_io")) {
			direct_io = 1;
			i++;
		} else {
			mnt = argv[i];
		}
	}
	if (!mnt) {
		fprintf(stderr, "usage: nullfs MOUNTPOINT [-o direct_io]\n");
		return 2;
	}
	fuse_opt_add_arg(&args, "-omax_read=1048576");
	se = fuse_session_new(&args, &ops, sizeof(ops), NULL);
	if (!se || fuse_set_signal_handlers(se) || fuse_session_mount(se, mnt))
		return 1;
	ret = fuse_session_loop_mt(se, &cfg);
	fuse_session_unmount(se);
	fuse_remove_signal_handlers(se);
	fuse_session_destroy(se);
	fuse_opt_free_args(&args);
	return ret ? 1 : 0;
}
