/*
 * rpc_i.h - private to common/rpc*.c: the wire codec between protobuf-c
 * messages and gRPC byte buffers, and test-only entry points.
 *
 * Encoding packs the small fields with protobuf-c into one slice and
 * appends the bulk field 15 as a slice that references the caller's bytes
 * (no user-space copy).  Decoding walks the received slices, copies every
 * field except 15 into a small contiguous buffer for protobuf-c, and
 * describes field 15 as iovecs into the received slices (no copy).
 */
#ifndef GN_RPC_I_H
#define GN_RPC_I_H

#include <grpc/grpc.h>
#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>

#include "common/rpc.h"

/* Bulk payloads below this are copied into the header slice: tracking a
 * by-reference slice costs more than copying a few KiB. */
#define GN__RPC_COPY_BELOW 4096

/* The wire tag of field 15 with wire type 2 (length-delimited). */
#define GN__RPC_BULK_TAG ((GN_RPC_BULK_FIELD << 3) | 2)

/*
 * Encode msg plus bulk data into a new byte buffer (*out, the caller
 * destroys it).  msg may be NULL (empty message).  data is referenced, not
 * copied, when len >= GN__RPC_COPY_BELOW; release(ctx) runs exactly once
 * when gRPC drops its last reference (at once when data was copied, and
 * also on failure); release may be NULL.  -EINVAL when msg's own field 15
 * is set as well as data.
 */
int gn__rpc_encode(const ProtobufCMessage *msg, const void *data, size_t len,
		   void (*release)(void *ctx), void *ctx,
		   grpc_byte_buffer **out);

/* Test seam: when set, called with each by-reference bulk slice that
 * gn__rpc_encode creates (a test may take a reference to hold the caller's
 * data "in gRPC" beyond the call).  NULL in production. */
extern void (*gn__rpc_test_bulk_hook)(grpc_slice bulk);

/* Encode raw bytes (copied) as a message; for tests of malformed input. */
grpc_byte_buffer *gn__rpc_encode_raw(const void *buf, size_t len);

/*
 * A received, decoded message.  Owns the byte buffer and the reader whose
 * slices bulk.iov points into.  Zero-initialise before use.
 */
struct gn__rpc_msgin {
	grpc_byte_buffer *bb;
	grpc_byte_buffer_reader reader;
	bool reader_live;
	ProtobufCMessage *msg;
	struct gn_bulk bulk;
	struct iovec *iov;	/* bulk.iov storage: inline or heap */
	int iov_cap;
	struct iovec iov_inline[4];
};

/*
 * Decode bb (ownership passes to in, also on failure) as a message of
 * type desc.  -EBADMSG when the bytes are not a valid message.
 * gn__rpc_msgin_release() frees everything in either case.
 */
int gn__rpc_msgin_decode(struct gn__rpc_msgin *in, grpc_byte_buffer *bb,
			 const ProtobufCMessageDescriptor *desc);
void gn__rpc_msgin_release(struct gn__rpc_msgin *in);

/* Test-only: a synchronous call whose request is the raw bytes buf/len
 * instead of a packed message (to send malformed protobuf). */
int gn__rpc_call_raw(struct gn_rpc_channel *ch, const char *method,
		     const void *buf, size_t len,
		     const ProtobufCMessageDescriptor *reply_desc,
		     const struct gn_rpc_callopts *opts,
		     struct gn_rpc_result *res);

/* For handlers of common/rpc_diag.c: sleep up to ms, returning early
 * (-ECANCELED) when the server cancels calls at the end of its grace. */
int gn__rpc_call_sleep(struct gn_rpc_call *call, int ms);

#endif
