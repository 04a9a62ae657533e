/*
 * store.c - opening a storage directory (lock, uuid, start-up scan that
 * removes temporary leftovers and indexes every version), the header
 * format, deletion, quarantine and inventory.  Writing and reading are in
 * store_io.c.  See store.h.
 */
#include "config.h"
#include "ds/store_i.h"
#include "common/buf.h"
#include "common/log.h"
#include "common/status.h"
#include "common/util.h"

#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include <xxhash.h>

/* ------------------------------------------------------------------ */
/* Header                                                             */
/* ------------------------------------------------------------------ */

/* The shared-block extension, covered by ext_cksum. */
#define EXT_LEN (offsetof(struct ds_hdr, ext_cksum) - offsetof(struct ds_hdr, nsrc))
_Static_assert(sizeof(struct ds_hdr) <= DS_HDR_SIZE, "header fits its page");

void ds_hdr_encode(const struct ds_hdr *h, void *p)
{
	struct ds_hdr le;

	memset(p, 0, DS_HDR_SIZE);
	memset(&le, 0, sizeof(le));
	memcpy(le.magic, DS_HDR_MAGIC, sizeof(le.magic));
	le.hdr_size = htole32(DS_HDR_SIZE);
	le.compression = htole32(h->compression);
	le.chunk_id = htole64(h->chunk_id);
	le.version = htole64(h->version);
	le.length = htole32(h->length);
	le.nblocks = htole32(h->nblocks);
	le.data_bytes = htole64(h->data_bytes);
	le.digest = htole64(h->digest);
	for (uint32_t k = 0; k < GN_BLOCKS_PER_CHUNK; k++) {
		le.frame_off[k] = htole32(h->frame_off[k]);
		le.frame_len[k] = htole32(h->frame_len[k]);
		le.cksums[k] = htole64(h->cksums[k]);
	}
	if (h->nsrc) {
		memcpy(le.magic, DS_HDR_MAGIC2, sizeof(le.magic));
		le.nsrc = htole32(h->nsrc);
		for (uint32_t i = 0; i < DS_MAX_SRC; i++)
			le.src[i] = htole64(h->src[i]);
		memcpy(le.blk_src, h->blk_src, sizeof(le.blk_src));
		le.ext_cksum = htole64(XXH3_64bits(&le.nsrc, EXT_LEN));
	}
	le.hdr_cksum = htole64(XXH3_64bits(&le, offsetof(struct ds_hdr, hdr_cksum)));
	memcpy(p, &le, sizeof(le));
}

/* Check the shared-block extension of a decoded GNCHUNK2 header. */
static int decode_ext(const struct ds_hdr *le, struct ds_hdr *h)
{
	if (le64toh(le->ext_cksum) != XXH3_64bits(&le->nsrc, EXT_LEN))
		return -EBADMSG;
	h->nsrc = le32toh(le->nsrc);
	if (h->nsrc == 0 || h->nsrc > DS_MAX_SRC)
		return -EBADMSG;
	for (uint32_t i = 0; i < DS_MAX_SRC; i++) {
		h->src[i] = le64toh(le->src[i]);
		if (i < h->nsrc && (h->src[i] == 0 || h->src[i] >= h->version ||
				    (i > 0 && h->src[i] <= h->src[i - 1])))
			return -EBADMSG;
	}
	memcpy(h->blk_src, le->blk_src, sizeof(h->blk_src));
	for (uint32_t k = 0; k < GN_BLOCKS_PER_CHUNK; k++)
		if (h->blk_src[k] > (k < h->nblocks ? h->nsrc : 0))
			return -EBADMSG;
	return 0;
}

