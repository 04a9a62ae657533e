# man/: manual pages, written by hand in roff (t/t9001 checks that they
# render without warnings and match the programs and the config keys).
dist_man_MANS += %reldir%/gannet.7 %reldir%/gannet.conf.5 \
	%reldir%/gannet-mds.8 %reldir%/gannet-ds.8 %reldir%/mount.gannet.8 \
	%reldir%/gannetctl.8 %reldir%/gannet-fuse.8
