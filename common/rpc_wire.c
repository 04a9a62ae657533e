/*
 * rpc_wire.c - protobuf messages to and from gRPC byte buffers with the
 * bulk field 15 kept out of every user-space copy (see rpc_i.h).
 *
 * Why by hand: protobuf-c unpacks only from one contiguous buffer and
 * copies `bytes` fields, so a received 4 MiB chunk would be copied twice
 * (readall, then unpack).  Walking the wire format over the received
 * slices costs nothing for the bulk field and a few bytes of copying for
 * the rest (shared/notes/grpc-core.md, "low-copy receive").
 */
#include "config.h"
#include "common/rpc_i.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/slice.h>

#include "common/util.h"

/* ------------------------------------------------------------------ */
/* Encoding                                                           */
/* ------------------------------------------------------------------ */

static size_t put_varint(uint8_t *p, uint64_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		p[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}

static size_t varint_size(uint64_t v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

/* The message's own field 15, if it has a bytes field there. */
static const ProtobufCBinaryData *msg_bulk_field(const ProtobufCMessage *msg)
{
	const ProtobufCFieldDescriptor *f;

	f = protobuf_c_message_descriptor_get_field(msg->descriptor,
						    GN_RPC_BULK_FIELD);
	if (!f || f->type != PROTOBUF_C_TYPE_BYTES ||
	    f->label == PROTOBUF_C_LABEL_REPEATED)
		return NULL;
	return (const ProtobufCBinaryData *)((const char *)msg + f->offset);
}

void (*gn__rpc_test_bulk_hook)(grpc_slice bulk);

int gn__rpc_encode(const ProtobufCMessage *msg, const void *data, size_t len,
		   void (*release)(void *ctx), void *ctx,
		   grpc_byte_buffer **out)
{
	bool byref = len >= GN__RPC_COPY_BELOW;
	size_t msize = 0, hlen;
	grpc_slice s[2];
	uint8_t *p;
	int n = 0;

	if (msg && len) {
		const ProtobufCBinaryData *own = msg_bulk_field(msg);

		if (own && own->len) {
			if (release)
				release(ctx);
			return -EINVAL;
		}
	}
	if (msg)
		msize = protobuf_c_message_get_packed_size(msg);
	hlen = msize + (len ? 1 + varint_size(len) : 0) + (byref ? 0 : len);
	if (hlen) {
		s[n] = grpc_slice_malloc(hlen);
		p = GRPC_SLICE_START_PTR(s[n]);
		if (msg)
			p += protobuf_c_message_pack(msg, p);
		if (len) {
			*p++ = GN__RPC_BULK_TAG;
			p += put_varint(p, len);
			if (!byref) {
				memcpy(p, data, len);
				p += len;
			}
		}
		n++;
	}
	if (byref) {
		if (release)
			s[n++] = grpc_slice_new_with_user_data((void *)data, len,
							       release, ctx);
		else
			s[n++] = grpc_slice_from_static_buffer(data, len);
		if (gn__rpc_test_bulk_hook)
			gn__rpc_test_bulk_hook(s[n - 1]);
	} else if (release) {
		release(ctx);
	}
	*out = grpc_raw_byte_buffer_create(s, (size_t)n);
	for (int i = 0; i < n; i++)
		grpc_slice_unref(s[i]);
	return 0;
}

grpc_byte_buffer *gn__rpc_encode_raw(const void *buf, size_t len)
{
	grpc_slice s = grpc_slice_from_copied_buffer(buf, len);
	grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&s, 1);

	grpc_slice_unref(s);
	return bb;
}

/* ------------------------------------------------------------------ */
/* Decoding                                                           */
/* ------------------------------------------------------------------ */

struct seg {
	const uint8_t *p;
	size_t len;
};

/* A read position over the received slices. */
struct cursor {
	const struct seg *seg;
	int nseg;
	int i;
	size_t off;		/* within seg[i] */
	size_t left;		/* bytes from here to the end */
};

/* The non-bulk fields, re-encoded contiguously for protobuf-c. */
struct small {
	uint8_t *p;
	size_t len, cap;
	uint8_t buf[512];
};

static void small_reserve(struct small *s, size_t n)
{
	size_t cap;

	if (s->len + n <= s->cap)
		return;
	cap = GN_MAX(s->cap * 2, s->len + n);
	if (s->p == s->buf) {
		s->p = xmalloc(cap);
		memcpy(s->p, s->buf, s->len);
	} else {
		s->p = xrealloc(s->p, cap);
	}
	s->cap = cap;
}

static void small_put_varint(struct small *s, uint64_t v)
{
	small_reserve(s, 10);
	s->len += put_varint(s->p + s->len, v);
}

static int cur_byte(struct cursor *c, uint8_t *b)
{
	if (!c->left)
		return -EBADMSG;
	while (c->off == c->seg[c->i].len) {
		c->i++;
		c->off = 0;
	}
	*b = c->seg[c->i].p[c->off++];
	c->left--;
	return 0;
}

static int cur_varint(struct cursor *c, uint64_t *v)
{
	uint64_t r = 0;
	uint8_t b;

	for (int shift = 0; shift < 70; shift += 7) {
		if (cur_byte(c, &b) < 0)
			return -EBADMSG;
		/* The tenth byte may only hold bit 63. */
		if (shift == 63 && b > 1)
			return -EBADMSG;
		r |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*v = r;
			return 0;
		}
	}
	return -EBADMSG;
}