int ds_hdr_decode(const void *p, size_t len, struct ds_hdr *h)
{
	struct ds_hdr le;
	uint64_t own_end = 0;
	bool shared;
	uint32_t nb;

	if (len < sizeof(le))
		return -EBADMSG;
	memcpy(&le, p, sizeof(le));
	memset(h, 0, sizeof(*h));
	shared = !memcmp(le.magic, DS_HDR_MAGIC2, sizeof(le.magic));
	if ((!shared && memcmp(le.magic, DS_HDR_MAGIC, sizeof(le.magic))) ||
	    le32toh(le.hdr_size) != DS_HDR_SIZE ||
	    le64toh(le.hdr_cksum) != XXH3_64bits(&le, offsetof(struct ds_hdr, hdr_cksum)))
		return -EBADMSG;
	memcpy(h->magic, le.magic, sizeof(h->magic));
	h->hdr_size = DS_HDR_SIZE;
	h->compression = le32toh(le.compression);
	h->chunk_id = le64toh(le.chunk_id);
	h->version = le64toh(le.version);
	h->length = le32toh(le.length);
	h->nblocks = le32toh(le.nblocks);
	h->data_bytes = le64toh(le.data_bytes);
	h->digest = le64toh(le.digest);
	h->hdr_cksum = le64toh(le.hdr_cksum);
	if (h->length > GN_CHUNK_SIZE || h->data_bytes > GN_CHUNK_SIZE ||
	    h->compression > DS_COMP_ZSTD ||
	    h->nblocks != gn_cksum_count(h->length))
		return -EBADMSG;
	if (shared && decode_ext(&le, h))
		return -EBADMSG;
	nb = h->nblocks;
	for (uint32_t k = 0; k < GN_BLOCKS_PER_CHUNK; k++) {
		uint32_t blen = k < nb ? GN_MIN(GN_BLOCK_SIZE, h->length - k * GN_BLOCK_SIZE) : 0;
		uint64_t end;

		h->frame_off[k] = le32toh(le.frame_off[k]);
		h->frame_len[k] = le32toh(le.frame_len[k]);
		h->cksums[k] = le64toh(le.cksums[k]);
		if (k >= nb)
			continue;
		/* Frames never grow a block; this file's own frames lie
		 * inside its data, in block order, without overlapping (a
		 * shared one is checked against its file when read). */
		end = (uint64_t)h->frame_off[k] + h->frame_len[k];
		if (h->frame_len[k] > blen ||
		    end > (h->blk_src[k] ? GN_CHUNK_SIZE : h->data_bytes))
			return -EBADMSG;
		if (h->blk_src[k])
			continue;
		if (h->frame_off[k] < own_end)
			return -EBADMSG;
		own_end = end;
	}
	return 0;
}

void ds_chunk_name(char *buf, size_t len, uint64_t id, uint64_t version)
{
	snprintf(buf, len, "%016" PRIx64 ".%016" PRIx64, id, version);
}

void ds_kept_name(char *buf, size_t len, uint64_t id, uint64_t version)
{
	snprintf(buf, len, "%016" PRIx64 ".%016" PRIx64 ".kept", id, version);
}

ssize_t ds_pread_full(int fd, void *buf, size_t len, off_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, (char *)buf + done, len - done, off + (off_t)done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		done += (size_t)n;
		/* A regular file reads short only at its end; asking again
		 * would also break O_DIRECT alignment. */
		if ((size_t)n < len - (done - (size_t)n) || n == 0)
			break;
	}
	return (ssize_t)done;
}

ssize_t ds_pread_head(int fd, void *buf, size_t maxlen)
{
	struct stat st;

	/* An O_DIRECT read past the end of a file has the kernel zero the
	 * rest of the buffer before it reports the short count: 4 MiB of
	 * memset for a 100 KiB chunk. */
	if (fstat(fd, &st) == 0 && st.st_size >= 0) {
		uint64_t want = ((uint64_t)st.st_size + 4095) / 4096 * 4096;

		if (want < maxlen)
			maxlen = (size_t)GN_MAX(want, (uint64_t)4096);
	}
	return ds_pread_full(fd, buf, maxlen, 0);
}

/* ------------------------------------------------------------------ */
/* Opening                                                            */
/* ------------------------------------------------------------------ */

static int mkdir_p(const char *path)
{
	char *p = xstrdup(path);
	int ret = 0;

	for (char *s = p + 1; ; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char c = *s;

		*s = '\0';
		if (mkdir(p, 0755) && errno != EEXIST) {
			ret = -errno;
			break;
		}
		*s = c;
		if (!c)
			break;
	}
	free(p);
	return ret;
}

