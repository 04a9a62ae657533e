/* session.c - client sessions, open handles, orphans and leases
 *
 * Sessions live in memory and in the session table (so that a restarted
 * MDS accepts reclaim_session_id and keeps the orphans they hold until
 * they come back or time out).  Handles and leases are memory only: after
 * a restart a client re-opens, and leases simply start over.
 */
#include "config.h"
#include "mds/mds_i.h"
#include "common/log.h"
#include "common/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define MDS_MAX_WAIT_MS 5000

static void cond_wait_ms(struct mds *m, int ms)
{
	struct timespec ts = gn_mono_after_ns((int64_t)ms * 1000000);

	pthread_cond_timedwait(&m->cond, &m->lock, &ts);
}

int mds_lease_ms(struct mds *m)
{
	return m->opts.lease_ms;
}

bool mds_cred_is_admin(struct mds *m, const struct mds_cred *c)
{
	if (c->uid == 0 || c->gid == m->opts.admin_gid)
		return true;
	for (uint32_t i = 0; i < c->ngroups && i < MDS_MAX_GROUPS; i++)
		if (c->groups[i] == m->opts.admin_gid)
			return true;
	return false;
}

int mds_session_timeout_ms(struct mds *m)
{
	return m->opts.session_timeout_ms;
}

/* ---- handles ---- */

int mds_handle_add(struct mds *m, uint64_t session, uint64_t ino,
		   uint32_t flags, uint64_t *id)
{
	struct mds_handle *h;
	struct mds_session *s = NULL;
	uintptr_t cnt;

	pthread_mutex_lock(&m->lock);
	/* The session was checked when the call began, but it may have
	 * expired since; a handle of a gone session would never be closed
	 * (its end already swept the handles). */
	if (session && !(s = hmap_get(&m->sessions, session))) {
		pthread_mutex_unlock(&m->lock);
		return -EUNATCH;
	}
	h = xcalloc(1, sizeof(*h));
	h->id = ++m->next_handle;
	h->session = session;
	h->ino = ino;
	h->flags = flags;
	hmap_put(&m->handles, h->id, h);
	cnt = (uintptr_t)hmap_get(&m->opens, ino);
	hmap_put(&m->opens, ino, (void *)(cnt + 1));
	if (s)
		s->open_files++;
	pthread_mutex_unlock(&m->lock);
	*id = h->id;
	return 0;
}

/* Drop h from the tables (its session's count too when it has one);
 * under m->lock.  The caller frees h. */
static void handle_drop_locked(struct mds *m, struct mds_handle *h,
			       struct mds_session *s)
{
	uintptr_t cnt = (uintptr_t)hmap_get(&m->opens, h->ino);

	hmap_del(&m->handles, h->id);
	if (cnt <= 1)
		hmap_del(&m->opens, h->ino);
	else
		hmap_put(&m->opens, h->ino, (void *)(cnt - 1));
	if (s && s->open_files)
		s->open_files--;
}

void mds_handle_del(struct mds *m, uint64_t id)
{
	struct mds_handle *h;

	pthread_mutex_lock(&m->lock);
	h = hmap_get(&m->handles, id);
	if (h)
		handle_drop_locked(m, h, hmap_get(&m->sessions, h->session));
	pthread_mutex_unlock(&m->lock);
	free(h);
}

int mds_handle_get_locked(struct mds *m, uint64_t session, uint64_t id,
			  uint64_t ino, struct mds_handle **out)
{
	struct mds_handle *h = hmap_get(&m->handles, id);

	if (!h)
		return -ENOENT;
	if (h->ino != ino || h->session != session)
		return -EBADF;
	*out = h;
	return 0;
}

int mds_opens_locked(struct mds *m, uint64_t ino)
{
	return (int)(uintptr_t)hmap_get(&m->opens, ino);
}

int mds_open_count(struct mds *m, uint64_t ino)
{
	int n;

	pthread_mutex_lock(&m->lock);
	n = mds_opens_locked(m, ino);
	pthread_mutex_unlock(&m->lock);
	return n;
}