/* Copy n bytes to dst (NULL: skip them), across slice boundaries. */
static int cur_copy(struct cursor *c, uint8_t *dst, size_t n)
{
	if (n > c->left)
		return -EBADMSG;
	c->left -= n;
	while (n) {
		size_t k;

		while (c->off == c->seg[c->i].len) {
			c->i++;
			c->off = 0;
		}
		k = GN_MIN(n, c->seg[c->i].len - c->off);
		if (dst) {
			memcpy(dst, c->seg[c->i].p + c->off, k);
			dst += k;
		}
		c->off += k;
		n -= k;
	}
	return 0;
}

static void iov_push(struct gn__rpc_msgin *in, const uint8_t *p, size_t len)
{
	if (in->bulk.iovcnt == in->iov_cap) {
		int cap = in->iov_cap * 2;

		if (in->iov == in->iov_inline) {
			in->iov = xmalloc(sizeof(*in->iov) * (size_t)cap);
			memcpy(in->iov, in->iov_inline,
			       sizeof(in->iov_inline));
		} else {
			in->iov = xrealloc(in->iov,
					   sizeof(*in->iov) * (size_t)cap);
		}
		in->iov_cap = cap;
	}
	in->iov[in->bulk.iovcnt].iov_base = (void *)p;
	in->iov[in->bulk.iovcnt].iov_len = len;
	in->bulk.iovcnt++;
}

/* Describe the next n bytes as the bulk payload (the last occurrence of
 * field 15 wins, as protobuf merging says for a scalar field). */
static int cur_take_bulk(struct cursor *c, struct gn__rpc_msgin *in, size_t n)
{
	if (n > c->left)
		return -EBADMSG;
	in->bulk.iovcnt = 0;
	in->bulk.len = n;
	c->left -= n;
	while (n) {
		size_t k;

		while (c->off == c->seg[c->i].len) {
			c->i++;
			c->off = 0;
		}
		k = GN_MIN(n, c->seg[c->i].len - c->off);
		iov_push(in, c->seg[c->i].p + c->off, k);
		c->off += k;
		n -= k;
	}
	return 0;
}

/* One field: bulk into in->bulk, anything else re-encoded into sm. */
static int parse_field(struct cursor *c, struct gn__rpc_msgin *in,
		       struct small *sm, bool has_bulk)
{
	uint64_t tag, v;
	uint32_t field;
	int wt;

	if (cur_varint(c, &tag) < 0)
		return -EBADMSG;
	field = (uint32_t)(tag >> 3);
	wt = (int)(tag & 7);
	if (field == 0 || tag >> 32)
		return -EBADMSG;
	if (field == GN_RPC_BULK_FIELD && has_bulk) {
		if (wt != 2 || cur_varint(c, &v) < 0)
			return -EBADMSG;
		return cur_take_bulk(c, in, v);
	}
	small_put_varint(sm, tag);
	switch (wt) {
	case 0:
		if (cur_varint(c, &v) < 0)
			return -EBADMSG;
		small_put_varint(sm, v);
		return 0;
	case 1:
	case 5:
		v = wt == 1 ? 8 : 4;
		break;
	case 2:
		if (cur_varint(c, &v) < 0 || v > c->left)
			return -EBADMSG;
		small_put_varint(sm, v);
		break;
	default:		/* groups are not proto3 */
		return -EBADMSG;
	}
	small_reserve(sm, v);
	if (cur_copy(c, sm->p + sm->len, v) < 0)
		return -EBADMSG;
	sm->len += v;
	return 0;
}

