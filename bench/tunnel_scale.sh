# SPDX-License-Identifier: MIT
# bench/tunnel_scale.sh - sourced by bench/tunnel.sh (its helpers, its
# bookkeeping): the sections about many connections.
#
#   connrate  new forwarded connections per second (connect, 1 KiB each
#             way, close) for CONN_SECONDS with CONN_CONC in flight: ours,
#             HAProxy (nbthread 1) and stunnel, CONN_ROUNDS rounds each,
#             interleaved; full TLS 1.3 handshakes everywhere (X25519,
#             P-256 certificates, AES-256-GCM, no resumption, no tickets);
#             the p99 latency of the TCP connect and of connect-to-echo
#             (the handshake through the tunnel included); CPU ms per
#             connection of each end (goal: >= 1.2x HAProxy's rate)
#   memory    RSS of both ends with IDLE_STREAMS idle forwarded streams
#             (goal <= 32 KiB per stream and end), then with STREAMS
#             concurrent 1 MiB streams: the peak (VmHWM, reset first) and
#             MEM_AFTER seconds after they closed (goals: peak <= stunnel's,
#             back within 10 % of the RSS before), next to stunnel's

CONN_SECONDS=${CONN_SECONDS:-10}
CONN_CONC=${CONN_CONC:-8}
CONN_ROUNDS=${CONN_ROUNDS:-2}
IDLE_STREAMS=${IDLE_STREAMS:-1000}
STREAMS=${STREAMS:-500}
MEM_AFTER=${MEM_AFTER:-60}
MEM_SETTLE=${MEM_SETTLE:-7} # our idle memory goes back 5 s after a burst of handshakes
STUNNEL=$(command -v stunnel4 || command -v stunnel || true)
# stunnel in the foreground logs to stderr and to syslog as well, and with no
# syslog daemon (these machines) glibc writes every line to the console:
# milliseconds per connection.  Debian's build also asks libwrap about every
# connection and leaves Nagle on.  Ours and HAProxy do none of this, so
# stunnel is measured without them.
STUNNEL_TUNING=('syslog = no' 'libwrap = no' 'socket = l:TCP_NODELAY=1' 'socket = r:TCP_NODELAY=1')
TOOL=$top/$BENCH_BUILD/tests/peer_tool
[[ $BENCH_BUILD == /* ]] && TOOL=$BENCH_BUILD/tests/peer_tool

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
hwm_kib() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
hwm_reset() { echo 5 >"/proc/$1/clear_refs"; }

# pair_up KIND TARGET_PORT [LOGLEVEL]: a forward pair to 127.0.0.1:TARGET_PORT,
# AES-256-GCM, no resumption: KIND sssonector, haproxy or stunnel.  Sets
# PAIR_S PAIR_C (PIDs), PAIR_PORT (the client end's plain port).
pair_up() {
	local kind=$1 target=$2 level=${3:-info} tls plain n
	read -r tls plain <<<"$(free_ports 2)"
	PAIR_PORT=$plain
	case $kind in
	sssonector)
		local -a COMMON=('monitor = { snmp_enabled = false; };' "logging = { level = \"$level\"; };"
			"reload = { debounce_ms = 10; state_dir = \"$TMP/state\"; };")
		fwd_server_conf "$TMP/pair-server.conf" "$tls" "$target" "$AES256"
		fwd_client_conf "$TMP/pair-client.conf" "$tls" "$plain" false 10000
		# (at warning there is no event=ready line: the ports below say it)
		spawn "$kind-server" "" "$BIN" -c "$TMP/pair-server.conf"
		PAIR_S=$SPAWNED_PID
		spawn "$kind-client" "" "$BIN" -c "$TMP/pair-client.conf"
		PAIR_C=$SPAWNED_PID
		;;
	haproxy)
		for n in server client; do
			(umask 077 && cat "$PKI/$n.crt" "$PKI/$n.key" >"$TMP/haproxy-$n.pem")
		done
		local suite="ssl-min-ver TLSv1.3 ciphersuites TLS_AES_256_GCM_SHA384"
		printf '%s\n' global '    nbthread 1' '    maxconn 8192' defaults '    mode tcp' '    timeout connect 10s' \
			'    timeout client 1h' '    timeout server 1h' 'frontend tls-in' \
			"    bind 127.0.0.1:$tls ssl crt $TMP/haproxy-server.pem ca-file $PKI/ca.crt verify required no-tls-tickets $suite" \
			'    default_backend target' 'backend target' "    server target 127.0.0.1:$target" >"$TMP/haproxy-server.cfg"
		printf '%s\n' global '    nbthread 1' '    maxconn 8192' defaults '    mode tcp' '    timeout connect 10s' \
			'    timeout client 1h' '    timeout server 1h' 'frontend plain-in' "    bind 127.0.0.1:$plain" \
			'    default_backend tls-out' 'backend tls-out' \
			"    server s 127.0.0.1:$tls ssl verify required ca-file $PKI/ca.crt crt $TMP/haproxy-client.pem sni str(sssonector-server) verifyhost sssonector-server no-ssl-reuse $suite" \
			>"$TMP/haproxy-client.cfg"
		spawn haproxy-server "" haproxy -db -f "$TMP/haproxy-server.cfg"
		PAIR_S=$SPAWNED_PID
		spawn haproxy-client "" haproxy -db -f "$TMP/haproxy-client.cfg"
		PAIR_C=$SPAWNED_PID
		;;
	stunnel)
		printf '%s\n' 'foreground = yes' 'pid =' 'debug = notice' "${STUNNEL_TUNING[@]}" '[in]' "accept = 127.0.0.1:$tls" \
			"connect = 127.0.0.1:$target" "cert = $PKI/server.crt" "key = $PKI/server.key" "CAfile = $PKI/ca.crt" \
			'requireCert = yes' 'verifyChain = yes' 'sslVersionMin = TLSv1.3' \
			'ciphersuites = TLS_AES_256_GCM_SHA384' 'options = NO_TICKET' 'sessionResume = no' >"$TMP/stunnel-s.conf"
		printf '%s\n' 'foreground = yes' 'pid =' 'debug = notice' "${STUNNEL_TUNING[@]}" '[out]' 'client = yes' "accept = 127.0.0.1:$plain" \
			"connect = 127.0.0.1:$tls" "cert = $PKI/client.crt" "key = $PKI/client.key" "CAfile = $PKI/ca.crt" \
			'verifyChain = yes' 'checkHost = sssonector-server' 'sslVersionMin = TLSv1.3' \
			'ciphersuites = TLS_AES_256_GCM_SHA384' 'sessionResume = no' >"$TMP/stunnel-c.conf"
		spawn stunnel-server "" "$STUNNEL" "$TMP/stunnel-s.conf"
		PAIR_S=$SPAWNED_PID
		spawn stunnel-client "" "$STUNNEL" "$TMP/stunnel-c.conf"
		PAIR_C=$SPAWNED_PID
		;;
	esac
	wait_for "$kind's TLS port" "$READY_TIMEOUT" listening "" "$tls"
	wait_for "$kind's plain port" "$READY_TIMEOUT" listening "" "$plain"
}
pair_down() {
	stop_pid "$PAIR_C"
	stop_pid "$PAIR_S"
}

sec_connrate() {
	echo "# 6. connection rate: new forwarded connections per second (connect, 1 KiB each way, close) for ${CONN_SECONDS}s, $CONN_CONC in flight, $CONN_ROUNDS rounds; TLS 1.3 (X25519, P-256 certificates, AES-256-GCM), no resumption on any side; ours at logging.level warning (the peers log no line per connection)"
	command -v haproxy >/dev/null || die "haproxy is not installed"
	[[ -n $STUNNEL ]] || die "stunnel is not installed"
	local ep kind r out s0 c0 s1 c1
	ep=$(free_ports 1)
	spawn echo "" "$PROBE" echo "$ep" 3600
	wait_for "the echo service" "$READY_TIMEOUT" listening "" "$ep"
	declare -A rate=() lines=()
	for ((r = 1; r <= CONN_ROUNDS; r++)); do
		for kind in sssonector haproxy stunnel; do
			pair_up "$kind" "$ep" warning
			s0=$(proc_ticks "$PAIR_S") c0=$(proc_ticks "$PAIR_C")
			out=$("$PROBE" connrate 127.0.0.1 "$PAIR_PORT" "$CONN_SECONDS" "$CONN_CONC") || die "probe connrate ($kind) failed"
			s1=$(proc_ticks "$PAIR_S") c1=$(proc_ticks "$PAIR_C")
			pair_down
			lines[$kind]+="$out s_ticks=$((s1 - s0)) c_ticks=$((c1 - c0))"$'\n'
			rate[$kind]+="$(sed -n 's/.*rate_per_s=\([0-9.]*\).*/\1/p' <<<"$out") "
		done
	done
	stop_all
	for kind in sssonector haproxy stunnel; do
		# the round with the median rate speaks for the kind
		# shellcheck disable=SC2086
		awk -v k="$kind" -v hz="$CLK_TCK" -v rates="${rate[$kind]}" -v med="$(median ${rate[$kind]})" '
			NF { for (i = 1; i <= NF; i++) { split($i, kv, "="); v[NR, kv[1]] = kv[2] } n = NR }
			END {
				m = split(rates, rr, " ")
				best = 1; for (i = 1; i <= n; i++) if ((v[i, "rate_per_s"] - med) ^ 2 < (v[best, "rate_per_s"] - med) ^ 2) best = i
				c = v[best, "conns"] > 0 ? v[best, "conns"] : 1
				printf "connrate %s: %.0f conn/s (median of %d; runs: %s) p99 connect %.2f ms, p99 connect-to-echo %.1f ms (p50 %.1f), errors %d; CPU per connection: server %.2f ms, client %.2f ms\n",
					k, med, m, rates, v[best, "connect_p99_us"] / 1000, v[best, "echo_p99_us"] / 1000, v[best, "echo_p50_us"] / 1000,
					v[best, "errors"], 1000 * v[best, "s_ticks"] / hz / c, 1000 * v[best, "c_ticks"] / hz / c }' <<<"${lines[$kind]}"
	done
	local a b q
	# shellcheck disable=SC2086
	a=$(median ${rate[sssonector]}) b=$(median ${rate[haproxy]})
	q=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", (b > 0) ? a / b : 0 }')
	echo "ratio connrate sssonector/haproxy: $q (goal >= 1.2: $(goal "$q" '>=' 1.2))"
	# shellcheck disable=SC2086
	b=$(median ${rate[stunnel]})
	echo "ratio connrate sssonector/stunnel: $(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", (b > 0) ? a / b : 0 }')"
}

