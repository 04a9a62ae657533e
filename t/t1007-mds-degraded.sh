#!/bin/bash
# t1007-mds-degraded: `gannetctl degraded` (ListDegraded) against a real
# MDS and real data servers lists exactly the chunks that have fewer live
# replicas than their policy: a data server stops, and the chunks that had
# a replica there (by the MDS chunk map) are listed, those with no other
# replica as damaged; re-replication to a new server empties the list of
# all but the damaged ones, and the server's return empties it.
#
# Placement is made so that nothing can be re-replicated while the
# listing is checked: the files are written while only data servers 1 and
# 2 run (replicas 2 puts every chunk of /a on both; /one has replicas 1),
# so once server 1 is down no server is left to copy to.  The third one
# starts afterwards and takes the copies.
. "$(dirname "$0")/lib-cluster.sh"
. "$(dirname "$0")/lib-ds.sh"

[ -x "$GN_DS_BIN" ] && [ -x "$GN_MDS_BIN" ] && [ -x "$GN_CTL_BIN" ] ||
	gn_skip "gannet-ds, gannet-mds or gannetctl not built"
gn_need_cmd python3
gn_start_mds --default-replicas=2
for i in 1 2; do gn_start_ds "$i" --scrub-rate=0; done
gn_wait_ds 2
tt() { "$GN_TT" mds "$GN_MDS_ADDR" "$@"; }
ctl() { "$GN_CTL_BIN" --mds="$GN_MDS_ADDR" --timeout=5000 "$@"; }

# listed: one line per chunk `gannetctl --json degraded` lists,
# "INODE INDEX CHUNK_ID STATE LIVE/POLICY DOWN_IDS", by chunk id; checks
# the totals of the document on the way.
listed() {
	ctl --json degraded >"$T/deg.json" || return 1
	python3 - "$T/deg.json" <<'EOF'
import json, sys
j = json.load(open(sys.argv[1]))
ch = j["chunks"]
if j["degraded_chunks"] != len(ch) or j["damaged_chunks"] != sum(c["damaged"] for c in ch):
    sys.exit("totals disagree with the list")
for c in sorted(ch, key=lambda c: int(c["chunk_id"], 16)):
    down = [r for r in c["replicas"] if not r["counts"]]
    for r in down:
        if r["state"] in ("up", "bad") or r["addr"] is None:
            sys.exit("replica %s of %s listed as %s" % (r["id"], c["chunk_id"], r["state"]))
    print(c["inode"], c["index"], int(c["chunk_id"], 16),
          "damaged" if c["damaged"] else "degraded",
          "%d/%d" % (c["live_replicas"], c["policy_replicas"]),
          ",".join(str(r["id"]) for r in down) or "-")
EOF
}

# expected DOWN_ID PATH:POLICY...: the lines `listed` must print with
# server DOWN_ID down (and every other server in the map up), from the
# MDS chunk map of each PATH.
expected() {
	local down=$1 spec path pol ino idx id v len reps r live
	shift
	for spec in "$@"; do
		path=${spec%:*} pol=${spec##*:}
		ino=$(tt stat "$path" | sed -n 's/^ino=\([0-9]*\) .*/\1/p')
		[ -n "$ino" ] || gn_fail "no inode for $path"
		ds_chunks "$path" >"$T/map.exp" || gn_fail "chunk map of $path"
		while read -r idx id v len reps; do
			case ",$reps," in *",$down,"*) ;; *) continue ;; esac
			live=0
			for r in ${reps//,/ }; do [ "$r" = "$down" ] || live=$((live + 1)); done
			if [ $live -eq 0 ]; then st=damaged; else st=degraded; fi
			echo "$ino $idx $id $st $live/$pol $down"
		done <"$T/map.exp"
	done | sort -n -k3,3
}

ds_state_is() {	# ID STATE: as ListDs reports it
	tt ds-list | awk -v id="$1" '$1 == id { print $4 }' | grep -qx "$2"
}

tt mkdir /one >/dev/null || gn_fail "mkdir /one"
tt policy /one 1 none >/dev/null || gn_fail "policy of /one"
ds_put_file /a 5 123456
ds_put_file /one/b 12 4096
ds_check_file /a 2 || gn_fail "replicas of /a wrong after writing"
ds_check_file /one/b 1 || gn_fail "replicas of /one/b wrong after writing"