void mds_open_sessions(struct mds *m, uint64_t ino, uint64_t **ids, size_t *n)
{
	struct hmap_node *node = NULL;
	size_t b = 0, cnt = 0, cap = 0;
	uint64_t *v = NULL;

	pthread_mutex_lock(&m->lock);
	if (mds_opens_locked(m, ino) > 0) {
		while ((node = hmap_iter(&m->handles, &b, &node))) {
			struct mds_handle *h = node->val;
			bool dup = false;
			if (h->ino != ino)
				continue;
			for (size_t i = 0; i < cnt; i++)
				if (v[i] == h->session)
					dup = true;
			if (dup)
				continue;
			if (cnt == cap) {
				cap = cap ? cap * 2 : 4;
				v = xrealloc(v, cap * sizeof(*v));
			}
			v[cnt++] = h->session;
		}
	}
	pthread_mutex_unlock(&m->lock);
	*ids = v;
	*n = cnt;
}

/* ---- orphans ---- */

struct orphan_args {
	struct mds *m;
	uint64_t ino, session;
	bool reclaimed;
};

static int orphan_fn(struct db_txn *t, void *p)
{
	struct orphan_args *a = p;
	uint8_t key[8];
	const void *v;
	size_t vl;
	int ret;

	if (mds_open_count(a->m, a->ino) > 0)
		return 0;
	ns_u64_key(key, a->ino);
	ret = db_get(t, DB_ORPHAN, key, sizeof(key), &v, &vl);
	if (ret)
		return ret == -ENOENT ? 0 : ret;
	if (a->session) {
		/* Drop this session's hold; others may come back. */
		size_t n = vl / 8, j = 0;
		uint64_t *ids = xmalloc(vl + 8);
		memcpy(ids, v, n * 8);
		for (size_t i = 0; i < n; i++)
			if (ids[i] != a->session)
				ids[j++] = ids[i];
		if (j > 0) {
			ret = j == n ? 0 : db_put(t, DB_ORPHAN, key, sizeof(key),
						  ids, j * 8, 0);
			free(ids);
			return ret;
		}
		free(ids);
	}
	a->reclaimed = true;
	return ns_reclaim(t, a->ino);
}

int mds_orphan_release(struct mds *m, uint64_t ino, uint64_t session)
{
	struct orphan_args a = { .m = m, .ino = ino, .session = session };
	struct db_txn *t;
	uint8_t key[8];
	int ret;

	if (mds_open_count(m, ino) > 0)
		return 0;
	/* Cheap read first: most closes are not of orphans. */
	ret = db_read_begin(m->db, &t);
	if (ret)
		return ret;
	ns_u64_key(key, ino);
	ret = db_get(t, DB_ORPHAN, key, sizeof(key), NULL, NULL);
	db_txn_end(t);
	if (ret)
		return ret == -ENOENT ? 0 : ret;
	ret = db_write(m->db, orphan_fn, &a);
	if (ret == 0 && a.reclaimed)
		log_debug("orphan reclaimed ino=%" PRIu64, ino);
	return ret;
}

/* ---- sessions ---- */

struct sess_args {
	uint64_t id;		/* 0: allocate */
	bool del;
	int64_t opened_ns;
	const char *client;
};

static int sess_fn(struct db_txn *t, void *p)
{
	struct sess_args *a = p;
	uint8_t key[8], val[sizeof(struct db_session) + 128];
	struct db_session ds = { 0 };
	size_t cl;
	int ret;

	if (a->del) {
		ns_u64_key(key, a->id);
		ret = db_del(t, DB_SESSION, key, sizeof(key));
		return ret == -ENOENT ? 0 : ret;
	}
	if (!a->id) {
		ret = db_counter_next(t, "session", &a->id);
		if (ret)
			return ret;
	}
	ds.id = a->id;
	ds.opened_ns = a->opened_ns;
	cl = GN_MIN(strlen(a->client), 127);
	memcpy(val, &ds, sizeof(ds));
	memcpy(val + sizeof(ds), a->client, cl);
	ns_u64_key(key, a->id);
	return db_put(t, DB_SESSION, key, sizeof(key), val, sizeof(ds) + cl, 0);
}