static bool desc_has_bulk(const ProtobufCMessageDescriptor *desc)
{
	const ProtobufCFieldDescriptor *f;

	f = protobuf_c_message_descriptor_get_field(desc, GN_RPC_BULK_FIELD);
	return f && f->type == PROTOBUF_C_TYPE_BYTES &&
	       f->label != PROTOBUF_C_LABEL_REPEATED;
}

int gn__rpc_msgin_decode(struct gn__rpc_msgin *in, grpc_byte_buffer *bb,
			 const ProtobufCMessageDescriptor *desc)
{
	struct seg seg_inline[16], *seg = seg_inline;
	int nseg = 0, seg_cap = 16;
	struct small sm = { .p = sm.buf, .cap = sizeof(sm.buf) };
	struct cursor c = { 0 };
	bool has_bulk = desc_has_bulk(desc);
	grpc_slice *sl;
	int ret;

	in->bb = bb;
	in->iov = in->iov_inline;
	in->iov_cap = (int)GN_ARRAY_SIZE(in->iov_inline);
	in->bulk.iov = NULL;
	in->bulk.iovcnt = 0;
	in->bulk.len = 0;
	if (!grpc_byte_buffer_reader_init(&in->reader, bb)) {
		ret = -EBADMSG;	/* undecompressible */
		goto out;
	}
	in->reader_live = true;
	/* Peeked slices stay owned by the buffer (or the reader, for a
	 * decompressed one), which in keeps until release. */
	while (grpc_byte_buffer_reader_peek(&in->reader, &sl)) {
		if (GRPC_SLICE_LENGTH(*sl) == 0)
			continue;
		if (nseg == seg_cap) {
			seg_cap *= 2;
			if (seg == seg_inline) {
				seg = xmalloc(sizeof(*seg) * (size_t)seg_cap);
				memcpy(seg, seg_inline, sizeof(seg_inline));
			} else {
				seg = xrealloc(seg, sizeof(*seg) * (size_t)seg_cap);
			}
		}
		seg[nseg].p = GRPC_SLICE_START_PTR(*sl);
		seg[nseg].len = GRPC_SLICE_LENGTH(*sl);
		c.left += seg[nseg].len;
		nseg++;
	}
	c.seg = seg;
	c.nseg = nseg;
	while (c.left) {
		ret = parse_field(&c, in, &sm, has_bulk);
		if (ret < 0)
			goto out;
	}
	/* protobuf-c wants a non-NULL pointer even for zero bytes. */
	in->msg = protobuf_c_message_unpack(desc, NULL, sm.len, sm.p);
	if (!in->msg) {
		ret = -EBADMSG;
		goto out;
	}
	in->bulk.iov = in->iov;
	ret = 0;
out:
	if (sm.p != sm.buf)
		free(sm.p);
	if (seg != seg_inline)
		free(seg);
	return ret;
}

void gn__rpc_msgin_release(struct gn__rpc_msgin *in)
{
	if (in->msg)
		protobuf_c_message_free_unpacked(in->msg, NULL);
	if (in->reader_live)
		grpc_byte_buffer_reader_destroy(&in->reader);
	if (in->bb)
		grpc_byte_buffer_destroy(in->bb);
	if (in->iov && in->iov != in->iov_inline)
		free(in->iov);
	memset(in, 0, sizeof(*in));
}

size_t gn_bulk_copy(const struct gn_bulk *b, size_t off, void *dst, size_t len)
{
	uint8_t *d = dst;
	size_t done = 0;

	for (int i = 0; i < b->iovcnt && done < len; i++) {
		size_t l = b->iov[i].iov_len, k;

		if (off >= l) {
			off -= l;
			continue;
		}
		k = GN_MIN(l - off, len - done);
		memcpy(d + done, (const uint8_t *)b->iov[i].iov_base + off, k);
		done += k;
		off = 0;
	}
	return done;
}
