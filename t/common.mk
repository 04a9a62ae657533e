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
