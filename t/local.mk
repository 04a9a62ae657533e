# t/: unit tests (Check, t/unit/check_<module>.c) and integration scripts
# (t/tNNNN-area-what.sh, run by contrib/run-tests).  Each area keeps its
# own fragment so that its rules stay together.
include %reldir%/common.mk
include %reldir%/mds.mk
include %reldir%/ds.mk
include %reldir%/fs.mk
include %reldir%/ops.mk

noinst_PROGRAMS += t/helper/test-tool
t_helper_test_tool_SOURCES = t/helper/test-tool.c t/helper/test-tool.h \
	$(GN_TT_SOURCES)
t_helper_test_tool_CFLAGS = $(AM_CFLAGS) $(PROTOBUF_C_CFLAGS)
t_helper_test_tool_LDADD = $(GN_TT_LIBS) libcommon.la libproto.la

EXTRA_DIST += t/lib-cluster.sh $(GN_INTEGRATION_TESTS)
include %reldir%/qa.mk