sec_memory() {
	echo "# 7. memory: RSS of both ends with $IDLE_STREAMS idle forwarded streams, then with $STREAMS concurrent 1 MiB streams (peak = VmHWM reset before; after = ${MEM_AFTER}s after they closed); AES-256-GCM; next to stunnel"
	[[ -n $STUNNEL ]] || die "stunnel is not installed"
	[[ -x $TOOL ]] || die "no $TOOL (make bench)"
	ulimit -n "$(ulimit -Hn)"
	local kind sink drain s0 c0 s1 c1 out t_end
	declare -A pre=() peak=() closed=() pids=() idle=()
	for kind in sssonector stunnel; do
		# idle streams: peer_tool holds them open through the pair to its sink
		sink=$(free_ports 1)
		spawn "sink-$kind" "" "$TOOL" sink "$sink" 600
		wait_for "the sink" "$READY_TIMEOUT" listening "" "$sink"
		pair_up "$kind" "$sink"
		s0=$(rss_kib "$PAIR_S") c0=$(rss_kib "$PAIR_C")
		spawn "hold-$kind" "" "$TOOL" hold 127.0.0.1 "$PAIR_PORT" "$IDLE_STREAMS"
		local hold=$SPAWNED_PID
		wait_for "$IDLE_STREAMS streams at the sink" 120 grep -qs "^accepted $IDLE_STREAMS\$" "$TMP/log/$SECTION-sink-$kind.log"
		# measured once the burst of handshakes has settled (ours gives
		# memory back 5 s after it; stunnel gets the same wait)
		sleep "$MEM_SETTLE"
		s1=$(rss_kib "$PAIR_S") c1=$(rss_kib "$PAIR_C")
		idle[$kind]=$(awk -v a="$((s1 - s0))" -v b="$((c1 - c0))" -v n="$IDLE_STREAMS" 'BEGIN { printf "%.1f %.1f", a / n, b / n }')
		printf 'rss-%s-idle %s: server %d -> %d KiB, client %d -> %d KiB: %.1f KiB per stream on the server, %.1f on the client\n' \
			"$IDLE_STREAMS" "$kind" "$s0" "$s1" "$c0" "$c1" ${idle[$kind]}
		stop_pid "$hold"
		pair_down
	done
	for kind in sssonector stunnel; do
		awk -v k="$kind" -v v="${idle[$kind]}" 'BEGIN { split(v, x, " "); m = x[1] > x[2] ? x[1] : x[2]
			printf "rss per idle stream %s: %.1f KiB (the larger end)%s\n", k, m, k == "sssonector" ? sprintf(" (goal <= 32 KiB: %s)", m <= 32 ? "ok" : "MISS") : "" }'
	done
	# concurrent 1 MiB streams: both pairs up at once, so that the
	# minute after each burst overlaps the other's
	for kind in sssonector stunnel; do
		drain=$(free_ports 1)
		spawn "drain-$kind" "" "$PROBE" drain "$drain" 3600
		wait_for "the drain" "$READY_TIMEOUT" listening "" "$drain"
		pair_up "$kind" "$drain"
		pids[$kind]="$PAIR_S $PAIR_C"
		sleep 1
		pre[$kind]="$(rss_kib "$PAIR_S") $(rss_kib "$PAIR_C")"
		hwm_reset "$PAIR_S"
		hwm_reset "$PAIR_C"
		out=$("$PROBE" streams 127.0.0.1 "$PAIR_PORT" "$STREAMS" 1048576 120) || note "streams $kind: $out"
		peak[$kind]="$(hwm_kib "$PAIR_S") $(hwm_kib "$PAIR_C")"
		closed[$kind]=$SECONDS
		note "  $kind: $out"
	done
	for kind in sssonector stunnel; do
		t_end=$((closed[$kind] + MEM_AFTER))
		while ((SECONDS < t_end)); do sleep 1; done
		local -a p pr pk
		read -ra p <<<"${pids[$kind]}"
		read -ra pr <<<"${pre[$kind]}"
		read -ra pk <<<"${peak[$kind]}"
		s1=$(rss_kib "${p[0]}") c1=$(rss_kib "${p[1]}")
		printf 'rss-%s-streams %s: server before %d, peak %d, %ds after %d KiB; client before %d, peak %d, after %d KiB\n' \
			"$STREAMS" "$kind" "${pr[0]}" "${pk[0]}" "$MEM_AFTER" "$s1" "${pr[1]}" "${pk[1]}" "$c1"
		closed[$kind]="${pr[0]} ${pk[0]} $s1 ${pr[1]} ${pk[1]} $c1"
	done
	awk -v a="${closed[sssonector]}" -v b="${closed[stunnel]}" -v after="$MEM_AFTER" 'BEGIN {
		split(a, x, " "); split(b, y, " ")
		for (e = 0; e < 2; e++) {
			w = e ? "client" : "server"; o = 3 * e
			printf "peak rss %s sssonector/stunnel: %d/%d KiB = %.2f (goal <= 1: %s)\n", w, x[o + 2], y[o + 2],
				x[o + 2] / y[o + 2], x[o + 2] <= y[o + 2] ? "ok" : "MISS"
			printf "rss %s %ds after the streams / before: %.2f (%d/%d KiB) (goal <= 1.10: %s)\n", w, after,
				x[o + 3] / x[o + 1], x[o + 3], x[o + 1], x[o + 3] <= 1.1 * x[o + 1] ? "ok" : "MISS"
		}
	}'
}
