# contrib/deps.sh - Debian 12 packages Gannet needs, and a function that
# installs the missing ones.  Sourced by contrib/run-tests and
# contrib/quickstart (both run as root on a fresh machine).

# To build: compiler, autotools and the libraries configure checks for.
GN_BUILD_DEPS="gcc make autoconf automake libtool pkg-config
	libfuse3-dev libgrpc-dev libprotobuf-c-dev protobuf-c-compiler
	liblmdb-dev libzstd-dev check libinih-dev libsystemd-dev
	libxxhash-dev libmicrohttpd-dev liburing-dev"
# To run: FUSE's mount helper and the mount/namespace tools.
GN_RUN_DEPS="fuse3 util-linux procps"
# To test: tools the integration tests and benchmarks drive.
GN_TEST_DEPS="attr acl python3 rsync git tar sqlite3 fio groff man-db
	systemd lmdb-utils iproute2 psmisc python3-torch"
# To benchmark (contrib/bench): the peer we compare with, and fio.
GN_BENCH_DEPS="fio moosefs-master moosefs-chunkserver moosefs-client
	python3-torch iproute2 util-linux"

# gn_install_deps PKG...: apt-get install what is not installed yet.
gn_install_deps() {
	local missing="" p
	for p in "$@"; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
			grep -q "install ok installed" || missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	if [ "$(id -u)" != 0 ]; then
		echo "missing Debian packages:$missing (run as root to install them)" >&2
		return 1
	fi
	echo "installing:$missing" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >/dev/null || return 1
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null || return 1
}
