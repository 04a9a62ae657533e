# gannetctl: the admin and user CLI (gannetctl(8)).  It lives in fs/ but
# links only the common and proto libraries: never libfuse or libfs.
bin_PROGRAMS += gannetctl
gannetctl_SOURCES = %reldir%/ctl.c %reldir%/ctl_i.h %reldir%/ctl_out.c \
	%reldir%/ctl_cluster.c %reldir%/ctl_file.c %reldir%/ctl_fsck.c \
	%reldir%/ctl_scrub.c %reldir%/ctl_stats.c %reldir%/ctl_warmup.c
gannetctl_CFLAGS = $(AM_CFLAGS) $(PROTOBUF_C_CFLAGS)
gannetctl_LDADD = libcommon.la libproto.la