# Healthy: nothing listed.
gn_expect_eq "" "$(listed)" "list of a healthy cluster"
gn_expect_eq "no degraded chunks" "$(ctl degraded)" "table of a healthy cluster"

# Data server 1 stops.  Once the MDS marks it down, the list is exactly
# the chunks with a replica there: all of /a (degraded, one copy left on
# server 2) and those of /one/b on server 1 (damaged).
victim_id=$("$GN_TT" ds-stat "${GN_DS_ADDR[1]}" | sed -n 's/^id=//p')
[ -n "$victim_id" ] || gn_fail "no id for data server 1"
expected "$victim_id" /a:2 /one/b:1 >"$T/want1"
gn_log "server $victim_id holds $(grep -c degraded "$T/want1") degraded-to-be and $(grep -c damaged "$T/want1") damaged-to-be chunks"
gn_stop_ds 1 KILL
gn_wait_for 20 ds_state_is "$victim_id" DOWN || gn_fail "data server $victim_id not marked down: $(tt ds-list)"
listed >"$T/got1" || gn_fail "gannetctl --json degraded failed: $(cat "$T/deg.json")"
diff -u "$T/want1" "$T/got1" >&2 || gn_fail "listed chunks differ from the chunk map's (server $victim_id down)"
# The table says the same.
ctl degraded >"$T/table" || gn_fail "gannetctl degraded failed"
gn_expect_eq "$(wc -l <"$T/want1") degraded chunks, $(grep -c damaged "$T/want1") of them damaged" \
	"$(tail -1 "$T/table")" "summary line of the table"
head -1 "$T/table" | grep -q '^ *INODE *INDEX *CHUNK *VERSION *LIVE *STATE *REPLICAS$' ||
	gn_fail "table header: $(head -1 "$T/table")"
grep -q " $victim_id(${GN_DS_ADDR[1]},down)" "$T/table" || gn_fail "table does not name the down replica: $(cat "$T/table")"
# The background count agrees once a pass has run.
count_is() { tt status | grep -q " degraded=$1 damaged=$2 "; }
gn_wait_for 10 count_is "$(wc -l <"$T/want1")" "$(grep -c damaged "$T/want1")" ||
	gn_fail "Status counts $(tt status), the list $(wc -l <"$T/want1")"
# The RPC itself: bounds, admin only, and the same chunks in pages of one.
gn_expect_eq EINVAL "$(tt list-degraded 4097 2>/dev/null)" "ListDegraded max_chunks over 4096"
gn_expect_eq EPERM "$(tt --uid=1000 --gid=1000 list-degraded 10 2>/dev/null)" "ListDegraded by a user outside admin_gid"
gn_expect_eq "$(cut -d' ' -f3 "$T/want1" | tr '\n' ' ')" "$(tt list-degraded 1 | sort -n | tr '\n' ' ')" \
	"ListDegraded one chunk per page"

# A third data server starts: the MDS copies /a's chunks there, so only
# the damaged chunks (no copy left anywhere) stay listed.
gn_start_ds 3 --scrub-rate=0
grep damaged "$T/want1" >"$T/want2"
only_damaged() { listed >"$T/got2" && cmp -s "$T/want2" "$T/got2"; }
gn_wait_for 60 only_damaged ||
	{ diff -u "$T/want2" "$T/got2" >&2; gn_fail "list after re-replication is not the damaged chunks only"; }
DS_DOWN_IDS=$victim_id
ds_check_file /a 2 || gn_fail "/a has not two good replicas after re-replication: $(ds_chunks /a | tr '\n' ';')"
DS_DOWN_IDS=

# Server 1 returns with its store: its replicas count again, nothing is
# listed.
gn_start_ds 1 --scrub-rate=0
gn_wait_for 20 ds_state_is "$victim_id" UP || gn_fail "data server $victim_id not up again: $(tt ds-list)"
gn_expect_eq "" "$(listed)" "list after the server returned"
gn_expect_eq "no degraded chunks" "$(ctl degraded)" "table after the server returned"
ds_check_file /one/b 1 || gn_fail "/one/b damaged after the server returned"
exit 0
