/*
 * fsop_vxattr.c - the client's virtual extended attributes, "gannet.*":
 * the control channel of gannetctl warmup (gannetctl(8)), and a report
 * anyone can read with getfattr.  Nothing of them is stored.
 *
 *   gannet.warm               fetch the whole file into the caches
 *   gannet.warm.OFFSET.LENGTH fetch that byte range (decimal)
 *   gannet.cached             fetch nothing
 *
 * Each answers "CACHED TOTAL": of the bytes of the file (or range) that
 * hold data, how many the RAM cache and the disk tier hold once done.
 *
 *   gannet.prefetch           set on a directory: the files (paths
 *                             relative to it, one per line) to fetch
 *                             next, in that order, in the background;
 *                             reads as FILES FETCHED FAILED BYTES of the
 *                             current list (fs/warm.c)
 *
 * A getxattr of one of the first three opens the file at the MDS with the
 * caller's credentials (so only a reader of the file can warm it, and the
 * chunk map is fresh, as at open) and closes it before answering.  The kernel's
 * size probe (size 0) is answered with an upper bound and does no work,
 * so getfattr's probe-then-read warms once.  A warmup runs on the FUSE
 * thread of the call, one chunk at a time; an interrupted call (the
 * caller got a signal) or an unmount stops it at the next chunk with
 * EINTR; more than a quarter of max_threads at once get EBUSY.
 */
#include "config.h"
#include "fs/fsop_i.h"
#include "fs/io.h"
#include "common/util.h"

#include <pthread.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define VX_PREFIX "gannet."
#define VX_VALUE_MAX 48		/* "CACHED TOTAL": two 20-digit numbers */

struct vx_req {
	bool fetch;
	uint64_t off, len;
};

/* Strict decimal: digits only, no sign, no overflow. */
static int parse_u64(const char *p, const char **end, uint64_t *out)
{
	uint64_t v = 0;

	if (*p < '0' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
			return -EINVAL;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	*end = p;
	*out = v;
	return 0;
}

/* -ENODATA for a gannet.* name we do not serve (as for any absent one). */
static int vx_parse(const char *name, struct vx_req *q)
{
	const char *p = name + strlen(VX_PREFIX);

	*q = (struct vx_req){ .off = 0, .len = UINT64_MAX };
	if (!strcmp(p, "cached"))
		return 0;
	if (strncmp(p, "warm", 4))
		return -ENODATA;
	q->fetch = true;
	p += 4;
	if (!*p)
		return 0;
	if (*p != '.' || parse_u64(p + 1, &p, &q->off) || *p != '.' ||
	    parse_u64(p + 1, &p, &q->len) || *p)
		return -ENODATA;
	return 0;
}

/* The caller gave up, or the mount is going away. */
static bool interrupted(void *req)
{
	struct fs_session *s = fsop_session(req);

	return fuse_req_interrupted(req) || (s->se && fuse_session_exited(s->se));
}

/*
 * Warmups that fetch run on FUSE threads for as long as their range
 * takes, so at most a quarter of the threads may do so at once: the rest
 * keep serving the mount (and its INTERRUPT requests).  Beyond that the
 * answer is EBUSY, which gannetctl retries.
 */
static int vx_do(fuse_req_t req, fuse_ino_t fino, const struct vx_req *q,
		 uint64_t *cached, uint64_t *total)
{
	struct fs_session *s = fsop_session(req);
	int max = ((struct fsop_ctx *)fuse_req_userdata(req))->opts.max_threads;
	uint32_t limit = (uint32_t)GN_MAX(1, max / 4);
	struct fs_cred c;
	int ret;

	if (q->fetch) {
		pthread_mutex_lock(&s->rd_lock);
		ret = s->warm_calls >= limit ? -EBUSY : 0;
		if (!ret)
			s->warm_calls++;
		pthread_mutex_unlock(&s->rd_lock);
		if (ret)
			return ret;
	}
	fsop_cred(req, &c);
	ret = fs_warm_file(s, &c, fsop_ino(s, fino), q->off, q->len, q->fetch,
			   interrupted, req, cached, total);
	if (q->fetch) {
		pthread_mutex_lock(&s->rd_lock);
		s->warm_calls--;
		pthread_mutex_unlock(&s->rd_lock);
	}
	return ret;
}

/* gannet.prefetch reads as the current list's FILES FETCHED FAILED BYTES. */
static void prefetch_status(fuse_req_t req, size_t size)
{
	char buf[4 * 21 + 1];
	uint64_t st[4];
	int n;

	fs_plist_status(fsop_session(req), st);
	n = snprintf(buf, sizeof(buf), "%" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64,
		     st[0], st[1], st[2], st[3]);
	if (size == 0)
		fuse_reply_xattr(req, (size_t)n);
	else if (size < (size_t)n)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, buf, (size_t)n);
}

bool fsop_vxattr_set(fuse_req_t req, fuse_ino_t ino, const char *name,
		     const char *value, size_t size)
{
	struct fs_session *s = fsop_session(req);
	struct fs_cred c;

	if (strncmp(name, VX_PREFIX, strlen(VX_PREFIX)))
		return false;
	if (strcmp(name, VX_PREFIX "prefetch")) {
		fuse_reply_err(req, EOPNOTSUPP);
		return true;
	}
	fsop_cred(req, &c);
	fsop_reply_err(req, fs_plist_set(s, &c, fsop_ino(s, ino), value, size));
	return true;
}

bool fsop_vxattr_get(fuse_req_t req, fuse_ino_t ino, const char *name,
		     size_t size)
{
	uint64_t cached, total;
	char buf[VX_VALUE_MAX];
	struct vx_req q;
	int ret, n;

	if (strncmp(name, VX_PREFIX, strlen(VX_PREFIX)))
		return false;
	if (!strcmp(name, VX_PREFIX "prefetch")) {
		prefetch_status(req, size);
		return true;
	}
	ret = vx_parse(name, &q);
	if (!ret && size == 0) {
		fuse_reply_xattr(req, VX_VALUE_MAX);
		return true;
	}
	if (!ret && size < VX_VALUE_MAX)
		ret = -ERANGE;
	if (!ret)
		ret = vx_do(req, ino, &q, &cached, &total);
	if (ret) {
		fsop_reply_err(req, ret);
		return true;
	}
	n = snprintf(buf, sizeof(buf), "%" PRIu64 " %" PRIu64, cached, total);
	fuse_reply_buf(req, buf, (size_t)n);
	return true;
}
