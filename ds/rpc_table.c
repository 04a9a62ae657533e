/* rpc_table.c - the methods gannet-ds serves (proto/ds.proto). */
#include "config.h"
#include "ds/ds.h"
#include "common/util.h"
#include "proto/ds.pb-c.h"

const struct gn_rpc_method ds_rpc_methods[] = {
	{ "/gannet.Ds/WriteChunk", &gannet__write_chunk_request__descriptor, ds_rpc_write_chunk },
	{ "/gannet.Ds/ReadChunk", &gannet__read_chunk_request__descriptor, ds_rpc_read_chunk },
	{ "/gannet.Ds/DeleteChunk", &gannet__delete_chunk_request__descriptor, ds_rpc_delete_chunk },
	{ "/gannet.Ds/ReplicateChunk", &gannet__replicate_chunk_request__descriptor, ds_rpc_replicate_chunk },
	{ "/gannet.Ds/ListChunks", &gannet__list_chunks_request__descriptor, ds_rpc_list_chunks },
	{ "/gannet.Ds/Stat", &gannet__ds_stat_request__descriptor, ds_rpc_stat },
};

const size_t ds_rpc_nmethods = GN_ARRAY_SIZE(ds_rpc_methods);