static struct mds_session *session_new(uint64_t id, const char *client,
				       int64_t opened_ns)
{
	struct mds_session *s = xcalloc(1, sizeof(*s));

	s->id = id;
	snprintf(s->client, sizeof(s->client), "%s", client);
	s->opened_ns = opened_ns;
	s->last_seen_ms = gn_mono_ms();
	s->first_seq = 1;
	return s;
}

static void session_free(struct mds_session *s)
{
	free(s->invs);
	free(s);
}

int mds_session_open(struct mds *m, const struct mds_cred *c,
		     const char *client, const char *peer, const char *subdir,
		     uint64_t reclaim, uint64_t *id, uint64_t *root_ino)
{
	struct sess_args a = { .client = client ? client : "",
			       .opened_ns = gn_now_ns() };
	struct mds_session *s;
	uint64_t root = MDS_ROOT_INO;
	char *path, *save = NULL, *comp;
	int ret = 0;

	if (subdir && strlen(subdir) > MDS_PATH_MAX)
		return -ENAMETOOLONG;
	path = xstrdup(subdir ? subdir : "");

	for (comp = strtok_r(path, "/", &save); comp; comp = strtok_r(NULL, "/", &save)) {
		struct db_inode n;
		ret = mds_ns_lookup(m, c, root, comp, &n);
		if (ret == 0 && !S_ISDIR(n.mode))
			ret = -ENOTDIR;
		if (ret)
			goto out;
		root = n.ino;
	}
	if (reclaim) {
		pthread_mutex_lock(&m->lock);
		s = hmap_get(&m->sessions, reclaim);
		if (s && !s->closed) {
			s->last_seen_ms = gn_mono_ms();
			snprintf(s->peer, sizeof(s->peer), "%s", peer ? peer : "");
			pthread_mutex_unlock(&m->lock);
			log_info("session reclaimed id=%" PRIu64 " client='%s'", reclaim, a.client);
			*id = reclaim;
			*root_ino = root;
			goto out;
		}
		pthread_mutex_unlock(&m->lock);
	}
	ret = db_write(m->db, sess_fn, &a);
	if (ret)
		goto out;
	s = session_new(a.id, a.client, a.opened_ns);
	snprintf(s->peer, sizeof(s->peer), "%s", peer ? peer : "");
	pthread_mutex_lock(&m->lock);
	hmap_put(&m->sessions, s->id, s);
	pthread_mutex_unlock(&m->lock);
	log_info("session opened id=%" PRIu64 " client='%s' peer='%s'", a.id,
		 a.client, peer ? peer : "");
	*id = a.id;
	*root_ino = root;
out:
	free(path);
	return ret;
}

bool mds_session_known(struct mds *m, uint64_t id)
{
	bool known;

	pthread_mutex_lock(&m->lock);
	known = hmap_get(&m->sessions, id) != NULL;
	pthread_mutex_unlock(&m->lock);
	return known;
}

static void session_ack_locked(struct mds *m, struct mds_session *s, uint64_t ack)
{
	size_t drop;

	if (ack > s->seq)
		ack = s->seq;
	if (ack <= s->acked)
		return;
	s->acked = ack;
	drop = GN_MIN(s->ninvs, (size_t)(ack + 1 - s->first_seq));
	memmove(s->invs, s->invs + drop, (s->ninvs - drop) * sizeof(*s->invs));
	s->ninvs -= drop;
	s->first_seq += drop;
	pthread_cond_broadcast(&m->cond);
}

