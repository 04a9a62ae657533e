# fs/: the FUSE client (gannet-fuse, mount.gannet) and, from ctl.mk, the
# gannetctl CLI.  libfs.la holds everything but main.c so that unit tests
# link it; only fsop*.c and main.c include <fuse_lowlevel.h>.
include %reldir%/cache.mk
include %reldir%/ctl.mk

noinst_LTLIBRARIES += libfs.la
libfs_la_SOURCES = \
	%reldir%/fs_i.h %reldir%/io.h %reldir%/mdsc.h %reldir%/fsop_i.h \
	%reldir%/chunkmap.c %reldir%/inode.c %reldir%/session.c \
	%reldir%/mdsc.c %reldir%/dsc.c %reldir%/io_read.c %reldir%/io_write.c \
	%reldir%/wbmem.h %reldir%/wbmem.c \
	%reldir%/fsop.c %reldir%/fsop_entry.c %reldir%/fsop_dir.c \
	%reldir%/fsop_file.c %reldir%/fsop_xattr.c %reldir%/fsop_vxattr.c \
	%reldir%/session_dcache.c %reldir%/warm.c \
	$(GN_FS_CACHE_SRC)
libfs_la_CFLAGS = $(AM_CFLAGS) $(FUSE_CFLAGS) $(PROTOBUF_C_CFLAGS) \
	$(XXHASH_CFLAGS)
libfs_la_LIBADD = libcommon.la libproto.la $(FUSE_LIBS) $(XXHASH_LIBS)

bin_PROGRAMS += gannet-fuse
gannet_fuse_SOURCES = %reldir%/main.c
gannet_fuse_CFLAGS = $(AM_CFLAGS) $(FUSE_CFLAGS) $(PROTOBUF_C_CFLAGS) \
	$(SYSTEMD_CFLAGS)
gannet_fuse_LDADD = libfs.la libcommon.la libproto.la $(FUSE_LIBS) \
	$(SYSTEMD_LIBS)

# mount.gannet: mount(8)'s helper for `mount -t gannet` and fstab.
sbin_SCRIPTS = %reldir%/mount.gannet
CLEANFILES += %reldir%/mount.gannet
EXTRA_DIST += %reldir%/mount.gannet.in
%reldir%/mount.gannet: %reldir%/mount.gannet.in Makefile
	@$(MKDIR_P) %reldir%
	$(AM_V_GEN)sed -e 's|@bindir[@]|$(bindir)|g' \
		-e 's|@PACKAGE_VERSION[@]|$(PACKAGE_VERSION)|g' \
		$(srcdir)/%reldir%/mount.gannet.in >$@ && chmod +x $@
