# Tests of common/ (owned by the foundation issue).
GN_TT_SOURCES =
GN_TT_LIBS =
GN_INTEGRATION_TESTS =
UNIT_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(PROTOBUF_C_CFLAGS)
UNIT_LIBS = libcommon.la libproto.la $(CHECK_LIBS)

GN_COMMON_UNIT = t/unit/check_log t/unit/check_conf t/unit/check_cksum \
	t/unit/check_buf t/unit/check_status
check_PROGRAMS += $(GN_COMMON_UNIT)
TESTS += $(GN_COMMON_UNIT)
t_unit_check_log_SOURCES = t/unit/check_log.c
t_unit_check_log_CFLAGS = $(UNIT_CFLAGS)
t_unit_check_log_LDADD = $(UNIT_LIBS)
t_unit_check_conf_SOURCES = t/unit/check_conf.c
t_unit_check_conf_CFLAGS = $(UNIT_CFLAGS)
t_unit_check_conf_LDADD = $(UNIT_LIBS)
t_unit_check_cksum_SOURCES = t/unit/check_cksum.c
t_unit_check_cksum_CFLAGS = $(UNIT_CFLAGS)
t_unit_check_cksum_LDADD = $(UNIT_LIBS)
t_unit_check_buf_SOURCES = t/unit/check_buf.c
t_unit_check_buf_CFLAGS = $(UNIT_CFLAGS)
t_unit_check_buf_LDADD = $(UNIT_LIBS)
t_unit_check_status_SOURCES = t/unit/check_status.c
t_unit_check_status_CFLAGS = $(UNIT_CFLAGS)
t_unit_check_status_LDADD = $(UNIT_LIBS)

# The RPC layer against a real server on 127.0.0.1 (owned by rpc).  It
# reaches the codec through common/rpc_i.h, hence the gRPC flags.
check_PROGRAMS += t/unit/check_rpc
TESTS += t/unit/check_rpc
t_unit_check_rpc_SOURCES = t/unit/check_rpc.c
t_unit_check_rpc_CFLAGS = $(UNIT_CFLAGS) $(GRPC_CFLAGS)
t_unit_check_rpc_LDADD = $(UNIT_LIBS) $(GRPC_LIBS)

# contrib/bench/rpc-bench's program (owned by rpc; kept here beside the
# RPC test so that contrib/local.mk stays the lead's).
noinst_PROGRAMS += contrib/bench/rpc_bench
dist_noinst_SCRIPTS += contrib/bench/rpc-bench
contrib_bench_rpc_bench_SOURCES = contrib/bench/rpc_bench.c
contrib_bench_rpc_bench_CFLAGS = $(AM_CFLAGS) $(PROTOBUF_C_CFLAGS)
contrib_bench_rpc_bench_LDADD = libcommon.la libproto.la

# Shared main() of the Check programs.
EXTRA_DIST += t/unit/unit.h