/* Write name in dirfd atomically and durably with content s. */
static int write_file_atomic(int dirfd, const char *name, const char *s)
{
	char tmp[64];
	size_t len = strlen(s);
	int fd, ret = 0;

	snprintf(tmp, sizeof(tmp), "%s.tmp", name);
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (write(fd, s, len) != (ssize_t)len || fsync(fd))
		ret = errno ? -errno : -EIO;
	close(fd);
	if (!ret && renameat(dirfd, tmp, dirfd, name))
		ret = -errno;
	if (!ret && fsync(dirfd))
		ret = -errno;
	if (ret)
		unlinkat(dirfd, tmp, 0);
	return ret;
}

static int load_uuid(struct ds_store *st)
{
	unsigned char r[16];
	char buf[64];
	ssize_t n;
	int fd, ret;

	fd = openat(st->dir_fd, "uuid", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n >= 36) {
			memcpy(st->uuid, buf, 36);
			st->uuid[36] = '\0';
			return 0;
		}
		log_err("store uuid file is damaged dir='%s'", st->dir);
		return -EBADMSG;
	}
	if (errno != ENOENT)
		return -errno;
	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
		return -EIO;
	r[6] = (r[6] & 0x0f) | 0x40;	/* RFC 4122 version 4 */
	r[8] = (r[8] & 0x3f) | 0x80;
	snprintf(st->uuid, sizeof(st->uuid),
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9],
		 r[10], r[11], r[12], r[13], r[14], r[15]);
	snprintf(buf, sizeof(buf), "%s\n", st->uuid);
	ret = write_file_atomic(st->dir_fd, "uuid", buf);
	if (!ret)
		log_info("new store dir='%s' uuid=%s", st->dir, st->uuid);
	return ret;
}

/* "<id>.<version>", or with kept set "<id>.<version>.kept". */
static int parse_chunk_name(const char *name, uint64_t *id, uint64_t *version,
			    bool *kept)
{
	size_t len = strlen(name);
	char *end;

	*kept = len == 38 && !strcmp(name + 33, ".kept");
	if ((len != 33 && !*kept) || name[16] != '.')
		return -EINVAL;
	for (int i = 0; i < 33; i++)
		if (i != 16 && !strchr("0123456789abcdef", name[i]))
			return -EINVAL;
	*id = strtoull(name, &end, 16);
	*version = strtoull(name + 17, &end, 16);
	return 0;
}

/* Move a file of subdir sub that is not (or no longer) indexed aside. */
static int quarantine_file(struct ds_store *st, int sub, const char *name)
{
	char qname[96];

	snprintf(qname, sizeof(qname), "%s.%" PRId64, name, gn_now_ns());
	if (renameat(st->sub_fd[sub], name, st->qdir_fd, qname))
		return -errno;
	fsync(st->sub_fd[sub]);
	fsync(st->qdir_fd);
	return 0;
}

/* Index one version file found at start-up; damaged headers are moved to
 * quarantine (their data can no longer be trusted or located). */
