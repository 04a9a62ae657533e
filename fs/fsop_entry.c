/*
 * fsop_entry.c - namespace and attribute operations: lookup, forget,
 * getattr, setattr, mknod, mkdir, unlink, rmdir, symlink, readlink,
 * rename, link, access.  Every call carries the caller's credentials; the
 * MDS checks permissions.
 */
#include "config.h"
#include "fs/fsop_i.h"
#include "fs/io.h"
#include "common/log.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * Valid replies:
 *   fuse_reply_entry
 *   fuse_reply_err
 */
static int fsop_do_lookup(fuse_req_t req, fuse_ino_t parent, const char *name,
			  struct fs_attr *a, struct fs_chunk *hint)
{
	struct fs_session *s = fsop_session(req);
	struct fs_cred c;
	int ret;

	ret = fsop_check_name(name);
	if (ret)
		return ret;
	fsop_cred(req, &c);
	return mdsc_lookup(s, &c, fsop_ino(s, parent), name, a, hint);
}

void fsop_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fs_session *s = fsop_session(req);
	struct fs_inode *in = NULL;
	struct fs_chunk hint;
	struct fs_attr a;
	int ret = fsop_do_lookup(req, parent, name, &a, &hint);

	if (ret) {
		fsop_reply_err(req, ret);
		return;
	}
	/* Set before the reply: the kernel's open may follow at once. */
	if (hint.version) {
		in = fs_inode_get(s, a.st.st_ino);
		fs_io_hint_set(in, &hint);
	}
	fsop_reply_entry(req, s, &a);
	fs_inode_put(s, in);
}

/*
 * Valid replies:
 *   fuse_reply_none
 */
void fsop_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	struct fs_session *s = fsop_session(req);

	fs_inode_forget(s, fsop_ino(s, ino), nlookup);
	fuse_reply_none(req);
}

/*
 * Valid replies:
 *   fuse_reply_none
 */
void fsop_forget_multi(fuse_req_t req, size_t count,
		       struct fuse_forget_data *forgets)
{
	struct fs_session *s = fsop_session(req);

	for (size_t i = 0; i < count; i++)
		fs_inode_forget(s, fsop_ino(s, forgets[i].ino), forgets[i].nlookup);
	fuse_reply_none(req);
}

static void reply_attr(fuse_req_t req, struct fs_session *s, struct fs_attr *a)
{
	fsop_fix_stat(s, &a->st);
	fuse_reply_attr(req, &a->st, a->attr_lease_ms / 1000.0);
}

/*
 * Valid replies:
 *   fuse_reply_attr
 *   fuse_reply_err
 */
void fsop_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs_session *s = fsop_session(req);
	struct fs_attr a;
	struct fs_cred c;
	int ret;

	(void)fi;
	fsop_cred(req, &c);
	ret = mdsc_getattr(s, &c, fsop_ino(s, ino), &a);
	/* The inode is gone: ESTALE makes the kernel redo the path walk
	 * with fresh lookups (LOOKUP_REVAL) instead of failing. */
	if (ret == -ENOENT)
		ret = -ESTALE;
	if (ret)
		fsop_reply_err(req, ret);
	else
		reply_attr(req, s, &a);
}

static int fsop_do_setattr(fuse_req_t req, fuse_ino_t fino, struct stat *attr,
			   int to_set, struct fuse_file_info *fi,
			   struct fs_attr *out)
{
	struct fs_session *s = fsop_session(req);
	struct fs_file *f = fi ? (struct fs_file *)(uintptr_t)fi->fh : NULL;
	uint64_t ino = fsop_ino(s, fino);
	struct fs_inode *in = NULL;
	uint32_t valid = 0;
	struct fs_cred c;
	int ret;

