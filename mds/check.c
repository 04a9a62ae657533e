/* check.c - gannet-mds --check: verify the store's invariants offline */
#include "config.h"
#include "mds/mds_i.h"
#include "common/util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct ck_ino {
	struct db_inode n;
	uint32_t names;		/* dirents naming it */
	uint32_t subdirs;	/* directories: child directories */
};

struct ck {
	FILE *out;
	int problems;
	struct hmap inodes;	/* ino -> struct ck_ino */
};

static void ck_report(struct ck *ck, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void ck_report(struct ck *ck, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(ck->out, fmt, ap);
	va_end(ap);
	fputc('\n', ck->out);
	ck->problems++;
}

static int ck_load_inodes(struct ck *ck, struct db_txn *t)
{
	struct db_cursor *c;
	const void *k, *v;
	size_t kl, vl;
	int r, ret = db_cursor_open(t, DB_INODE, &c);

	if (ret)
		return ret;
	for (r = db_cursor_seek(c, NULL, 0, &k, &kl, &v, &vl); r == 0;
	     r = db_cursor_next(c, &k, &kl, &v, &vl)) {
		struct ck_ino *ci;
		if (kl != 8 || vl != sizeof(struct db_inode)) {
			ck_report(ck, "inode %" PRIu64 ": bad record", kl == 8 ? db_get_be64(k) : 0);
			continue;
		}
		ci = xcalloc(1, sizeof(*ci));
		memcpy(&ci->n, v, sizeof(ci->n));
		hmap_put(&ck->inodes, ci->n.ino, ci);
	}
	db_cursor_close(c);
	return 0;
}

static void ck_dirents(struct ck *ck, struct db_txn *t)
{
	struct db_cursor *c;
	const void *k, *v;
	size_t kl, vl;
	int r;

	if (db_cursor_open(t, DB_DIRENT, &c))
		return;
	for (r = db_cursor_seek(c, NULL, 0, &k, &kl, &v, &vl); r == 0;
	     r = db_cursor_next(c, &k, &kl, &v, &vl)) {
		uint64_t parent = db_get_be64(k);
		char name[MDS_NAME_MAX + 1];
		struct db_dirent de;
		struct ck_ino *child, *dir;
		uint8_t skey[16];
		const void *sv;
		size_t svl;

		snprintf(name, sizeof(name), "%.*s", (int)(kl - 8), (const char *)k + 8);
		if (vl != sizeof(de)) {
			ck_report(ck, "entry %" PRIu64 "/'%s': bad record", parent, name);
			continue;
		}
		memcpy(&de, v, sizeof(de));
		dir = hmap_get(&ck->inodes, parent);
		if (!dir || !S_ISDIR(dir->n.mode))
			ck_report(ck, "entry %" PRIu64 "/'%s': parent is not a directory", parent, name);
		child = hmap_get(&ck->inodes, de.ino);
		if (!child) {
			ck_report(ck, "entry %" PRIu64 "/'%s': dangling, inode %" PRIu64 " missing",
				  parent, name, de.ino);
		} else {
			child->names++;
			if ((child->n.mode & S_IFMT) != de.type)
				ck_report(ck, "entry %" PRIu64 "/'%s': type differs from inode %" PRIu64,
					  parent, name, de.ino);
			if (S_ISDIR(child->n.mode)) {
				if (dir)
					dir->subdirs++;
				if (child->n.parent != parent)
					ck_report(ck, "directory %" PRIu64 ": parent %" PRIu64 " but named in %" PRIu64,
						  de.ino, child->n.parent, parent);
			}
		}
		db_be64(skey, parent);
		db_be64(skey + 8, de.seq);
		if (db_get(t, DB_DIRSEQ, skey, sizeof(skey), &sv, &svl) ||
		    svl != sizeof(de) + kl - 8 ||
		    memcmp((const char *)sv + sizeof(de), name, kl - 8))
			ck_report(ck, "entry %" PRIu64 "/'%s': readdir index missing or wrong",
				  parent, name);
		if (dir && de.seq > dir->n.dir_seq)
			ck_report(ck, "entry %" PRIu64 "/'%s': cookie beyond directory counter",
				  parent, name);
	}
	db_cursor_close(c);

	if (db_cursor_open(t, DB_DIRSEQ, &c))
		return;
	for (r = db_cursor_seek(c, NULL, 0, &k, &kl, &v, &vl); r == 0;
	     r = db_cursor_next(c, &k, &kl, &v, &vl)) {
		struct db_dirent de;
		uint8_t key[8 + MDS_NAME_MAX];
		if (kl != 16 || vl < sizeof(de) || vl > sizeof(de) + MDS_NAME_MAX) {
			ck_report(ck, "readdir index: bad record");
			continue;
		}
		db_be64(key, db_get_be64(k));
		memcpy(key + 8, (const char *)v + sizeof(de), vl - sizeof(de));
		if (db_get(t, DB_DIRENT, key, 8 + vl - sizeof(de), NULL, NULL))
			ck_report(ck, "readdir index %" PRIu64 "/%" PRIu64 ": no such entry",
				  db_get_be64(k), db_get_be64((const uint8_t *)k + 8));
	}
	db_cursor_close(c);
}

static void ck_links(struct ck *ck, struct db_txn *t)
{
	struct hmap_node *node = NULL;
	size_t b = 0;

	while ((node = hmap_iter(&ck->inodes, &b, &node))) {
		struct ck_ino *ci = node->val;
		uint8_t key[8];
		bool orphan;

		db_be64(key, ci->n.ino);
		orphan = db_get(t, DB_ORPHAN, key, sizeof(key), NULL, NULL) == 0;
		if (S_ISDIR(ci->n.mode)) {
			uint32_t want = 2 + ci->subdirs;
			if (ci->n.nlink != want)
				ck_report(ck, "directory %" PRIu64 ": nlink %u, expected %u",
					  ci->n.ino, ci->n.nlink, want);
			if (ci->n.ino != MDS_ROOT_INO && ci->names != 1)
				ck_report(ck, "directory %" PRIu64 ": named %u times",
					  ci->n.ino, ci->names);
			continue;
		}
		if (ci->n.nlink != ci->names)
			ck_report(ck, "inode %" PRIu64 ": nlink %u, but %u entries",
				  ci->n.ino, ci->n.nlink, ci->names);
		if (ci->names == 0 && !orphan)
			ck_report(ck, "inode %" PRIu64 ": orphaned (no entry, not open-unlinked)",
				  ci->n.ino);
		if (S_ISLNK(ci->n.mode) && db_get(t, DB_SYMLINK, key, sizeof(key), NULL, NULL))
			ck_report(ck, "symlink %" PRIu64 ": target missing", ci->n.ino);
	}
	if (!hmap_get(&ck->inodes, MDS_ROOT_INO))
		ck_report(ck, "root directory missing");
}

static void ck_chunks(struct ck *ck, struct db_txn *t)
{
	struct db_cursor *c;
	const void *k, *v;
	size_t kl, vl;
	int r;

	if (db_cursor_open(t, DB_CHUNK, &c))
		return;
	for (r = db_cursor_seek(c, NULL, 0, &k, &kl, &v, &vl); r == 0;
	     r = db_cursor_next(c, &k, &kl, &v, &vl)) {
		uint64_t ino = db_get_be64(k), index = db_get_be64((const uint8_t *)k + 8);
		struct db_chunk ck_;
		uint8_t ikey[8], dkey[4];
		const void *iv;
		size_t ivl;

		if (kl != 16 || vl != sizeof(ck_)) {
			ck_report(ck, "chunk map: bad record");
			continue;
		}
		memcpy(&ck_, v, sizeof(ck_));
		if (!hmap_get(&ck->inodes, ino))
			ck_report(ck, "chunk %" PRIu64 "[%" PRIu64 "]: inode missing", ino, index);
		db_be64(ikey, ck_.chunk_id);
		if (db_get(t, DB_CHUNKIDX, ikey, sizeof(ikey), &iv, &ivl) ||
		    ivl != 16 || memcmp(iv, k, 16))
			ck_report(ck, "chunk %016" PRIx64 ": id index missing or wrong", ck_.chunk_id);
		for (uint32_t i = 0; i < ck_.nreplicas && i < DB_MAX_REPLICAS; i++) {
			db_be32(dkey, ck_.replicas[i]);
			if (db_get(t, DB_DS, dkey, sizeof(dkey), NULL, NULL))
				ck_report(ck, "chunk %016" PRIx64 ": replica on unknown data server %u",
					  ck_.chunk_id, ck_.replicas[i]);
		}
	}
	db_cursor_close(c);
}

int mds_check_store(struct db *db, FILE *out)
{
	struct ck ck = { .out = out };
	struct hmap_node *node = NULL;
	struct db_txn *t;
	size_t b = 0;
	int ret;

	hmap_init(&ck.inodes);
	ret = db_read_begin(db, &t);
	if (ret)
		goto out;
	ret = ck_load_inodes(&ck, t);
	if (ret == 0) {
		ck_dirents(&ck, t);
		ck_links(&ck, t);
		ck_chunks(&ck, t);
	}
	db_txn_end(t);
out:
	while ((node = hmap_iter(&ck.inodes, &b, &node)))
		free(node->val);
	hmap_release(&ck.inodes);
	return ret ? ret : ck.problems;
}