int mds_session_heartbeat(struct mds *m, uint64_t id, uint64_t ack_seq,
			  int wait_ms, struct mds_inval **invs, size_t *n,
			  uint64_t *seq)
{
	struct mds_session *s;
	int64_t deadline;
	int ret = 0;

	if (wait_ms < 0 || wait_ms > MDS_MAX_WAIT_MS)
		wait_ms = MDS_MAX_WAIT_MS;
	deadline = gn_mono_ms() + wait_ms;
	pthread_mutex_lock(&m->lock);
	s = hmap_get(&m->sessions, id);
	if (!s || s->closed) {
		ret = -EUNATCH;
		goto out;
	}
	s->last_seen_ms = gn_mono_ms();
	session_ack_locked(m, s, ack_seq);
	s->waiters++;
	while (s->ninvs == 0 && !s->closed && !m->stop) {
		int64_t left = deadline - gn_mono_ms();
		if (left <= 0)
			break;
		cond_wait_ms(m, (int)left);
	}
	s->waiters--;
	s->last_seen_ms = gn_mono_ms();
	if (s->closed) {
		if (s->waiters == 0)
			session_free(s);
		ret = -EUNATCH;
		goto out;
	}
	*n = s->ninvs;
	*invs = xmalloc((s->ninvs ? s->ninvs : 1) * sizeof(**invs));
	if (s->ninvs)	/* s->invs is NULL until the first recall */
		memcpy(*invs, s->invs, s->ninvs * sizeof(**invs));
	*seq = s->seq;
out:
	pthread_mutex_unlock(&m->lock);
	return ret;
}

/* End a session: close its handles, release the orphans it held, forget
 * it on disk. */
static int session_end(struct mds *m, uint64_t id, const char *why)
{
	struct sess_args a = { .id = id, .del = true };
	struct mds_session *s;
	struct hmap_node *node = NULL;
	uint64_t *inos = NULL, *hs = NULL;
	size_t b = 0, n = 0, cap = 0;
	struct db_txn *t;
	int ret;

	pthread_mutex_lock(&m->lock);
	s = hmap_del(&m->sessions, id);
	if (!s) {
		pthread_mutex_unlock(&m->lock);
		return -EUNATCH;
	}
	s->closed = true;
	if (s->waiters == 0)
		session_free(s);
	while ((node = hmap_iter(&m->handles, &b, &node))) {
		struct mds_handle *h = node->val;
		if (h->session != id)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 8;
			inos = xrealloc(inos, cap * sizeof(*inos));
			hs = xrealloc(hs, cap * sizeof(*hs));
		}
		inos[n] = h->ino;
		hs[n++] = h->id;
	}
	for (size_t i = 0; i < n; i++) {
		struct mds_handle *h = hmap_get(&m->handles, hs[i]);

		handle_drop_locked(m, h, NULL);	/* s is gone */
		free(h);
	}
	pthread_cond_broadcast(&m->cond);
	pthread_mutex_unlock(&m->lock);
	log_info("session ended id=%" PRIu64 " reason=%s open_files=%zu", id, why, n);

	ret = db_write(m->db, sess_fn, &a);
	for (size_t i = 0; i < n; i++)
		mds_orphan_release(m, inos[i], 0);
	/* Orphans this session held before a restart. */
	n = 0;
	if (db_read_begin(m->db, &t) == 0) {
		struct db_cursor *c;
		const void *k, *v;
		size_t kl, vl;
		if (db_cursor_open(t, DB_ORPHAN, &c) == 0) {
			int r = db_cursor_seek(c, NULL, 0, &k, &kl, &v, &vl);
			for (; r == 0; r = db_cursor_next(c, &k, &kl, &v, &vl)) {
				const uint8_t *p = v;
				for (size_t i = 0; i + 8 <= vl; i += 8) {
					uint64_t sid;
					memcpy(&sid, p + i, 8);
					if (sid != id || kl != 8)
						continue;
					if (n == cap) {
						cap = cap ? cap * 2 : 8;
						inos = xrealloc(inos, cap * sizeof(*inos));
					}
					inos[n++] = db_get_be64(k);
				}
			}
			db_cursor_close(c);
		}
		db_txn_end(t);
	}
	for (size_t i = 0; i < n; i++)
		mds_orphan_release(m, inos[i], id);
	free(inos);
	free(hs);
	return ret;
}

