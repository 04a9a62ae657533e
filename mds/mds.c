/* mds.c - struct mds: open the store, background ticker, status */
#include "config.h"
#include "mds/mds_i.h"
#include "common/log.h"
#include "common/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct db *mds_db(struct mds *m)
{
	return m->db;
}

int mds_ds_heartbeat_ms(struct mds *m)
{
	return m->opts.ds_heartbeat_ms;
}

struct root_args {
	const struct mds_opts *o;
};

static int root_fn(struct db_txn *t, void *p)
{
	struct root_args *a = p;
	struct db_inode r = { 0 };
	uint64_t next;
	int ret;

	ret = ns_get_inode(t, MDS_ROOT_INO, &r);
	if (ret != -ENOENT)
		return ret;
	r.ino = MDS_ROOT_INO;
	r.mode = S_IFDIR | 0755;
	r.nlink = 2;
	r.atime = r.mtime = r.ctime = gn_now_ns();
	r.generation = 1;
	r.parent = MDS_ROOT_INO;
	r.replicas = (uint32_t)(a->o->default_replicas > 0 ? a->o->default_replicas : 1);
	r.compression = (uint32_t)a->o->default_compression;
	ret = ns_put_inode(t, &r);
	if (ret)
		return ret;
	/* Inode numbers start after the root. */
	ret = db_counter_get(t, "ino", &next);
	if (ret == 0 && next < MDS_ROOT_INO) {
		next = MDS_ROOT_INO;
		ret = db_put(t, DB_COUNTER, "ino", 3, &next, sizeof(next), 0);
	}
	return ret;
}

static void *mds_ticker(void *p)
{
	struct mds *m = p;

	pthread_mutex_lock(&m->lock);
	while (!m->stop) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 200 * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&m->stop_cond, &m->lock, &ts);
		if (m->stop)
			break;
		pthread_mutex_unlock(&m->lock);
		mds_tick(m);
		pthread_mutex_lock(&m->lock);
	}
	pthread_mutex_unlock(&m->lock);
	return NULL;
}

void mds_tick(struct mds *m)
{
	int64_t now = gn_mono_ms();

	mds_session_tick(m);
	mds_ds_tick(m);
	if (now - m->last_lease_tick_ms >= 5000) {
		m->last_lease_tick_ms = now;
		mds_lease_tick(m);
	}
}

int mds_new(const struct mds_opts *opts, struct mds **out)
{
	struct mds *m = xcalloc(1, sizeof(*m));
	struct db_opts dbo = { 0 };
	struct root_args ra = { .o = opts };
	pthread_condattr_t ca;
	int ret;

	m->opts = *opts;
	m->data_dir = xstrdup(opts->data_dir);
	m->opts.data_dir = m->data_dir;
	if (m->opts.session_timeout_ms <= 0)
		m->opts.session_timeout_ms = 60000;
	if (m->opts.ds_timeout_ms <= 0)
		m->opts.ds_timeout_ms = 10000;
	if (m->opts.ds_heartbeat_ms <= 0)
		m->opts.ds_heartbeat_ms = 1000;
	m->started_ns = gn_now_ns();
	/* Handles from an earlier run must not collide with new ones. */
	m->next_handle = (uint64_t)m->started_ns << 8;
	srand48((long)m->started_ns ^ getpid());
	pthread_mutex_init(&m->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&m->cond, &ca);
	pthread_condattr_destroy(&ca);
	pthread_cond_init(&m->stop_cond, NULL);
	hmap_init(&m->sessions);
	hmap_init(&m->handles);
	hmap_init(&m->opens);
	hmap_init(&m->attr_leases);
	hmap_init(&m->entry_leases);
	hmap_init(&m->replicating);
	hmap_init(&m->bad_replica);

	dbo.dir = m->data_dir;
	dbo.map_size = opts->map_size;
	dbo.max_map_size = opts->max_map_size;
	dbo.group_commit = opts->group_commit;
	ret = db_open(&dbo, &m->db);
	if (ret)
		goto out;
	ret = db_write(m->db, root_fn, &ra);
	if (ret)
		goto out;
	ret = mds_ds_load(m);
	if (ret)
		goto out;
	ret = mds_session_load(m);
	if (ret)
		goto out;
	if (!opts->no_ticker) {
		if (pthread_create(&m->ticker, NULL, mds_ticker, m)) {
			ret = -EAGAIN;
			goto out;
		}
		m->ticker_started = true;
	}
	*out = m;
	m = NULL;
out:
	if (m)
		mds_free(m);
	return ret;
}

void mds_stop(struct mds *m)
{
	pthread_mutex_lock(&m->lock);
	m->stop = true;
	pthread_cond_broadcast(&m->stop_cond);
	pthread_cond_broadcast(&m->cond);
	pthread_mutex_unlock(&m->lock);
}

void mds_free(struct mds *m)
{
	if (!m)
		return;
	pthread_mutex_lock(&m->lock);
	m->stop = true;
	pthread_cond_broadcast(&m->stop_cond);
	pthread_cond_broadcast(&m->cond);
	pthread_mutex_unlock(&m->lock);
	if (m->ticker_started)
		pthread_join(m->ticker, NULL);
	db_close(m->db);
	mds_session_free_all(m);
	hmap_release(&m->replicating);
	hmap_release(&m->bad_replica);
	for (size_t i = 0; i < MDS_MAX_DS; i++) {
		if (m->ds[i]) {
			free(m->ds[i]->orders);
			free(m->ds[i]);
		}
	}
	pthread_cond_destroy(&m->cond);
	pthread_cond_destroy(&m->stop_cond);
	pthread_mutex_destroy(&m->lock);
	free(m->data_dir);
	free(m);
}

int mds_get_status(struct mds *m, struct mds_status *out)
{
	struct mds_status s = { 0 };
	struct db_txn *t;
	int ret = db_read_begin(m->db, &t);

	if (ret)
		return ret;
	s.inodes = db_count(t, DB_INODE);
	s.chunks = db_count(t, DB_CHUNK);
	db_txn_end(t);
	s.started_ns = m->started_ns;
	pthread_mutex_lock(&m->lock);
	s.degraded = m->degraded;
	s.damaged = m->damaged;
	s.sessions = (uint32_t)m->sessions.n;
	pthread_mutex_unlock(&m->lock);
	*out = s;
	return 0;
}
