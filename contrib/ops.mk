# contrib/ parts of the operations issue (units, example config).
#
# Units are generated from *.in so that ExecStart names the installed
# binaries ($(sbindir)) and config ($(sysconfdir)); they install into
# $(SYSTEMD_UNITDIR) (configure --with-systemdunitdir).  The mount unit and
# fstab line are examples an admin edits, so they go to the docs.
GN_UNITS_IN = %reldir%/systemd/gannet-mds.service.in \
	%reldir%/systemd/gannet-ds@.service.in
GN_UNITS = %reldir%/systemd/gannet-mds.service \
	%reldir%/systemd/gannet-ds@.service

systemdunitdir = $(SYSTEMD_UNITDIR)
nodist_systemdunit_DATA = $(GN_UNITS)
CLEANFILES += $(GN_UNITS)
EXTRA_DIST += $(GN_UNITS_IN)

gannetconfdir = $(sysconfdir)/gannet
dist_gannetconf_DATA = %reldir%/gannet.conf.example

gannetexamplesdir = $(docdir)/examples
dist_gannetexamples_DATA = %reldir%/systemd/mnt-gannet.mount \
	%reldir%/systemd/fstab.example

gn_subst_unit = $(AM_V_GEN)$(MKDIR_P) $(@D) && \
	sed -e 's|@sbindir[@]|$(sbindir)|g' \
	    -e 's|@sysconfdir[@]|$(sysconfdir)|g' $< >$@.tmp && mv $@.tmp $@

%reldir%/systemd/gannet-mds.service: %reldir%/systemd/gannet-mds.service.in Makefile
	$(gn_subst_unit)
%reldir%/systemd/gannet-ds@.service: %reldir%/systemd/gannet-ds@.service.in Makefile
	$(gn_subst_unit)