int mds_session_close(struct mds *m, uint64_t id)
{
	return session_end(m, id, "closed");
}

void mds_session_tick(struct mds *m)
{
	struct hmap_node *node = NULL;
	int64_t now = gn_mono_ms();
	uint64_t *ids = NULL;
	size_t b = 0, n = 0, cap = 0;

	pthread_mutex_lock(&m->lock);
	while ((node = hmap_iter(&m->sessions, &b, &node))) {
		struct mds_session *s = node->val;
		if (s->waiters || now - s->last_seen_ms <= m->opts.session_timeout_ms)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 8;
			ids = xrealloc(ids, cap * sizeof(*ids));
		}
		ids[n++] = s->id;
	}
	pthread_mutex_unlock(&m->lock);
	for (size_t i = 0; i < n; i++)
		session_end(m, ids[i], "expired");
	free(ids);
}

int mds_session_load(struct mds *m)
{
	struct db_cursor *c = NULL;
	struct db_txn *t;
	const void *k, *v;
	size_t kl, vl;
	uint64_t *orphans = NULL;
	size_t norph = 0, cap = 0;
	int ret, r;

	ret = db_read_begin(m->db, &t);
	if (ret)
		return ret;
	ret = db_cursor_open(t, DB_SESSION, &c);
	if (ret)
		goto out;
	for (r = db_cursor_seek(c, NULL, 0, &k, &kl, &v, &vl); r == 0;
	     r = db_cursor_next(c, &k, &kl, &v, &vl)) {
		struct db_session ds;
		char client[128];
		size_t cl;
		if (vl < sizeof(ds))
			continue;
		memcpy(&ds, v, sizeof(ds));
		cl = GN_MIN(vl - sizeof(ds), sizeof(client) - 1);
		memcpy(client, (const char *)v + sizeof(ds), cl);
		client[cl] = '\0';
		pthread_mutex_lock(&m->lock);
		hmap_put(&m->sessions, ds.id, session_new(ds.id, client, ds.opened_ns));
		pthread_mutex_unlock(&m->lock);
	}
	db_cursor_close(c);
	c = NULL;
	/* Orphans none of whose sessions survive go now. */
	ret = db_cursor_open(t, DB_ORPHAN, &c);
	if (ret)
		goto out;
	for (r = db_cursor_seek(c, NULL, 0, &k, &kl, &v, &vl); r == 0;
	     r = db_cursor_next(c, &k, &kl, &v, &vl)) {
		bool held = false;
		for (size_t i = 0; i + 8 <= vl; i += 8) {
			uint64_t sid;
			memcpy(&sid, (const uint8_t *)v + i, 8);
			if (mds_session_known(m, sid))
				held = true;
		}
		if (held || kl != 8)
			continue;
		if (norph == cap) {
			cap = cap ? cap * 2 : 8;
			orphans = xrealloc(orphans, cap * sizeof(*orphans));
		}
		orphans[norph++] = db_get_be64(k);
	}
out:
	db_cursor_close(c);
	db_txn_end(t);
	for (size_t i = 0; i < norph; i++)
		mds_orphan_release(m, orphans[i], 0);
	free(orphans);
	return ret;
}

void mds_session_free_all(struct mds *m)
{
	struct hmap_node *node = NULL;
	size_t b = 0;

	while ((node = hmap_iter(&m->sessions, &b, &node)))
		session_free(node->val);
	hmap_release(&m->sessions);
	b = 0;
	node = NULL;
	while ((node = hmap_iter(&m->handles, &b, &node)))
		free(node->val);
	hmap_release(&m->handles);
	hmap_release(&m->opens);
	for (int k = 0; k < 2; k++) {
		struct hmap *h = k ? &m->entry_leases : &m->attr_leases;
		b = 0;
		node = NULL;
		while ((node = hmap_iter(h, &b, &node))) {
			struct mds_lease *l = node->val, *next;
			for (; l; l = next) {
				next = l->next;
				free(l);
			}
		}
		hmap_release(h);
	}
}

