#!/bin/bash
# t9002: systemd-analyze verify is silent on every unit, the units have the
# properties the product promises, and their hardening does not regress.
#
# The generated units name the installed binaries ($(sbindir)), which need
# not exist here, and verify refuses a unit whose ExecStart is missing.  So
# each unit is checked as generated, with only the binary path pointed at
# the build tree: everything else is the file that gets installed.
. "$(dirname "$0")/lib-cluster.sh"

gn_need_cmd systemd-analyze
U=$T/units
mkdir -p "$U"
for u in gannet-mds.service gannet-ds@.service; do
	src=$GN_BUILD_DIR/contrib/systemd/$u
	[ -f "$src" ] || gn_fail "$u was not generated in the build tree"
	grep -q '@[a-z]*@' "$src" && gn_fail "$u has unsubstituted @vars@"
	sed -e "s|ExecStart=[^ ]*/gannet-mds|ExecStart=$GN_MDS_BIN|" \
	    -e "s|ExecStart=[^ ]*/gannet-ds|ExecStart=$GN_DS_BIN|" "$src" >"$U/$u"
done
cp "$GN_SRC_DIR/contrib/systemd/mnt-gannet.mount" "$U/"
# A template is verified through an instance.
cp "$U/gannet-ds@.service" "$U/gannet-ds@disk1.service"
[ -x "$GN_MDS_BIN" ] || gn_fail "gannet-mds is not built"
[ -x "$GN_DS_BIN" ] || gn_fail "gannet-ds is not built"

# verify exits 0 on unknown keys or bad values (it only warns), so any
# output at all is a failure.
for u in gannet-mds.service gannet-ds@.service gannet-ds@disk1.service mnt-gannet.mount; do
	out=$(cd "$U" && SYSTEMD_LOG_COLOR=0 systemd-analyze verify --man=no "./$u" 2>&1)
	rc=$?
	[ $rc -eq 0 ] && [ -z "$out" ] || gn_fail "systemd-analyze verify $u (exit $rc): $out"
done
# The check is real: a misspelt key is reported.
sed 's/^ProtectSystem=/ProtectSystm=/' "$U/gannet-mds.service" >"$U/broken.service"
out=$(cd "$U" && systemd-analyze verify --man=no ./broken.service 2>&1)
case $out in *ProtectSystm*) ;; *) gn_fail "verify did not catch a bad key: $out";; esac

# What the product promises of the units.
expect_line() {	# unit line
	grep -qxF "$2" "$U/$1" || gn_fail "$1 lacks '$2'"
}
for u in gannet-mds.service gannet-ds@.service; do
	for l in Type=notify Restart=on-failure NoNewPrivileges=yes \
		 ProtectSystem=strict LimitNOFILE=1048576; do
		expect_line "$u" "$l"
	done
done
expect_line gannet-mds.service "ReadWritePaths=/var/lib/gannet/mds"
expect_line gannet-ds@.service "ReadWritePaths=/var/lib/gannet/ds/%i"
grep -q "^ExecStart=$GN_DS_BIN .*--data-dir=/var/lib/gannet/ds/%i" "$U/gannet-ds@.service" ||
	gn_fail "gannet-ds@ does not serve /var/lib/gannet/ds/%i"
grep -q '^Options=.*_netdev' "$U/mnt-gannet.mount" || gn_fail "mount unit lacks _netdev"
grep -q '^Type=gannet$' "$U/mnt-gannet.mount" || gn_fail "mount unit is not Type=gannet"
grep -Eq '^[^#].*[[:space:]]gannet[[:space:]].*_netdev' "$GN_SRC_DIR/contrib/systemd/fstab.example" ||
	gn_fail "fstab example lacks a gannet line with _netdev"

# Every flag a unit passes must be one the daemon accepts: start the
# daemon's option parser on the unit's command line with --help appended
# would not catch a bad one, so run --version after the flags instead.
args=$(sed -n 's|^ExecStart=[^ ]* ||p' "$U/gannet-ds@disk1.service" |
	sed 's|%i|disk1|g; s|\$GANNET_DS_OPTS||')
# shellcheck disable=SC2086
"$GN_DS_BIN" --config=/dev/null $args --version >/dev/null 2>"$T/ds-args.err" ||
	gn_fail "gannet-ds refuses the unit's flags: $(cat "$T/ds-args.err")"

# Hardening: systemd's own score, 0 (best) .. 10; fail above 4.0 (MEDIUM).
if systemd-analyze security --help 2>&1 | grep -q -- --offline; then
	for u in gannet-mds.service gannet-ds@disk1.service; do
		out=$(cd "$U" && systemd-analyze security --offline=yes --threshold=40 "./$u" 2>&1)
		rc=$?
		[ $rc -eq 0 ] || gn_fail "$u hardening score above 4.0: $(echo "$out" | tail -1)"
	done
fi

# make install puts the units, the example config and the man pages in place.
inst=$T/inst
make -C "$GN_BUILD_DIR" -s install-data DESTDIR="$inst" >"$T/install.log" 2>&1 ||
	gn_fail "make install-data failed: $(tail -5 "$T/install.log")"
for f in gannet-mds.service gannet-ds@.service; do
	[ -n "$(find "$inst" -path "*/systemd/system/$f")" ] || gn_fail "$f not installed"
done
[ -n "$(find "$inst" -path '*/gannet/gannet.conf.example')" ] || gn_fail "example config not installed"
for p in gannet.7 gannet.conf.5 gannet-mds.8 gannet-ds.8 mount.gannet.8 gannetctl.8; do
	[ -n "$(find "$inst" -name "$p")" ] || gn_fail "man page $p not installed"
done
exit 0
