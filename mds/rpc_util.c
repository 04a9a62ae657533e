/* rpc_util.c - conversions shared by the MDS handlers */
#include "config.h"
#include "mds/rpc_mds.h"
#include "common/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int mds_rpc_cred(const Gannet__ReqHeader *h, struct mds_cred *c)
{
	const Gannet__Cred *in = h ? h->cred : NULL;

	memset(c, 0, sizeof(*c));
	if (!in) {
		c->uid = c->gid = 65534;
		return 0;
	}
	if (in->n_groups > MDS_MAX_GROUPS)
		return -EINVAL;
	c->uid = in->uid;
	c->gid = in->gid;
	c->ngroups = (uint32_t)in->n_groups;
	for (size_t i = 0; i < in->n_groups; i++)
		c->groups[i] = in->groups[i];
	return 0;
}

int mds_rpc_begin(struct mds *m, const Gannet__ReqHeader *h, struct mds_cred *c)
{
	int ret = mds_rpc_cred(h, c);

	if (ret == 0 && h && h->session_id && !mds_session_known(m, h->session_id))
		ret = -EUNATCH;
	return ret;
}

uint64_t mds_rpc_session(const Gannet__ReqHeader *h)
{
	return h ? h->session_id : 0;
}

void mds_rpc_attr(const struct db_inode *n, Gannet__Attr *a)
{
	gannet__attr__init(a);
	a->ino = n->ino;
	a->mode = n->mode;
	a->nlink = n->nlink;
	a->uid = n->uid;
	a->gid = n->gid;
	a->rdev = n->rdev;
	a->size = n->size;
	a->atime_ns = n->atime;
	a->mtime_ns = n->mtime;
	a->ctime_ns = n->ctime;
	a->generation = n->generation;
	a->blocks = n->blocks;
}

int mds_rpc_text(const ProtobufCBinaryData *b, size_t max, int too_long, char *out)
{
	if (b->len && memchr(b->data, '\0', b->len))
		return -EINVAL;
	if (b->len > max)
		return too_long;
	if (b->len)
		memcpy(out, b->data, b->len);
	out[b->len] = '\0';
	return 0;
}

int mds_rpc_name(const ProtobufCBinaryData *b, char *out)
{
	int ret = mds_check_name((const char *)b->data, b->len, MDS_NAME_DOTS);

	if (ret)
		return ret;
	return mds_rpc_text(b, MDS_NAME_MAX, -ENAMETOOLONG, out);
}

void mds_rpc_chunk(const struct mds_chunk *c, Gannet__ChunkInfo *ci,
		   uint32_t *replicas)
{
	gannet__chunk_info__init(ci);
	ci->index = c->index;
	ci->chunk_id = c->c.chunk_id;
	ci->version = c->c.version;
	ci->length = c->c.length;
	ci->digest = c->c.digest;
	ci->compression = c->c.compression ? GANNET__COMPRESSION__COMPRESSION_ZSTD :
					     GANNET__COMPRESSION__COMPRESSION_NONE;
	ci->base_version = c->base_version;
	for (uint32_t i = 0; i < c->c.nreplicas && i < DB_MAX_REPLICAS; i++)
		replicas[i] = c->c.replicas[i];
	ci->n_replicas = GN_MIN(c->c.nreplicas, DB_MAX_REPLICAS);
	ci->replicas = replicas;
}

void mds_rpc_dsinfo(const struct mds_ds_info *d, Gannet__DsInfo *o)
{
	gannet__ds_info__init(o);
	o->id = d->id;
	o->addr = xstrdup(d->addr);
	o->state = (Gannet__DsInfo__State)d->state;
	o->capacity_bytes = d->capacity;
	o->free_bytes = d->free;
	o->chunks = d->chunks;
	o->uuid = xstrdup(d->uuid);
}

size_t mds_rpc_servers_of(struct mds *m, const uint32_t *ids, size_t n,
			  Gannet__DsInfo ***out)
{
	/* Server ids are small (< MDS_MAX_DS): a bitmap finds duplicates. */
	uint8_t seen[(4096 + 7) / 8] = { 0 };
	Gannet__DsInfo **v = xcalloc(n + 1, sizeof(*v));
	size_t cnt = 0;

	for (size_t j = 0; j < n; j++) {
		uint32_t id = ids[j];
		struct mds_ds_info d;

		if (id >= 4096 || (seen[id / 8] & (1u << (id % 8))))
			continue;
		seen[id / 8] |= (uint8_t)(1u << (id % 8));
		if (mds_ds_get(m, id, &d))
			continue;
		v[cnt] = xmalloc(sizeof(**v));
		mds_rpc_dsinfo(&d, v[cnt]);
		cnt++;
	}
	*out = v;
	return cnt;
}

size_t mds_rpc_servers(struct mds *m, const struct mds_chunk *c, size_t n,
		       Gannet__DsInfo ***out)
{
	uint32_t *ids = xmalloc((n * DB_MAX_REPLICAS + 1) * sizeof(*ids));
	size_t nids = 0, cnt;

	for (size_t i = 0; i < n; i++)
		for (uint32_t r = 0; r < c[i].c.nreplicas && r < DB_MAX_REPLICAS; r++)
			ids[nids++] = c[i].c.replicas[r];
	cnt = mds_rpc_servers_of(m, ids, nids, out);
	free(ids);
	return cnt;
}

void mds_rpc_servers_free(Gannet__DsInfo **v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++) {
		free(v[i]->addr);
		free(v[i]->uuid);
		free(v[i]);
	}
	free(v);
}