static void scan_one(struct ds_store *st, int sub, const char *name,
		     void *hdrbuf, unsigned *nbad)
{
	struct ds_chunk_stat s;
	struct ds_idx_ent *e;
	struct ds_hdr h;
	struct stat sb;
	uint64_t id, ver;
	bool kept;
	ssize_t n;
	int fd;

	if (parse_chunk_name(name, &id, &ver, &kept) || ds_subdir_of(id) != sub) {
		log_warn("ignoring unknown file in store path='%s/chunks/%02x/%s'",
			 st->dir, sub, name);
		return;
	}
	fd = openat(st->sub_fd[sub], name, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		log_warn("cannot open chunk file '%s': %s", name, strerror(errno));
		return;
	}
	n = ds_pread_full(fd, hdrbuf, DS_HDR_SIZE, 0);
	if (n != DS_HDR_SIZE || ds_hdr_decode(hdrbuf, DS_HDR_SIZE, &h) ||
	    h.chunk_id != id || h.version != ver || fstat(fd, &sb) ||
	    (uint64_t)sb.st_size < DS_HDR_SIZE + h.data_bytes) {
		close(fd);
		log_warn("damaged chunk header, quarantined chunk=%016" PRIx64
			 " version=%" PRIu64, id, ver);
		quarantine_file(st, sub, name);
		(*nbad)++;
		return;
	}
	close(fd);
	s.chunk_id = id;
	s.version = ver;
	s.length = h.length;
	s.compression = (uint8_t)h.compression;
	s.digest = h.digest;
	/* The blocks taken, not the size: a version sharing blocks with
	 * older ones is a sparse file. */
	s.stored_bytes = GN_MIN((uint64_t)sb.st_size, (uint64_t)sb.st_blocks * 512);
	s.nsrc = (uint8_t)h.nsrc;
	if (ds_index_ent(&st->ix, id, ver)) {
		/* Both a live and a kept name, which the store never makes
		 * (a copy of a kept version is refused): serve the live one. */
		char kname[48];

		ds_kept_name(kname, sizeof(kname), id, ver);
		unlinkat(st->sub_fd[sub], kname, 0);
		if (kept)
			return;
	}
	e = ds_index_put(&st->ix, &s, h.src);
	if (kept)
		ds_index_keep(&st->ix, e);
}

static int scan_subdir(struct ds_store *st, int sub, void *hdrbuf,
		       unsigned *ntmp, unsigned *nbad)
{
	struct dirent *de;
	DIR *d;
	int fd = dup(st->sub_fd[sub]);
	bool cleaned = false;

	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return -errno;
	}
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (strstr(de->d_name, ".tmp")) {
			/* An unfinished write from before a crash: it was
			 * never acknowledged, so it is simply dropped. */
			if (unlinkat(st->sub_fd[sub], de->d_name, 0) == 0) {
				(*ntmp)++;
				cleaned = true;
			}
			continue;
		}
		scan_one(st, sub, de->d_name, hdrbuf, nbad);
	}
	closedir(d);
	if (cleaned)
		fsync(st->sub_fd[sub]);
	return 0;
}

/*
 * Damaged versions are kept in quarantine/ for a week for whoever wants to
 * look at them (the MDS has long since re-replicated them), then removed
 * at start-up so that the directory cannot grow without bound.  Their
 * names end in the time they were quarantined (nanoseconds).
 */
#define QUARANTINE_KEEP_NS (7LL * 86400 * 1000000000)

static void expire_quarantine(struct ds_store *st)
{
	int64_t now = gn_now_ns();
	struct dirent *de;
	int fd = dup(st->qdir_fd);
	DIR *d;

	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((de = readdir(d))) {
		const char *dot = strrchr(de->d_name, '.');
		int64_t t;

		if (de->d_name[0] == '.' || !dot || gn_parse_int(dot + 1, &t))
			continue;
		if (now - t > QUARANTINE_KEEP_NS && !unlinkat(st->qdir_fd, de->d_name, 0))
			log_info("removed old quarantined chunk file '%s'", de->d_name);
	}
	closedir(d);
}

