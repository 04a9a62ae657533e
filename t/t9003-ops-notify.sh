#!/bin/bash
# t9003: started as a Type=notify unit would start them (NOTIFY_SOCKET set
# to a datagram socket this test listens on), gannet-mds and gannet-ds send
# READY=1 only once they serve: the port file exists and a Ping succeeds
# at once.  SIGTERM sends STOPPING=1 and a clean exit; a daemon that cannot
# start never reports READY and exits non-zero.
. "$(dirname "$0")/lib-cluster.sh"

gn_need_cmd python3
[ -x "$GN_MDS_BIN" ] && [ -x "$GN_DS_BIN" ] || gn_fail "daemons are not built"

# notify MODE PORTFILE -- argv...: run argv under a notify socket.
#   MODE=serve: expect READY=1, then Ping, then SIGTERM -> STOPPING=1, exit 0
#   MODE=fail:  expect an exit != 0 without READY=1
# Prints one line per event; the shell asserts on them.
notify() {
	python3 - "$@" <<'EOF'
import os, signal, socket, subprocess, sys, time
mode, port_file, tt, log = sys.argv[1:5]
argv = sys.argv[6:]          # after "--"
sock_path = os.path.join(os.environ["T"], "notify-%d.sock" % os.getpid())
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sock_path)
s.settimeout(0.1)
env = dict(os.environ, NOTIFY_SOCKET=sock_path)
env.pop("LISTEN_FDS", None)
out = open(log, "ab")
p = subprocess.Popen(argv, env=env, stdout=out, stderr=out)

def wait_msg(word, secs):
    """Collect datagrams until one has the line `word` or the process exits."""
    end = time.time() + secs
    while time.time() < end:
        try:
            msg = s.recv(65536).decode(errors="replace")
        except socket.timeout:
            if p.poll() is not None:
                # drain what was sent before exiting
                try:
                    msg = s.recv(65536).decode(errors="replace")
                except socket.timeout:
                    return None
            else:
                continue
        print("msg " + msg.replace("\n", " "), flush=True)
        if word in msg.split("\n"):
            return msg
    return None

try:
    if mode == "fail":
        got = wait_msg("READY=1", 15)
        print("ready" if got else "no-ready", flush=True)
        try:
            rc = p.wait(timeout=15)
        except subprocess.TimeoutExpired:
            rc = "hung"
        print("exit=%s" % rc, flush=True)
        sys.exit(0)
    if not wait_msg("READY=1", 20):
        print("no-ready exit=%s" % p.poll(), flush=True)
        sys.exit(0)
    # At READY the daemon must already serve: no waiting, no retry.
    try:
        port = open(port_file).read().strip()
    except OSError as e:
        print("ready no-port-file %s" % e, flush=True)
        sys.exit(0)
    r = subprocess.run([tt, "ops-ping", "127.0.0.1:" + port],
                       capture_output=True, text=True)
    print("ready ping=%s %s" % ("ok" if r.returncode == 0 else "failed",
                                r.stdout.strip()), flush=True)
    p.send_signal(signal.SIGTERM)
    print("stopping" if wait_msg("STOPPING=1", 20) else "no-stopping", flush=True)
    try:
        print("exit=%d" % p.wait(timeout=20), flush=True)
    except subprocess.TimeoutExpired:
        print("exit=hung", flush=True)
finally:
    if p.poll() is None:
        p.kill()
        p.wait()
    os.unlink(sock_path)
EOF
}

expect_serve() {	# name output
	grep -qx "ready ping=ok $1" <<<"$2" || gn_fail "$1 was not serving at READY=1: $2"
	grep -qx stopping <<<"$2" || gn_fail "$1 sent no STOPPING=1 on SIGTERM: $2"
	grep -qx "exit=0" <<<"$2" || gn_fail "$1 did not exit 0 after SIGTERM: $2"
}

# The MDS.
mkdir -p "$T/mds"
out=$(notify serve "$T/mds.port" "$GN_TT" "$T/mds-notify.log" -- "$GN_MDS_BIN" \
	--config=/dev/null --listen=127.0.0.1:0 --data-dir="$T/mds" --metrics-port=0 \
	--port-file="$T/mds.port")
expect_serve mds "$out"
grep -q "STATUS=" <<<"$out" || gn_fail "mds sent no STATUS=: $out"

# A data server, against a running MDS started the usual way.
gn_start_mds
mkdir -p "$T/ds1"
out=$(notify serve "$T/ds1.port" "$GN_TT" "$T/ds-notify.log" -- "$GN_DS_BIN" \
	--config=/dev/null --listen=127.0.0.1:0 --data-dir="$T/ds1" --mds="$GN_MDS_ADDR" \
	--metrics-port=0 --reserve=0 --heartbeat-ms=300 --port-file="$T/ds1.port")
expect_serve ds "$out"

# Daemons that cannot start never claim readiness.
: >"$T/not-a-dir"
out=$(notify fail "$T/bad.port" "$GN_TT" "$T/bad-mds.log" -- "$GN_MDS_BIN" \
	--config=/dev/null --listen=127.0.0.1:0 --data-dir="$T/not-a-dir/mds" \
	--metrics-port=0 --port-file="$T/bad.port")
grep -qx no-ready <<<"$out" || gn_fail "mds with an unusable store sent READY=1: $out"
grep -Eqx 'exit=[1-9][0-9]*' <<<"$out" || gn_fail "mds with an unusable store: $out"

out=$(notify fail "$T/bad2.port" "$GN_TT" "$T/bad-ds.log" -- "$GN_DS_BIN" \
	--config=/dev/null --listen=127.0.0.1:0 --data-dir="$T/not-a-dir/ds" \
	--mds="$GN_MDS_ADDR" --metrics-port=0 --port-file="$T/bad2.port")
grep -qx no-ready <<<"$out" || gn_fail "ds with an unusable directory sent READY=1: $out"
grep -Eqx 'exit=[1-9][0-9]*' <<<"$out" || gn_fail "ds with an unusable directory: $out"

# Port in use: the second MDS on the first one's port must fail, not hang.
mkdir -p "$T/mds2"
out=$(notify fail "$T/mds2.port" "$GN_TT" "$T/mds2.log" -- "$GN_MDS_BIN" \
	--config=/dev/null --listen="$GN_MDS_ADDR" --data-dir="$T/mds2" \
	--metrics-port=0 --port-file="$T/mds2.port")
grep -qx no-ready <<<"$out" || gn_fail "mds on a port in use sent READY=1: $out"
grep -Eqx 'exit=[1-9][0-9]*' <<<"$out" || gn_fail "mds on a port in use: $out"
exit 0