	fsop_cred(req, &c);
	if (to_set & FUSE_SET_ATTR_MODE)
		valid |= GANNET__SET_ATTR_REQUEST__VALID__MODE;
	if (to_set & FUSE_SET_ATTR_UID)
		valid |= GANNET__SET_ATTR_REQUEST__VALID__UID;
	if (to_set & FUSE_SET_ATTR_GID)
		valid |= GANNET__SET_ATTR_REQUEST__VALID__GID;
	if (to_set & FUSE_SET_ATTR_SIZE)
		valid |= GANNET__SET_ATTR_REQUEST__VALID__SIZE;
	if (to_set & FUSE_SET_ATTR_ATIME_NOW)
		valid |= GANNET__SET_ATTR_REQUEST__VALID__ATIME_NOW;
	else if (to_set & FUSE_SET_ATTR_ATIME)
		valid |= GANNET__SET_ATTR_REQUEST__VALID__ATIME;
	if (to_set & FUSE_SET_ATTR_MTIME_NOW)
		valid |= GANNET__SET_ATTR_REQUEST__VALID__MTIME_NOW;
	else if (to_set & FUSE_SET_ATTR_MTIME)
		valid |= GANNET__SET_ATTR_REQUEST__VALID__MTIME;
	if (to_set & FUSE_SET_ATTR_CTIME)
		valid |= GANNET__SET_ATTR_REQUEST__VALID__CTIME;
	if ((valid & GANNET__SET_ATTR_REQUEST__VALID__SIZE) && attr->st_size < 0)
		return -EINVAL;
	if (valid & (GANNET__SET_ATTR_REQUEST__VALID__SIZE |
		     GANNET__SET_ATTR_REQUEST__VALID__MTIME |
		     GANNET__SET_ATTR_REQUEST__VALID__MTIME_NOW)) {
		/* Buffered writes land first: else they would resurrect
		 * bytes past a new end, or their commit would overwrite
		 * the mtime set here (tar, cp -p, rsync). */
		in = fs_inode_find(s, ino);
		if (in) {
			ret = fs_io_sync(s, in, f ? f->handle : 0, &c);
			if (ret)
				goto out;
		}
	}
	ret = mdsc_setattr(s, &c, ino, valid, attr, f ? f->handle : 0, out);
	if (!ret && in && (valid & GANNET__SET_ATTR_REQUEST__VALID__SIZE))
		fs_io_truncated(in, (uint64_t)attr->st_size);
out:
	fs_inode_put(s, in);
	return ret;
}

/*
 * Valid replies:
 *   fuse_reply_attr
 *   fuse_reply_err
 */
void fsop_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		  int to_set, struct fuse_file_info *fi)
{
	struct fs_attr a;
	int ret = fsop_do_setattr(req, ino, attr, to_set, fi, &a);

	if (ret)
		fsop_reply_err(req, ret);
	else
		reply_attr(req, fsop_session(req), &a);
}

/*
 * Valid replies:
 *   fuse_reply_entry
 *   fuse_reply_err
 */
void fsop_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		mode_t mode, dev_t rdev)
{
	struct fs_session *s = fsop_session(req);
	struct fs_attr a;
	struct fs_cred c;
	int ret;

	ret = fsop_check_name(name);
	if (!ret) {
		fsop_cred(req, &c);
		ret = mdsc_mknod(s, &c, fsop_ino(s, parent), name, mode, rdev, 0, &a);
	}
	if (ret)
		fsop_reply_err(req, ret);
	else
		fsop_reply_entry(req, s, &a);
}

/*
 * Valid replies:
 *   fuse_reply_entry
 *   fuse_reply_err
 */
void fsop_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	struct fs_session *s = fsop_session(req);
	struct fs_attr a;
	struct fs_cred c;
	int ret;

	ret = fsop_check_name(name);
	if (!ret) {
		fsop_cred(req, &c);
		ret = mdsc_mkdir(s, &c, fsop_ino(s, parent), name, mode & 07777, 0, &a);
	}
	if (ret)
		fsop_reply_err(req, ret);
	else
		fsop_reply_entry(req, s, &a);
}

/*
 * Valid replies:
 *   fuse_reply_err
 */
void fsop_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fs_session *s = fsop_session(req);
	struct fs_cred c;
	int ret;

	ret = fsop_check_name(name);
	if (!ret) {
		fsop_cred(req, &c);
		ret = mdsc_unlink(s, &c, fsop_ino(s, parent), name);
	}
	fsop_reply_err(req, ret);
}

/*
 * Valid replies:
 *   fuse_reply_err
 */
