/*
 * fsop_i.h - private to fs/fsop*.c: the FUSE low-level handlers.
 *
 * Each handler fsop_<op>(fuse_req_t, ...) replies exactly once; the work
 * is in a static fsop_do_<op>() that returns 0 or a negative errno
 * (passthrough_ll's lo_do_lookup/lo_lookup split).  Handlers run on the
 * session loop's worker threads, many at once.
 */
#ifndef GN_FS_FSOP_I_H
#define GN_FS_FSOP_I_H

#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>

#include "fs/fs_i.h"
#include "fs/mdsc.h"

/* Settings fixed at mount (main.c fills them). */
struct fsop_opts {
	bool readdirplus;
	const char *mountpoint;
	int max_threads;	/* FUSE worker threads at most */
};

/* The operations table (fsop.c). */
extern const struct fuse_lowlevel_ops fsop_ops;
/* Userdata given to fuse_session_new: */
struct fsop_ctx {
	struct fs_session *s;
	struct fsop_opts opts;
};

static inline struct fs_session *fsop_session(fuse_req_t req)
{
	return ((struct fsop_ctx *)fuse_req_userdata(req))->s;
}

/* Caller identity of req (uid, gid, pid, supplementary groups). */
void fsop_cred(fuse_req_t req, struct fs_cred *c);
/* FUSE inode number <-> MDS inode number (the root maps to root_ino). */
uint64_t fsop_ino(struct fs_session *s, fuse_ino_t ino);
fuse_ino_t fsop_fino(struct fs_session *s, uint64_t ino);
/* struct stat for the kernel: FUSE inode number, local size when this
 * client has buffered writes. */
void fsop_fix_stat(struct fs_session *s, struct stat *st);
/* Reply an entry (lookup count +1 on success); frees nothing. */
void fsop_reply_entry(fuse_req_t req, struct fs_session *s,
		      const struct fs_attr *a);
/* Fill a fuse_entry_param from a and count the lookup. */
void fsop_entry_param(struct fs_session *s, const struct fs_attr *a,
		      struct fuse_entry_param *e);
/* Reply an error code (0 or negative errno). */
void fsop_reply_err(fuse_req_t req, int err);
/* Name check shared by every op that takes one. */
int fsop_check_name(const char *name);
/* Install the kernel invalidation hooks on s. */
void fsop_kernel_ops_init(struct fs_session *s);

/* Handlers, by file. */
/* fsop_entry.c */
void fsop_lookup(fuse_req_t req, fuse_ino_t parent, const char *name);
void fsop_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup);
void fsop_forget_multi(fuse_req_t req, size_t count,
		       struct fuse_forget_data *forgets);
void fsop_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void fsop_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		  int to_set, struct fuse_file_info *fi);
void fsop_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		mode_t mode, dev_t rdev);
void fsop_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
		mode_t mode);
void fsop_unlink(fuse_req_t req, fuse_ino_t parent, const char *name);
void fsop_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name);
void fsop_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
		  const char *name);
void fsop_readlink(fuse_req_t req, fuse_ino_t ino);
void fsop_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		 fuse_ino_t newparent, const char *newname, unsigned int flags);
void fsop_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
	       const char *newname);
void fsop_access(fuse_req_t req, fuse_ino_t ino, int mask);
/* fsop_dir.c */
void fsop_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void fsop_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		  struct fuse_file_info *fi);
void fsop_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		      struct fuse_file_info *fi);
void fsop_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void fsop_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync,
		   struct fuse_file_info *fi);
void fsop_statfs(fuse_req_t req, fuse_ino_t ino);
/* fsop_file.c */
void fsop_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void fsop_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		 mode_t mode, struct fuse_file_info *fi);
void fsop_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
	       struct fuse_file_info *fi);
void fsop_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size,
		off_t off, struct fuse_file_info *fi);
void fsop_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void fsop_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void fsop_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
		struct fuse_file_info *fi);
void fsop_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence,
		struct fuse_file_info *fi);
void fsop_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset,
		    off_t length, struct fuse_file_info *fi);
/* fsop_xattr.c */
void fsop_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		   const char *value, size_t size, int flags);
void fsop_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		   size_t size);
void fsop_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size);
void fsop_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name);
/* fsop_vxattr.c: answers (and returns true) when name is a gannet.* one. */
bool fsop_vxattr_get(fuse_req_t req, fuse_ino_t ino, const char *name,
		     size_t size);
bool fsop_vxattr_set(fuse_req_t req, fuse_ino_t ino, const char *name,
		     const char *value, size_t size);

#endif
