#!/bin/bash
# t2003-ds-crash: kill -9 a data server while writers are busy (whole
# chunks, chains of partial updates sharing blocks, compressed chunks,
# deletions of versions whose blocks newer ones use); after a restart
# every acknowledged version reads back byte-exact, every acknowledged
# deletion holds, every version it lists is intact, and no temporary file
# is left.
. "$(dirname "$0")/lib-cluster.sh"

[ -x "$GN_DS_BIN" ] || gn_skip "gannet-ds not built"
GN_MDS_ADDR=127.0.0.1:9
gn_start_ds 1 --scrub-rate=0
A=${GN_DS_ADDR[1]}

for i in 0 1 2 3; do head -c $((4194304 - i * 100000)) /dev/urandom >"$T/data$i"; done
head -c 50000 /dev/urandom >"$T/patch"

# writer ID: versions 1, 2, ... of chunk ID: a whole chunk (data file
# v%4), then three patches, each on top of the previous version at its own
# place (the store keeps only the changed blocks and takes the others from
# the older versions' files), and after each version the one before the
# previous is deleted, as the MDS does once a newer version is committed
# (its file is kept while newer versions use its blocks).  Logs every
# acknowledged version with the file its content must equal, every
# deletion before it is sent and every acknowledged one: a deletion the
# kill cut short may or may not have happened.
writer() {
	local id=$1 v=1 prev=
	while [ -e "$T/run" ]; do
		local f=$T/data$((v % 4)) exp=$T/exp.$id.$v opts=()
		[ $((id % 2)) = 0 ] && opts+=(--zstd)
		if [ -n "$prev" ] && [ $((v % 4)) != 1 ]; then
			local off=$(( (v % 4) * 409600 ))
			cp "$prev" "$exp"
			dd if="$T/patch" of="$exp" bs=4096 seek=$((off / 4096)) conv=notrunc 2>/dev/null
			len=$(stat -c %s "$prev")
			"$GN_TT" ds-write "$A" "$id" "$v" "$T/patch" --base=$((v - 1)) \
				--base-length="$len" --offset="$off" --chunk-length="$len" \
				"${opts[@]}" >/dev/null 2>&1 || break
		else
			cp "$f" "$exp"
			"$GN_TT" ds-write "$A" "$id" "$v" "$f" "${opts[@]}" >/dev/null 2>&1 || break
		fi
		echo "$id $v $exp" >>"$T/acked.$id"
		if [ $v -gt 2 ]; then
			echo "$id $((v - 2))" >>"$T/deleting.$id"
			"$GN_TT" ds-delete "$A" "$id" $((v - 2)) >/dev/null 2>&1 || break
			echo "$id $((v - 2))" >>"$T/deleted.$id"
		fi
		prev=$exp
		v=$((v + 1))
	done
}

touch "$T/run"
writer 11 & w1=$!
writer 12 & w2=$!
writer 13 & w3=$!
sleep 1.5
gn_stop_ds 1 KILL
rm -f "$T/run"
wait $w1 $w2 $w3

cat "$T"/acked.* >"$T/acked" 2>/dev/null
cat "$T"/deleted.* >"$T/deleted" 2>/dev/null
cat "$T"/deleting.* >"$T/deleting" 2>/dev/null
n=$(wc -l <"$T/acked")
[ "$n" -ge 3 ] || gn_fail "only $n writes acknowledged before the kill"

gn_start_ds 1 --scrub-rate=0
A=${GN_DS_ADDR[1]}
while read -r id v exp; do
	if grep -qx "$id $v" "$T/deleted"; then
		"$GN_TT" ds-read "$A" "$id" "$v" --expect=NOT_FOUND >/dev/null ||
			gn_fail "deleted version $id/$v still served"
		continue
	fi
	if grep -qx "$id $v" "$T/deleting"; then
		# Deleted or not, never half: gone, or byte-exact below.
		"$GN_TT" ds-read "$A" "$id" "$v" --expect=NOT_FOUND >/dev/null 2>&1 && continue
	fi
	"$GN_TT" ds-read "$A" "$id" "$v" >"$T/out" || gn_fail "acknowledged version $id/$v unreadable"
	cmp -s "$T/out" "$exp" || gn_fail "acknowledged version $id/$v differs"
done <"$T/acked"

# Whatever is listed (also unacknowledged versions that made it) is whole.
"$GN_TT" ds-list "$A" >"$T/list" || gn_fail "list failed"
while read -r id v len _; do
	"$GN_TT" ds-read "$A" "0x$id" "$v" >"$T/out" || gn_fail "listed version $id/$v damaged"
	gn_expect_eq "$len" "$(stat -c %s "$T/out")" "length of $id/$v"
done <"$T/list"
left=$(find "${GN_DS_DIR[1]}/chunks" -name '*.tmp*' | wc -l)
gn_expect_eq 0 "$left" "temporary files after restart"
kept=$(find "${GN_DS_DIR[1]}/chunks" -name '*.kept' | wc -l)
gn_log "$n acknowledged versions verified, $(wc -l <"$T/list") listed, $kept kept"
exit 0
