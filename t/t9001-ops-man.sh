#!/bin/bash
# t9001: the man pages render without warnings, gannet.conf(5) documents
# exactly the keys of common/conf_keys.c with their defaults, the example
# config holds every key at its default and parses, every program refuses
# a bad config with FILE:LINE and exit 2, and every option a program's
# --help prints is in its man page (and every option a page documents is
# in --help).
. "$(dirname "$0")/lib-cluster.sh"

gn_need_cmd groff python3
MAN=$GN_SRC_DIR/man
PAGES="gannet.7 gannet.conf.5 gannet-mds.8 gannet-ds.8 mount.gannet.8 gannetctl.8"

# 1. Rendering: groff with every warning enabled must be silent, and so
# must man(1) when it is there (it adds preconv/tbl and its own checks).
for p in $PAGES; do
	[ -f "$MAN/$p" ] || gn_fail "missing man page $p"
	out=$(groff -ww -z -man "$MAN/$p" 2>&1)
	[ -z "$out" ] || gn_fail "groff warns on $p: $out"
	if command -v man >/dev/null; then
		out=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$MAN/$p" 2>&1 >/dev/null)
		[ -z "$out" ] || gn_fail "man warns on $p: $out"
	fi
	# Plain text for the option checks below: no hyphenation, lines
	# long enough that no option is split.
	groff -man -Tascii -rHY=0 -rLL=1000n -P-cbou "$MAN/$p" >"$T/$p.txt" 2>/dev/null ||
		gn_fail "cannot render $p"
done

# 2. Config keys: the table in the code against gannet.conf(5), both ways,
# with defaults; and against the example file.
"$GN_TT" conf-keys >"$T/keys" || gn_fail "test-tool conf-keys failed"
[ "$(wc -l <"$T/keys")" -ge 30 ] || gn_fail "too few keys: $(wc -l <"$T/keys")"
python3 - "$T/keys" "$MAN/gannet.conf.5" "$GN_SRC_DIR/contrib/gannet.conf.example" <<'EOF' ||
import re, sys
keys = {}
for line in open(sys.argv[1]):
    sec, name, default = line.rstrip("\n").split("\t")
    keys[(sec, name)] = default

# Man page: ".SH "[sec] SECTION"", then ".TP" / ".B key" / a line with
# "(default: \fBvalue\fP)" or "(default: empty)".
page = {}
sec = None
lines = open(sys.argv[2]).read().split("\n")
for i, l in enumerate(lines):
    m = re.match(r'\.SH "\[(\w+)\] SECTION"', l)
    if m:
        sec = m.group(1)
        continue
    if l.startswith(".SH"):
        sec = None
    if sec and l == ".TP" and i + 1 < len(lines):
        m = re.match(r"\.B (\w+)$", lines[i + 1])
        if not m:
            continue
        body = " ".join(lines[i + 2:i + 6])
        d = re.search(r"\(default: (?:\\fB(.*?)\\fP|(empty))\)", body)
        if not d:
            print("gannet.conf.5: no default for [%s] %s" % (sec, m.group(1)))
            sys.exit(1)
        page[(sec, m.group(1))] = "" if d.group(2) else d.group(1)
errors = []
for k, v in keys.items():
    if k not in page:
        errors.append("key [%s] %s is not in gannet.conf.5" % k)
    elif page[k] != v:
        errors.append("[%s] %s: gannet.conf.5 says default %r, code says %r" % (k + (page[k], v)))
for k in page:
    if k not in keys:
        errors.append("gannet.conf.5 documents [%s] %s, unknown to the code" % k)

# Example config: "#key = default" under "[sec]" for every key, nothing else.
ex = {}
sec = None
for l in open(sys.argv[3]):
    m = re.match(r"\[(\w+)\]\s*$", l)
    if m:
        sec = m.group(1)
    m = re.match(r"#(\w+) =\s?(.*)$", l.rstrip("\n"))
    if m and sec:
        ex[(sec, m.group(1))] = m.group(2)
for k, v in keys.items():
    if ex.get(k) != v:
        errors.append("gannet.conf.example: [%s] %s is %r, default is %r" % (k + (ex.get(k), v)))
for k in ex:
    if k not in keys:
        errors.append("gannet.conf.example names [%s] %s, unknown to the code" % k)
if errors:
    print("\n".join(errors))
    sys.exit(1)
EOF
	gn_fail "config keys and documentation disagree"