int mds_list_sessions(struct mds *m, struct mds_session_info **out, size_t *n)
{
	struct hmap_node *node = NULL;
	struct mds_session_info *v;
	int64_t now_ms = gn_mono_ms(), now_ns = gn_now_ns();
	size_t b = 0, i = 0;

	pthread_mutex_lock(&m->lock);
	v = xcalloc(m->sessions.n + 1, sizeof(*v));
	while ((node = hmap_iter(&m->sessions, &b, &node))) {
		struct mds_session *s = node->val;
		v[i].id = s->id;
		snprintf(v[i].client, sizeof(v[i].client), "%s", s->client);
		snprintf(v[i].peer, sizeof(v[i].peer), "%s", s->peer);
		v[i].opened_ns = s->opened_ns;
		v[i].last_seen_ns = now_ns - (now_ms - s->last_seen_ms) * 1000000;
		v[i].open_files = s->open_files;
		i++;
	}
	pthread_mutex_unlock(&m->lock);
	*out = v;
	*n = i;
	return 0;
}

/* ---- leases ---- */

void mds_lease_grant(struct mds *m, uint64_t session, uint64_t ino, bool entries)
{
	struct hmap *h = entries ? &m->entry_leases : &m->attr_leases;
	int64_t expiry = gn_mono_ms() + m->opts.lease_ms;
	struct mds_lease *l, *head;

	if (!session || m->opts.lease_ms <= 0)
		return;
	pthread_mutex_lock(&m->lock);
	head = hmap_get(h, ino);
	/* Prune expired leases of others while we are here. */
	for (struct mds_lease **pp = &head; *pp;) {
		struct mds_lease *x = *pp;
		if (x->session != session && x->expiry_ms <= expiry - m->opts.lease_ms) {
			*pp = x->next;
			free(x);
		} else {
			pp = &x->next;
		}
	}
	if (head)
		hmap_put(h, ino, head);
	else
		hmap_del(h, ino);
	for (l = head; l; l = l->next)
		if (l->session == session)
			break;
	if (l) {
		l->expiry_ms = expiry;
	} else {
		l = xmalloc(sizeof(*l));
		l->session = session;
		l->expiry_ms = expiry;
		l->next = head;
		hmap_put(h, ino, l);
	}
	pthread_mutex_unlock(&m->lock);
}

/* Drop expired leases (ticker, every few seconds): inodes whose leases
 * are never granted again would otherwise keep them forever. */
void mds_lease_tick(struct mds *m)
{
	int64_t now = gn_mono_ms();

	pthread_mutex_lock(&m->lock);
	for (int k = 0; k < 2; k++) {
		struct hmap *h = k ? &m->entry_leases : &m->attr_leases;
		struct hmap_node *node = NULL;
		uint64_t *empty = NULL;
		size_t b = 0, n = 0, cap = 0;

		while ((node = hmap_iter(h, &b, &node))) {
			struct mds_lease **pp = (struct mds_lease **)&node->val;
			while (*pp) {
				struct mds_lease *l = *pp;
				if (l->expiry_ms <= now) {
					*pp = l->next;
					free(l);
				} else {
					pp = &l->next;
				}
			}
			if (!node->val) {
				if (n == cap) {
					cap = cap ? cap * 2 : 64;
					empty = xrealloc(empty, cap * sizeof(*empty));
				}
				empty[n++] = node->key;
			}
		}
		for (size_t i = 0; i < n; i++)
			hmap_del(h, empty[i]);
		free(empty);
	}
	{
		/* Copy orders that timed out (their chunk may be gone). */
		struct hmap_node *node = NULL;
		uint64_t *old = NULL;
		size_t b = 0, n = 0, cap = 0;

		while ((node = hmap_iter(&m->replicating, &b, &node))) {
			if ((int64_t)(uintptr_t)node->val > now)
				continue;
			if (n == cap) {
				cap = cap ? cap * 2 : 64;
				old = xrealloc(old, cap * sizeof(*old));
			}
			old[n++] = node->key;
		}
		for (size_t i = 0; i < n; i++) {
			hmap_del(&m->replicating, old[i]);
			hmap_del(&m->bad_replica, old[i]);
		}
		free(old);
	}
	pthread_mutex_unlock(&m->lock);
}

