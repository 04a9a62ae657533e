/* ns_rename.c - Rename, incl. RENAME_NOREPLACE and RENAME_EXCHANGE */
#include "config.h"
#include "mds/mds_i.h"
#include "common/util.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

struct rename_args {
	struct mds *m;
	const struct mds_cred *c;
	uint64_t parent, new_parent;
	const char *name, *new_name;
	uint32_t flags;
	uint64_t src_ino, dst_ino;
};

/* -EINVAL when dir `anc` is `from` or one of its ancestors. */
static int ns_check_not_ancestor(struct db_txn *t, uint64_t anc, uint64_t from)
{
	uint64_t cur = from;

	for (int depth = 0; depth < 65536; depth++) {
		struct db_inode d;
		int ret;

		if (cur == anc)
			return -EINVAL;
		if (cur == MDS_ROOT_INO)
			return 0;
		ret = ns_get_inode(t, cur, &d);
		if (ret)
			return ret == -ENOENT ? -EIO : ret;
		cur = d.parent;
	}
	return -ELOOP;
}

static int rename_checks(struct db_txn *t, struct rename_args *a,
			 const struct db_inode *sd, const struct db_inode *dd,
			 const struct db_inode *src, const struct db_inode *dst)
{
	const struct mds_cred *c = a->c;
	bool exchange = a->flags & MDS_RENAME_EXCHANGE;
	int ret;

	ret = mds_access(c, sd, 3);
	if (ret == 0)
		ret = mds_access(c, dd, 3);
	if (ret)
		return ret;
	ret = ns_sticky_ok(c, sd, src);
	if (ret == 0 && dst)
		ret = ns_sticky_ok(c, dd, dst);
	if (ret)
		return ret;
	if (a->parent != a->new_parent) {
		/* Moving a directory rewrites its "..": needs write on it. */
		if (S_ISDIR(src->mode) && (ret = mds_access(c, src, 2)))
			return ret;
		if (exchange && S_ISDIR(dst->mode) && (ret = mds_access(c, dst, 2)))
			return ret;
	}
	if (S_ISDIR(src->mode)) {
		ret = ns_check_not_ancestor(t, src->ino, a->new_parent);
		if (ret)
			return ret;
	}
	if (exchange && S_ISDIR(dst->mode)) {
		ret = ns_check_not_ancestor(t, dst->ino, a->parent);
		if (ret)
			return ret;
	}
	if (dst && !exchange) {
		if (S_ISDIR(src->mode) && !S_ISDIR(dst->mode))
			return -ENOTDIR;
		if (!S_ISDIR(src->mode) && S_ISDIR(dst->mode))
			return -EISDIR;
		if (S_ISDIR(dst->mode) && !ns_dir_empty(t, dst->ino))
			return -ENOTEMPTY;
	}
	return 0;
}