void fsop_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fs_session *s = fsop_session(req);
	struct fs_cred c;
	int ret;

	ret = fsop_check_name(name);
	if (!ret) {
		fsop_cred(req, &c);
		ret = mdsc_rmdir(s, &c, fsop_ino(s, parent), name);
	}
	fsop_reply_err(req, ret);
}

/*
 * Valid replies:
 *   fuse_reply_entry
 *   fuse_reply_err
 */
void fsop_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
		  const char *name)
{
	struct fs_session *s = fsop_session(req);
	struct fs_attr a;
	struct fs_cred c;
	int ret;

	ret = fsop_check_name(name);
	if (!ret && strlen(link) >= 4096)
		ret = -ENAMETOOLONG;
	if (!ret) {
		fsop_cred(req, &c);
		ret = mdsc_symlink(s, &c, fsop_ino(s, parent), name, link, &a);
	}
	if (ret)
		fsop_reply_err(req, ret);
	else
		fsop_reply_entry(req, s, &a);
}

/*
 * Valid replies:
 *   fuse_reply_readlink
 *   fuse_reply_err
 */
void fsop_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct fs_session *s = fsop_session(req);
	struct fs_cred c;
	char *target = NULL;
	int ret;

	fsop_cred(req, &c);
	ret = mdsc_readlink(s, &c, fsop_ino(s, ino), &target);
	if (ret)
		fsop_reply_err(req, ret);
	else
		fuse_reply_readlink(req, target);
	free(target);
}

/*
 * Valid replies:
 *   fuse_reply_err
 */
void fsop_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		 fuse_ino_t newparent, const char *newname, unsigned int flags)
{
	struct fs_session *s = fsop_session(req);
	struct fs_cred c;
	int ret;

	ret = fsop_check_name(name);
	if (!ret)
		ret = fsop_check_name(newname);
	/* RENAME_WHITEOUT (overlayfs) is not supported. */
	if (!ret && (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE)))
		ret = -EINVAL;
	if (!ret) {
		fsop_cred(req, &c);
		ret = mdsc_rename(s, &c, fsop_ino(s, parent), name,
				  fsop_ino(s, newparent), newname, flags);
	}
	fsop_reply_err(req, ret);
}

/*
 * Valid replies:
 *   fuse_reply_entry
 *   fuse_reply_err
 */
void fsop_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
	       const char *newname)
{
	struct fs_session *s = fsop_session(req);
	struct fs_attr a;
	struct fs_cred c;
	int ret;

	ret = fsop_check_name(newname);
	if (!ret) {
		fsop_cred(req, &c);
		ret = mdsc_link(s, &c, fsop_ino(s, ino), fsop_ino(s, newparent),
				newname, &a);
	}
	if (ret)
		fsop_reply_err(req, ret);
	else
		fsop_reply_entry(req, s, &a);
}

static bool in_groups(const struct fs_cred *c, uint32_t gid)
{
	if (c->gid == gid)
		return true;
	for (uint32_t i = 0; i < c->ngroups; i++)
		if (c->groups[i] == gid)
			return true;
	return false;
}

/*
 * Only reached without default_permissions (-o no_default_permissions):
 * the MDS has no access call, so check the POSIX bits of fresh
 * attributes here, as the MDS would.
 *
 * Valid replies:
 *   fuse_reply_err
 */
void fsop_access(fuse_req_t req, fuse_ino_t ino, int mask)
{
	struct fs_session *s = fsop_session(req);
	struct fs_attr a;
	struct fs_cred c;
	unsigned bits;
	int ret;

	fsop_cred(req, &c);
	ret = mdsc_getattr(s, &c, fsop_ino(s, ino), &a);
	if (ret || mask == F_OK)
		goto out;
	if (c.uid == 0) {
		/* root: execute needs some x bit (or a directory) */
		if ((mask & X_OK) && !S_ISDIR(a.st.st_mode) &&
		    !(a.st.st_mode & 0111))
			ret = -EACCES;
		goto out;
	}
	if (c.uid == a.st.st_uid)
		bits = (a.st.st_mode >> 6) & 7;
	else if (in_groups(&c, a.st.st_gid))
		bits = (a.st.st_mode >> 3) & 7;
	else
		bits = a.st.st_mode & 7;
	if ((unsigned)mask & ~bits & 7)
		ret = -EACCES;
out:
	fsop_reply_err(req, ret);
}