struct recall_wait {
	uint64_t session, seq;
	int64_t expiry_ms;
};

static void session_queue_locked(struct mds_session *s, const struct mds_inval *inv)
{
	if (s->ninvs == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 16;
		s->invs = xrealloc(s->invs, s->cap * sizeof(*s->invs));
	}
	s->invs[s->ninvs++] = *inv;
	s->seq++;
}

/* Drop the leases of every session but `keep` from ino's list. */
static void lease_drop_others(struct hmap *h, uint64_t ino, uint64_t keep)
{
	struct mds_lease *head = hmap_get(h, ino), **pp = &head;

	while (*pp) {
		struct mds_lease *l = *pp;
		if (l->session != keep) {
			*pp = l->next;
			free(l);
		} else {
			pp = &l->next;
		}
	}
	if (head)
		hmap_put(h, ino, head);
	else
		hmap_del(h, ino);
}

void mds_lease_recall(struct mds *m, uint64_t session,
		      const struct mds_changes *ch)
{
	struct recall_wait waits[64];
	int64_t now = gn_mono_ms();
	size_t nw = 0;

	if (!ch || ch->n == 0 || m->opts.lease_ms <= 0)
		return;
	pthread_mutex_lock(&m->lock);
	for (int i = 0; i < ch->n; i++) {
		const struct mds_inval *inv = &ch->v[i];
		struct hmap *h = inv->kind == MDS_INV_ENTRY ? &m->entry_leases :
							      &m->attr_leases;
		for (struct mds_lease *l = hmap_get(h, inv->ino); l; l = l->next) {
			struct mds_session *s;
			size_t w;
			if (l->session == session || l->expiry_ms <= now)
				continue;
			s = hmap_get(&m->sessions, l->session);
			if (!s || s->closed)
				continue;
			session_queue_locked(s, inv);
			for (w = 0; w < nw; w++)
				if (waits[w].session == s->id)
					break;
			if (w == nw) {
				if (nw == GN_ARRAY_SIZE(waits))
					continue;
				nw++;
				waits[w].expiry_ms = 0;
			}
			waits[w].session = s->id;
			waits[w].seq = s->seq;
			waits[w].expiry_ms = GN_MAX(waits[w].expiry_ms, l->expiry_ms);
		}
	}
	/* An attribute recall makes the holder drop everything it cached of
	 * the inode, so that lease ends.  An entry recall drops one name
	 * only: the holder may still cache the directory's other names, so
	 * its entry lease stays until it expires. */
	for (int i = 0; i < ch->n; i++) {
		const struct mds_inval *inv = &ch->v[i];
		if (inv->kind != MDS_INV_ENTRY)
			lease_drop_others(&m->attr_leases, inv->ino, session);
	}
	if (nw)
		pthread_cond_broadcast(&m->cond);
	/* Wait until every holder acknowledged or its lease ran out. */
	for (;;) {
		int64_t next = 0;
		now = gn_mono_ms();
		for (size_t w = 0; w < nw; w++) {
			struct mds_session *s = hmap_get(&m->sessions, waits[w].session);
			if (!s || s->closed || s->acked >= waits[w].seq ||
			    waits[w].expiry_ms <= now)
				continue;
			if (!next || waits[w].expiry_ms < next)
				next = waits[w].expiry_ms;
		}
		if (!next || m->stop)
			break;
		cond_wait_ms(m, (int)GN_MAX(1, next - now));
	}
	pthread_mutex_unlock(&m->lock);
}
