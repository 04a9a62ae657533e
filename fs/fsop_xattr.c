/*
 * fsop_xattr.c - extended attributes.  The MDS stores the "user."
 * namespace only; "gannet." names are the client's own (fsop_vxattr.c);
 * other namespaces are answered here: reading one finds nothing
 * (ENODATA), setting one is not supported (EOPNOTSUPP), so that cp -a,
 * tar and rsync -X carry on over POSIX ACL and security probes.
 */
#include "config.h"
#include "fs/fsop_i.h"
#include "common/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>

#define XATTR_VALUE_MAX 65536

static bool is_user(const char *name)
{
	return !strncmp(name, "user.", 5);
}

/*
 * Valid replies:
 *   fuse_reply_err
 */
void fsop_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		   const char *value, size_t size, int flags)
{
	struct fs_session *s = fsop_session(req);
	struct fs_cred c;
	int ret;

	if (fsop_vxattr_set(req, ino, name, value, size))
		return;
	if (!is_user(name))
		ret = -EOPNOTSUPP;
	else if (strlen(name) > 255)
		ret = -ERANGE;
	else if (size > XATTR_VALUE_MAX)
		ret = -E2BIG;
	else if (flags & ~(XATTR_CREATE | XATTR_REPLACE))
		ret = -EINVAL;
	else {
		fsop_cred(req, &c);
		ret = mdsc_setxattr(s, &c, fsop_ino(s, ino), name, value, size, flags);
	}
	fsop_reply_err(req, ret);
}

/*
 * Valid replies:
 *   fuse_reply_buf
 *   fuse_reply_data
 *   fuse_reply_xattr
 *   fuse_reply_err
 */
void fsop_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	struct fs_session *s = fsop_session(req);
	struct gn_rpc_result res;
	Gannet__GetXattrReply *r;
	struct fs_cred c;
	int ret;

	if (fsop_vxattr_get(req, ino, name, size))
		return;
	if (!is_user(name)) {
		fuse_reply_err(req, ENODATA);
		return;
	}
	if (strlen(name) > 255) {
		fuse_reply_err(req, ERANGE);
		return;
	}
	fsop_cred(req, &c);
	ret = mdsc_getxattr(s, &c, fsop_ino(s, ino), name, &res);
	if (ret) {
		/* A missing attribute is ENODATA, whatever the table says. */
		fsop_reply_err(req, ret == -ENOENT ? -ENODATA : ret);
		return;
	}
	r = (Gannet__GetXattrReply *)res.reply;
	if (size == 0)
		fuse_reply_xattr(req, r->value.len);
	else if (r->value.len > size)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, (const char *)r->value.data, r->value.len);
	gn_rpc_result_release(&res);
}

/*
 * Valid replies:
 *   fuse_reply_buf
 *   fuse_reply_data
 *   fuse_reply_xattr
 *   fuse_reply_err
 */
void fsop_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct fs_session *s = fsop_session(req);
	struct gn_rpc_result res;
	Gannet__ListXattrReply *r;
	struct fs_cred c;
	size_t len = 0;
	char *buf, *p;
	int ret;

	fsop_cred(req, &c);
	ret = mdsc_listxattr(s, &c, fsop_ino(s, ino), &res);
	if (ret) {
		fsop_reply_err(req, ret);
		return;
	}
	r = (Gannet__ListXattrReply *)res.reply;
	for (size_t i = 0; i < r->n_names; i++)
		len += strlen(r->names[i]) + 1;
	if (size == 0) {
		fuse_reply_xattr(req, len);
	} else if (len > size) {
		fuse_reply_err(req, ERANGE);
	} else {
		p = buf = xmalloc(len ? len : 1);
		for (size_t i = 0; i < r->n_names; i++) {
			size_t n = strlen(r->names[i]) + 1;
			memcpy(p, r->names[i], n);
			p += n;
		}
		fuse_reply_buf(req, buf, len);
		free(buf);
	}
	gn_rpc_result_release(&res);
}

/*
 * Valid replies:
 *   fuse_reply_err
 */
void fsop_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	struct fs_session *s = fsop_session(req);
	struct fs_cred c;
	int ret;

	if (!is_user(name)) {
		fuse_reply_err(req, EOPNOTSUPP);
		return;
	}
	fsop_cred(req, &c);
	ret = mdsc_removexattr(s, &c, fsop_ino(s, ino), name);
	fsop_reply_err(req, ret == -ENOENT ? -ENODATA : ret);
}