# The example, uncommented, must be a valid config (every default parses).
sed -n 's/^#\([a-z_]* =.*\)$/\1/p; /^\[/p' "$GN_SRC_DIR/contrib/gannet.conf.example" >"$T/example.conf"
grep -q '^listen = 0.0.0.0:9400$' "$T/example.conf" || gn_fail "example was not uncommented"
out=$("$GN_CTL_BIN" --config="$T/example.conf" --mds=127.0.0.1:1 --timeout=200 df 2>&1)
rc=$?
[ $rc -eq 1 ] || gn_fail "example config rejected (exit $rc): $out"
case $out in *"cannot reach the MDS at 127.0.0.1:1"*) ;; *) gn_fail "unexpected: $out";; esac
# ... and the checker is not vacuous: a typo is refused with FILE:LINE.
printf '[client]\ncache_szie = 1G\n' >"$T/typo.conf"
out=$("$GN_CTL_BIN" --config="$T/typo.conf" status 2>&1)
rc=$?
gn_expect_eq 2 "$rc" "exit status for a bad key"
case $out in *"typo.conf:2: unknown key 'cache_szie'"*) ;; *) gn_fail "bad message: $out";; esac

# Every program refuses a bad file the same way: FILE:LINE: message, exit 2
# (a typo in a section the program does not use included).
printf '[mds]\nworkers = 8\n\n[client]\ncache_szie = 1G\n' >"$T/typo2.conf"
printf '[ds]\nreserve = lots\n' >"$T/badval.conf"
mkdir -p "$T/mnt"
for prog in "$GN_MDS_BIN" "$GN_DS_BIN" "$GN_CTL_BIN status" \
	    "$GN_FUSE_BIN 127.0.0.1:1:/ $T/mnt -o config="; do
	for conf in typo2 badval; do
		case $prog in
		*config=) cmd="$prog$T/$conf.conf" ;;
		*) cmd="${prog%% *} --config=$T/$conf.conf ${prog#* }"
		   [ "$prog" = "${prog#* }" ] && cmd="$prog --config=$T/$conf.conf" ;;
		esac
		# shellcheck disable=SC2086
		out=$(timeout 20 $cmd 2>&1 </dev/null)
		rc=$?
		[ $rc -eq 2 ] || gn_fail "$(basename "${prog%% *}") with $conf.conf: exit $rc: $out"
		case $conf in
		typo2) want="$conf.conf:5: unknown key 'cache_szie'" ;;
		badval) want="$conf.conf:2: bad value 'lots' for 'reserve'" ;;
		esac
		case $out in *"$want"*) ;; *) gn_fail "$(basename "${prog%% *}"): '$out' lacks '$want'";; esac
	done
done

# 3. Options: --help of each program against its page.
check_options() {	# program page [extra args to --help]
	local prog=$1 page=$2
	[ -x "$prog" ] || gn_fail "$prog is not built"
	"$prog" --help >"$T/help.txt" 2>&1 ||
		gn_fail "$(basename "$prog") --help failed: $(head -3 "$T/help.txt")"
	python3 - "$T/help.txt" "$T/$page.txt" "$MAN/$page" "$(basename "$prog")" <<'EOF'
import re, sys
help_text = open(sys.argv[1]).read()
man_text = open(sys.argv[2]).read()
roff = open(sys.argv[3]).read()
prog = sys.argv[4]
opt_re = r"(?<![\w-])(--[a-z][a-z0-9-]*|-[a-zA-Z])(?![\w-])"
# Options in --help: those at the start of an indented line (the option
# list), so words like "-" in prose are not taken for options.
help_opts = set()
for l in help_text.split("\n"):
    m = re.match(r"\s+((?:-\w|--[a-z][\w-]*)(?:[=\s]\S*)?(?:,\s*(?:-\w|--[a-z][\w-]*)\S*)*)", l)
    if m:
        help_opts.update(re.findall(opt_re, m.group(1)))
if len(help_opts) < 3:
    print("%s --help lists only %s" % (prog, sorted(help_opts)))
    sys.exit(1)
errors = [ "%s --help option %s is not in its man page" % (prog, o)
           for o in sorted(help_opts) if not re.search(r"(?<![\w-])" + re.escape(o) + r"(?![\w-])", man_text) ]
# Options the page documents (tagged paragraphs of OPTIONS sections).
doc_opts = set()
sec = None
lines = roff.split("\n")
sub = None
for i, l in enumerate(lines):
    if l.startswith(".SH"):
        sec = l[4:].strip('"')
        sub = None
    if l.startswith(".SS"):
        sub = l[4:].strip('"').replace("\\-", "-")
    if sec == "OPTIONS" and sub in (None, prog) and l == ".TP" and i + 1 < len(lines):
        tag = lines[i + 1].replace("\\-", "-")
        doc_opts.update(re.findall(opt_re, tag))
for o in sorted(doc_opts):
    if o not in help_opts and o not in help_text:
        errors.append("%s man page documents %s, which --help does not know" % (prog, o))
if errors:
    print("\n".join(errors))
    sys.exit(1)
EOF
	[ $? -eq 0 ] || gn_fail "options of $(basename "$prog") and $page disagree"
}
check_options "$GN_CTL_BIN" gannetctl.8
check_options "$GN_MDS_BIN" gannet-mds.8
check_options "$GN_DS_BIN" gannet-ds.8
check_options "$GN_FUSE_BIN" mount.gannet.8
# `man gannet-fuse` finds the same page.
grep -qx '.so man8/mount.gannet.8' "$MAN/gannet-fuse.8" ||
	gn_fail "man/gannet-fuse.8 does not point at mount.gannet.8"

