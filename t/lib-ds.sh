# lib-ds.sh - helpers for the t2xxx data server scripts that run with a
# real MDS (source after lib-cluster.sh).  They create a file's chunk map
# through the MDS (test-tool mds ... write: AllocateChunks + CommitWrite)
# and then store the chunk bytes on the replicas the MDS chose, with a
# WriteChunk chain, the way the client does.

# ds_addr_of ID: the address the MDS lists for data server ID.
ds_addr_of() {
	"$GN_TT" mds "$GN_MDS_ADDR" ds-list | awk -v id="$1" '$1 == id { print $3 }'
}

# ds_num_of ADDR: the lib-cluster index i with GN_DS_ADDR[i] = ADDR.
ds_num_of() {
	local i
	for i in "${!GN_DS_ADDR[@]}"; do
		[ "${GN_DS_ADDR[$i]}" = "$1" ] && { echo "$i"; return 0; }
	done
	return 1
}

# ds_chunks PATH: "INDEX ID VERSION LENGTH R1,R2" lines from the MDS.
ds_chunks() {
	"$GN_TT" mds "$GN_MDS_ADDR" chunks "$1" | grep '^[0-9]' |
		sed -E 's/ id=/ /; s/ v=/ /; s/ len=/ /; s/ replicas=/ /'
}

# ds_put_file PATH NCHUNKS LASTLEN [write opts]: create PATH with NCHUNKS
# chunks (the last LASTLEN bytes long), random bytes, stored on the chosen
# replicas; chunk INDEX's expected bytes go to $T/expect.ID (chunk id).
ds_put_file() {
	local path=$1 n=$2 last=$3; shift 3
	local idx id v len reps first rest a r
	"$GN_TT" mds "$GN_MDS_ADDR" create "$path" >/dev/null || gn_fail "create $path failed"
	"$GN_TT" mds "$GN_MDS_ADDR" write "$path" "$n" "$last" >/dev/null ||
		gn_fail "allocating chunks of $path failed"
	ds_chunks "$path" >"$T/map" || gn_fail "chunk map of $path"
	while read -r idx id v len reps; do
		head -c "$len" /dev/urandom >"$T/expect.$id"
		first= rest=
		for r in ${reps//,/ }; do
			a=$(ds_addr_of "$r")
			if [ -z "$first" ]; then first=$a; else rest=${rest:+$rest,}$a; fi
		done
		"$GN_TT" ds-write "$first" "$id" "$v" "$T/expect.$id" --chain="$rest" "$@" \
			>/dev/null || gn_fail "writing chunk $idx of $path to $first,$rest failed"
	done <"$T/map"
}

# ds_check_file PATH WANT: every chunk of PATH has at least WANT replicas
# in the MDS map on servers not listed in $DS_DOWN_IDS (ids of servers
# known dead, which the map may keep listing), and each of those returns
# the expected bytes.  Returns 1 (quietly) otherwise.
DS_DOWN_IDS=
ds_check_file() {
	local path=$1 want=$2 idx id v len reps r a n
	ds_chunks "$path" >"$T/map" || return 1
	while read -r idx id v len reps; do
		n=0
		for r in ${reps//,/ }; do
			case " $DS_DOWN_IDS " in *" $r "*) continue ;; esac
			a=$(ds_addr_of "$r")
			"$GN_TT" ds-read "$a" "$id" "$v" >"$T/got" 2>/dev/null || return 1
			cmp -s "$T/got" "$T/expect.$id" || return 1
			n=$((n + 1))
		done
		[ "$n" -ge "$want" ] || return 1
	done <"$T/map"
}

# ds_chunk_file I ID VERSION: the file of a version in data server I's store.
ds_chunk_file() {
	printf '%s/chunks/%02x/%016x.%016x\n' "${GN_DS_DIR[$1]}" $(($2 & 255)) "$2" "$3"
}

# ds_flip I ID VERSION OFFSET: flip one bit of a stored version's file.
ds_flip() {
	local f b
	f=$(ds_chunk_file "$1" "$2" "$3")
	[ -f "$f" ] || gn_fail "no file $f to damage"
	b=$(od -An -tu1 -j "$4" -N1 "$f" | tr -d ' ')
	printf "$(printf '\\%03o' $((b ^ 1)))" |
		dd of="$f" bs=1 seek="$4" conv=notrunc 2>/dev/null
}