static int rename_fn(struct db_txn *t, void *p)
{
	struct rename_args *a = p;
	struct db_inode sdir, ddir, src, dst, *sd = &sdir, *dd;
	struct db_dirent sde, dde;
	bool have_dst, exchange = a->flags & MDS_RENAME_EXCHANGE;
	int64_t now = gn_now_ns();
	int ret;

	ret = ns_get_dir(t, a->parent, &sdir);
	if (ret)
		return ret;
	if (a->new_parent == a->parent) {
		dd = sd;
	} else {
		ret = ns_get_dir(t, a->new_parent, &ddir);
		if (ret)
			return ret;
		dd = &ddir;
	}
	ret = mds_access(a->c, sd, 1);
	if (ret == 0)
		ret = mds_access(a->c, dd, 1);
	if (ret)
		return ret;
	ret = ns_get_dirent(t, a->parent, a->name, &sde);
	if (ret)
		return ret;
	ret = ns_get_inode(t, sde.ino, &src);
	if (ret)
		return ret;
	ret = ns_get_dirent(t, a->new_parent, a->new_name, &dde);
	if (ret && ret != -ENOENT)
		return ret;
	have_dst = ret == 0;
	if (have_dst) {
		ret = ns_get_inode(t, dde.ino, &dst);
		if (ret)
			return ret;
	}
	if (exchange && !have_dst)
		return -ENOENT;
	if ((a->flags & MDS_RENAME_NOREPLACE) && have_dst)
		return -EEXIST;
	if (have_dst && dst.ino == src.ino)
		return 0;	/* the same file: nothing to do (POSIX) */
	if (dd->nlink == 0)
		return -ENOENT;
	ret = rename_checks(t, a, sd, dd, &src, have_dst ? &dst : NULL);
	if (ret)
		return ret;
	if (S_ISDIR(src.mode) && a->parent != a->new_parent && !have_dst &&
	    dd->nlink >= MDS_LINK_MAX)
		return -EMLINK;

	ret = ns_del_dirent(t, a->parent, a->name);
	if (ret == 0 && have_dst)
		ret = ns_del_dirent(t, a->new_parent, a->new_name);
	if (ret == 0)
		ret = ns_add_dirent(t, dd, a->new_name, src.ino, src.mode);
	if (ret == 0 && exchange)
		ret = ns_add_dirent(t, sd, a->name, dst.ino, dst.mode);
	if (ret)
		return ret;
	if (S_ISDIR(src.mode) && sd != dd) {
		sd->nlink--;
		dd->nlink++;
		src.parent = a->new_parent;
	}
	src.ctime = now;
	ret = ns_put_inode(t, &src);
	if (ret)
		return ret;
	if (exchange) {
		if (S_ISDIR(dst.mode) && sd != dd) {
			dd->nlink--;
			sd->nlink++;
			dst.parent = a->parent;
		}
		dst.ctime = now;
		ret = ns_put_inode(t, &dst);
	} else if (have_dst) {
		if (S_ISDIR(dst.mode)) {
			dd->nlink--;
			ret = ns_reclaim(t, dst.ino);
		} else {
			ret = ns_drop_link(t, a->m, &dst, now);
		}
	}
	if (ret)
		return ret;
	sd->mtime = sd->ctime = now;
	dd->mtime = dd->ctime = now;
	ret = ns_put_inode(t, sd);
	if (ret == 0 && dd != sd)
		ret = ns_put_inode(t, dd);
	a->src_ino = src.ino;
	a->dst_ino = have_dst ? dst.ino : 0;
	return ret;
}

int mds_ns_rename(struct mds *m, const struct mds_cred *c, uint64_t parent,
		  const char *name, uint64_t new_parent, const char *new_name,
		  uint32_t flags, struct mds_changes *ch)
{
	struct rename_args a = { .m = m, .c = c, .parent = parent,
				 .new_parent = new_parent, .name = name,
				 .new_name = new_name, .flags = flags };
	int ret;

	if (flags & ~(uint32_t)(MDS_RENAME_NOREPLACE | MDS_RENAME_EXCHANGE))
		return -EINVAL;
	if ((flags & MDS_RENAME_NOREPLACE) && (flags & MDS_RENAME_EXCHANGE))
		return -EINVAL;
	ret = mds_check_name(name, strlen(name), 0);
	if (ret == 0)
		ret = mds_check_name(new_name, strlen(new_name), 0);
	if (ret)
		return ret;
	ret = db_write(m->db, rename_fn, &a);
	if (ret)
		return ret;
	ns_change(ch, MDS_INV_ENTRY, parent, name);
	ns_change(ch, MDS_INV_ENTRY, new_parent, new_name);
	ns_change(ch, MDS_INV_ATTR, parent, NULL);
	ns_change(ch, MDS_INV_ATTR, new_parent, NULL);
	if (a.src_ino)
		ns_change(ch, MDS_INV_ATTR, a.src_ino, NULL);
	if (a.dst_ino)
		ns_change(ch, MDS_INV_ATTR, a.dst_ino, NULL);
	return 0;
}