static int open_dirs(struct ds_store *st)
{
	char name[16];
	int cfd, ret = 0;

	if (mkdirat(st->dir_fd, "chunks", 0755) && errno != EEXIST)
		return -errno;
	if (mkdirat(st->dir_fd, "quarantine", 0755) && errno != EEXIST)
		return -errno;
	st->qdir_fd = openat(st->dir_fd, "quarantine", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	cfd = openat(st->dir_fd, "chunks", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (st->qdir_fd < 0 || cfd < 0) {
		ret = -errno;
		goto out;
	}
	for (int i = 0; i < DS_NSUBDIRS; i++) {
		snprintf(name, sizeof(name), "%02x", i);
		if (mkdirat(cfd, name, 0755) && errno != EEXIST) {
			ret = -errno;
			goto out;
		}
		st->sub_fd[i] = openat(cfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (st->sub_fd[i] < 0) {
			ret = -errno;
			goto out;
		}
	}
	fsync(cfd);
	fsync(st->dir_fd);
out:
	if (cfd >= 0)
		close(cfd);
	return ret;
}

int ds_store_open(const struct ds_store_opts *opts, struct ds_store **out)
{
	struct ds_store *st = xcalloc(1, sizeof(*st));
	unsigned ntmp = 0, nbad = 0, nunused = 0;
	void *hdrbuf = NULL;
	int ret;

	st->dir = xstrdup(opts->dir);
	st->reserve = opts->reserve;
	st->zstd_level = opts->zstd_level > 0 ? opts->zstd_level : 3;
	st->buf_wait_ms = opts->buf_wait_ms > 0 ? opts->buf_wait_ms : 10000;
	st->direct = !opts->buffered_io;
	st->on_bad = opts->on_bad;
	st->on_bad_arg = opts->on_bad_arg;
	st->lock_fd = st->dir_fd = st->qdir_fd = -1;
	for (int i = 0; i < DS_NSUBDIRS; i++)
		st->sub_fd[i] = -1;
	pthread_mutex_init(&st->lock, NULL);
	for (int i = 0; i < DS_NSTRIPES; i++)
		pthread_mutex_init(&st->stripe[i], NULL);
	ds_index_init(&st->ix);

	ret = mkdir_p(st->dir);
	if (ret)
		goto out;
	st->dir_fd = open(st->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (st->dir_fd < 0) {
		ret = -errno;
		goto out;
	}
	st->lock_fd = openat(st->dir_fd, "lock", O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (st->lock_fd < 0) {
		ret = -errno;
		goto out;
	}
	if (flock(st->lock_fd, LOCK_EX | LOCK_NB)) {
		ret = errno == EWOULDBLOCK ? -EBUSY : -errno;
		goto out;
	}
	ret = load_uuid(st);
	if (ret)
		goto out;
	ret = open_dirs(st);
	if (ret)
		goto out;
	expire_quarantine(st);
	ret = gn_bufpool_new(DS_BUF_SIZE, opts->nbufs ? opts->nbufs : 16, &st->pool);
	if (ret)
		goto out;
	hdrbuf = gn_bufpool_get(st->pool);
	for (int i = 0; i < DS_NSUBDIRS && !ret; i++)
		ret = scan_subdir(st, i, hdrbuf, &ntmp, &nbad);
	gn_bufpool_put(st->pool, hdrbuf);
	if (ret)
		goto out;
	ret = ds__resolve_shared(st, &nbad, &nunused);
	if (ret)
		goto out;
	st->bad_versions = nbad;
	log_info("store opened dir='%s' versions=%zu kept=%zu removed_tmp=%u"
		 " removed_unused=%u quarantined=%u", st->dir, st->ix.live,
		 st->ix.count - st->ix.live, ntmp, nunused, nbad);
out:
	if (ret) {
		ds_store_close(st);
		return ret;
	}
	*out = st;
	return 0;
}

void ds_store_close(struct ds_store *st)
{
	if (!st)
		return;
	for (int i = 0; i < DS_NSUBDIRS; i++)
		if (st->sub_fd[i] >= 0)
			close(st->sub_fd[i]);
	if (st->qdir_fd >= 0)
		close(st->qdir_fd);
	if (st->dir_fd >= 0)
		close(st->dir_fd);
	if (st->lock_fd >= 0)
		close(st->lock_fd);	/* drops the flock */
	gn_bufpool_free(st->pool);
	ds_index_release(&st->ix);
	pthread_mutex_destroy(&st->lock);
	for (int i = 0; i < DS_NSTRIPES; i++)
		pthread_mutex_destroy(&st->stripe[i]);
	free(st->dir);
	free(st);
}

const char *ds_store_uuid(const struct ds_store *st)
{
	return st->uuid;
}

const char *ds_store_dir(const struct ds_store *st)
{
	return st->dir;
}

/* ------------------------------------------------------------------ */
/* Inventory, deletion, quarantine                                    */
/* ------------------------------------------------------------------ */

int ds_store_stat_chunk(struct ds_store *st, uint64_t chunk_id,
			uint64_t version, struct ds_chunk_stat *out)
{
	struct ds_chunk_stat *s;
	int ret = -ENOENT;

	pthread_mutex_lock(&st->lock);
	s = ds_index_find(&st->ix, chunk_id, version);
	if (s) {
		*out = *s;
		ret = 0;
	}
	pthread_mutex_unlock(&st->lock);
	return ret;
}

bool ds_store_has_chunk(struct ds_store *st, uint64_t chunk_id)
{
	bool has;

	pthread_mutex_lock(&st->lock);
	has = ds_index_max_version(&st->ix, chunk_id) != 0;
	pthread_mutex_unlock(&st->lock);
	return has;
}

/* Delete one live version: renamed to its kept name while newer
 * versions use its blocks, else removed.  Caller holds the stripe. */
static int delete_one(struct ds_store *st, uint64_t id, uint64_t version)
{
	int sub = ds_subdir_of(id), ret = 0;
	char name[48], kname[48];
	struct ds_idx_ent *e;
	bool keep, live;

	pthread_mutex_lock(&st->lock);
	e = ds_index_ent(&st->ix, id, version);
	live = e && !e->kept;
	keep = live && e->refs > 0;
	pthread_mutex_unlock(&st->lock);
	if (!live)
		return -ENOENT;
	ds_chunk_name(name, sizeof(name), id, version);
	ds_kept_name(kname, sizeof(kname), id, version);
	if (keep ? renameat(st->sub_fd[sub], name, st->sub_fd[sub], kname)
		 : unlinkat(st->sub_fd[sub], name, 0) && errno != ENOENT) {
		ret = -errno;
		log_err("cannot delete chunk file '%s': %s", name, strerror(errno));
		return ret;
	}
	pthread_mutex_lock(&st->lock);
	ds__retire(st, ds_index_ent(&st->ix, id, version), keep);
	pthread_mutex_unlock(&st->lock);
	return 0;
}

/* Delete every version of a chunk, kept ones too.  Caller holds the
 * stripe.  Returns how many went, or -errno (the rest stays for a later
 * attempt). */
static int delete_all(struct ds_store *st, uint64_t id)
{
	int sub = ds_subdir_of(id), removed = 0;
	struct ds_idx_ent *e;
	uint64_t vers[64];
	char name[48];
	size_t n;

	do {
		pthread_mutex_lock(&st->lock);
		n = ds_index_versions(&st->ix, id, vers, GN_ARRAY_SIZE(vers));
		n = GN_MIN(n, GN_ARRAY_SIZE(vers));
		pthread_mutex_unlock(&st->lock);
		for (size_t i = 0; i < n; i++) {
			pthread_mutex_lock(&st->lock);
			e = ds_index_ent(&st->ix, id, vers[i]);
			if (e && e->kept)
				ds_kept_name(name, sizeof(name), id, vers[i]);
			else
				ds_chunk_name(name, sizeof(name), id, vers[i]);
			pthread_mutex_unlock(&st->lock);
			if (unlinkat(st->sub_fd[sub], name, 0) && errno != ENOENT) {
				log_err("cannot delete chunk file '%s': %s", name,
					strerror(errno));
				return -errno;
			}
			pthread_mutex_lock(&st->lock);
			ds_index_del(&st->ix, id, vers[i]);
			pthread_mutex_unlock(&st->lock);
			removed++;
		}
	} while (n > 0);
	return removed;
}

/* Remove without syncing the directory: 1 when something went, 0 when
 * nothing matched, -errno. */
static int delete_unsynced(struct ds_store *st, uint64_t chunk_id,
			   uint64_t version)
{
	pthread_mutex_t *stripe = &st->stripe[chunk_id % DS_NSTRIPES];
	int ret;

	pthread_mutex_lock(stripe);
	ret = version ? delete_one(st, chunk_id, version) : delete_all(st, chunk_id);
	pthread_mutex_unlock(stripe);
	if (ret == -ENOENT)
		return 0;
	return ret < 0 ? ret : ret > 0 || version != 0;
}

int ds_store_delete(struct ds_store *st, uint64_t chunk_id, uint64_t version)
{
	int ret = delete_unsynced(st, chunk_id, version);

	if (ret <= 0)
		return ret ? ret : -ENOENT;
	if (fsync(st->sub_fd[ds_subdir_of(chunk_id)]))
		return -errno;
	return 0;
}

int ds_store_delete_many(struct ds_store *st, const struct ds_chunk_ref *refs,
			 size_t n)
{
	bool touched[DS_NSUBDIRS] = { false };
	int err = 0, done = 0;

	for (size_t i = 0; i < n; i++) {
		int ret = delete_unsynced(st, refs[i].chunk_id, refs[i].version);

		if (ret < 0 && !err)
			err = ret;
		/* A failed delete_all may have removed some versions. */
		if (ret != 0)
			touched[ds_subdir_of(refs[i].chunk_id)] = true;
		if (ret > 0)
			done++;
	}
	for (int sub = 0; sub < DS_NSUBDIRS; sub++)
		if (touched[sub] && fsync(st->sub_fd[sub]) && !err) {
			err = -errno;
			log_err("cannot sync chunk directory %02x: %s", sub,
				strerror(errno));
		}
	return err ? err : done;
}

int ds__quarantine(struct ds_store *st, uint64_t id, uint64_t version,
		   const char *reason)
{
	pthread_mutex_t *stripe = &st->stripe[id % DS_NSTRIPES];
	int sub = ds_subdir_of(id);
	struct ds_idx_ent *e;
	char name[40];
	bool known;
	int ret;

	ds_chunk_name(name, sizeof(name), id, version);
	pthread_mutex_lock(stripe);
	pthread_mutex_lock(&st->lock);
	/* Versions that take blocks from this one find them gone and are
	 * quarantined in turn when read: they share its damage. */
	e = ds_index_ent(&st->ix, id, version);
	known = e && !e->kept;
	if (known) {
		ds__retire(st, e, false);
		st->bad_versions++;
	}
	pthread_mutex_unlock(&st->lock);
	ret = known ? quarantine_file(st, sub, name) : -ENOENT;
	pthread_mutex_unlock(stripe);
	if (!known)
		return -ENOENT;
	log_warn("damaged chunk quarantined chunk=%016" PRIx64 " version=%" PRIu64
		 " reason='%s'", id, version, reason);
	if (ret)
		log_err("cannot move damaged chunk '%s' to quarantine: %s",
			name, strerror(-ret));
	if (st->on_bad)
		st->on_bad(st->on_bad_arg, id, version, reason);
	return 0;
}

int ds_store_quarantine(struct ds_store *st, uint64_t chunk_id,
			uint64_t version, const char *reason)
{
	return ds__quarantine(st, chunk_id, version, reason);
}

int ds_store_list(struct ds_store *st, uint64_t after_id,
		  uint64_t after_version, size_t max,
		  struct ds_chunk_stat *out, size_t *n, bool *eof)
{
	if (max == 0)
		return -EINVAL;
	pthread_mutex_lock(&st->lock);
	ds_index_list(&st->ix, after_id, after_version, max, out, n, eof);
	pthread_mutex_unlock(&st->lock);
	return 0;
}

int ds_store_info(struct ds_store *st, struct ds_store_info *out)
{
	struct statvfs sv;
	uint64_t avail;

	if (fstatvfs(st->dir_fd, &sv))
		return -errno;
	avail = (uint64_t)sv.f_bavail * sv.f_frsize;
	out->capacity_bytes = (uint64_t)sv.f_blocks * sv.f_frsize;
	out->free_bytes = avail > st->reserve ? avail - st->reserve : 0;
	pthread_mutex_lock(&st->lock);
	out->chunks = st->ix.live;
	out->stored_bytes = st->ix.stored_bytes;
	out->bad_versions = st->bad_versions;
	pthread_mutex_unlock(&st->lock);
	return 0;
}