# Mount options: every option gannet-fuse --help names (its own, the ones
# passed to FUSE and the ones ignored) is in mount.gannet(8), and every
# option that page lists as a Gannet option is known to gannet-fuse.
"$GN_FUSE_BIN" --help >"$T/fuse-help.txt" 2>&1
python3 - "$T/fuse-help.txt" "$T/mount.gannet.8.txt" "$MAN/mount.gannet.8" <<'EOF' ||
import re, sys
help_text = open(sys.argv[1]).read()
man_text = open(sys.argv[2]).read()
roff = open(sys.argv[3]).read()
opts = set(re.findall(r"^  ([a-z_]+)(?:=|\s)", help_text.split("Gannet options")[1], re.M))
tail = help_text.split("passed through:")[1] if "passed through:" in help_text else ""
opts.update(w.rstrip("=") for w in re.findall(r"([a-z_]+=?)[,.]", tail))
if len(opts) < 15:
    print("too few mount options found in gannet-fuse --help: %s" % sorted(opts)); sys.exit(1)
errors = ["gannet-fuse option %s is not in mount.gannet.8" % o for o in sorted(opts)
          if not re.search(r"(?<![\w-])" + re.escape(o) + r"(?![\w-])", man_text)]
sec = roff.split('.SS "Gannet options"')[1].split(".SS")[0]
for o in re.findall(r"^\.BI ([a-z_]+)=", sec, re.M):
    if o not in help_text:
        errors.append("mount.gannet.8 documents %s=, unknown to gannet-fuse" % o)
if errors:
    print("\n".join(errors)); sys.exit(1)
EOF
	gn_fail "mount options of gannet-fuse and mount.gannet.8 disagree"
# mount.gannet's flags (its usage line: [-fnsv]).
if [ -x "$GN_BUILD_DIR/fs/mount.gannet" ]; then
	flags=$(GANNET_FUSE=$GN_FUSE_BIN "$GN_BUILD_DIR/fs/mount.gannet" --help 2>&1 |
		sed -n 's/.*\[-\([a-zA-Z]*\)\].*/\1/p' | head -1)
	[ -n "$flags" ] || gn_fail "no flags in mount.gannet --help"
	for ((i = 0; i < ${#flags}; i++)); do
		grep -qx -- "-${flags:i:1}" <(grep -o -- '-[a-zA-Z]\b' "$T/mount.gannet.8.txt") ||
			gn_fail "mount.gannet flag -${flags:i:1} is not in mount.gannet.8"
	done
fi

# Every gannetctl command in --help has its own subsection in the page.
for cmd in status "ds list" "ds drain" "ds undrain" "ds remove" df sessions \
	   info "policy get" "policy set" fsck "scrub status" "scrub start" stats; do
	case $cmd in
	*" "*) re="^  ${cmd% *} ([a-z]+ )*${cmd#* }( |$)" ;;
	*) re="^  $cmd( |$)" ;;
	esac
	"$GN_CTL_BIN" --help | sed 's/|/ /g' | grep -Eq "$re" ||
		gn_fail "gannetctl --help lacks '$cmd'"
	grep -q "^\.SS \"\?$cmd" "$MAN/gannetctl.8" || gn_fail "gannetctl.8 has no section for '$cmd'"
done
exit 0
