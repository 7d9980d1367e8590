# SPDX-License-Identifier: MIT
# tests/ca.sh - a certificate authority made with `openssl ca`, as an
# administrator runs one: issue with chosen dates, revoke, publish CRLs.
# Sourced by tests after lib.sh and t_pki; everything lives in $T_PKI.
#
#   t_ca NAME [PARENT [START END]]
#                             a CA: $T_PKI/NAME.crt, NAME.key and its
#                             database in NAME.ca/.  Without PARENT it takes
#                             over $T_PKI/NAME.crt and NAME.key when they exist
#                             (the test CA of mkpki.sh), else makes a root;
#                             with PARENT an intermediate signed by PARENT
#                             (valid from START to END, as t_ca_issue).
#   t_ca_issue CA NAME CN EKU SAN [START END]
#                             a leaf $T_PKI/NAME.crt/.key signed by CA, valid
#                             from START to END (YYYYMMDDHHMMSSZ; default
#                             an hour ago to 90 days ahead)
#   t_ca_revoke CA CERT       mark $T_PKI/CERT.crt revoked in CA's database
#   t_ca_crl CA OUT [LAST NEXT]
#                             write CA's CRL to OUT (lastUpdate LAST,
#                             nextUpdate NEXT; default now to 7 days ahead)
#   t_ca_date SECONDS         the date SECONDS from now, as START/END/LAST/NEXT

t_ca_date() {
	date -u -d "@$(($(date +%s) + $1))" +%Y%m%d%H%M%SZ
}

t_ca_conf() { # t_ca_conf DIR
	cat >"$1/openssl.cnf" <<EOF
[ ca ]
default_ca = this
[ this ]
dir = $1
database = \$dir/index.txt
new_certs_dir = \$dir/new
serial = \$dir/serial
crlnumber = \$dir/crlnumber
default_md = sha256
default_days = 90
default_crl_days = 7
policy = any
unique_subject = no
copy_extensions = none
[ any ]
commonName = supplied
[ v3_ca ]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ crl_ext ]
authorityKeyIdentifier = keyid
EOF
	: >"$1/index.txt"
	echo 1000 >"$1/serial"
	echo 01 >"$1/crlnumber"
	mkdir -p "$1/new"
}

t_ca() {
	local name=$1 parent=${2:-} dir=$T_PKI/$1.ca
	local start=${3:-$(t_ca_date -3600)} end=${4:-$(t_ca_date $((90 * 86400)))}
	mkdir -p "$dir"
	t_ca_conf "$dir"
	if [ -z "$parent" ] && [ -f "$T_PKI/$name.crt" ] && [ -f "$T_PKI/$name.key" ]; then
		return 0
	fi
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T_PKI/$name.key" 2>/dev/null ||
		t_fail "openssl genpkey"
	chmod 0600 "$T_PKI/$name.key"
	if [ -z "$parent" ]; then
		openssl req -x509 -new -key "$T_PKI/$name.key" -sha256 -days 90 -subj "/CN=$name" \
			-config "$dir/openssl.cnf" -extensions v3_ca -out "$T_PKI/$name.crt" 2>"$dir/err" ||
			{ cat "$dir/err" >&2; t_fail "openssl req (CA $name)"; }
	else
		openssl req -new -key "$T_PKI/$name.key" -subj "/CN=$name" -out "$dir/req.csr" 2>/dev/null ||
			t_fail "openssl req (CA $name)"
		openssl ca -batch -config "$T_PKI/$parent.ca/openssl.cnf" -extensions v3_ca -notext \
			-cert "$T_PKI/$parent.crt" -keyfile "$T_PKI/$parent.key" -startdate "$start" -enddate "$end" \
			-in "$dir/req.csr" -out "$T_PKI/$name.crt" 2>"$dir/err" ||
			{ cat "$dir/err" >&2; t_fail "openssl ca (CA $name)"; }
	fi
	chmod 0644 "$T_PKI/$name.crt"
}

t_ca_issue() {
	local ca=$1 name=$2 cn=$3 eku=$4 san=$5 dir=$T_PKI/$1.ca
	local start=${6:-$(t_ca_date -3600)} end=${7:-$(t_ca_date $((90 * 86400)))}
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T_PKI/$name.key" 2>/dev/null ||
		t_fail "openssl genpkey"
	chmod 0600 "$T_PKI/$name.key"
	openssl req -new -key "$T_PKI/$name.key" -subj "/CN=$cn" -out "$dir/$name.csr" 2>/dev/null ||
		t_fail "openssl req ($name)"
	printf '%s\n' "[ leaf ]" "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature" \
		"extendedKeyUsage=$eku" "subjectAltName=$san" >"$dir/$name.ext"
	openssl ca -batch -config "$dir/openssl.cnf" -extfile "$dir/$name.ext" -extensions leaf -notext \
		-cert "$T_PKI/$ca.crt" -keyfile "$T_PKI/$ca.key" -startdate "$start" -enddate "$end" \
		-in "$dir/$name.csr" -out "$T_PKI/$name.crt" 2>"$dir/err" ||
		{ cat "$dir/err" >&2; t_fail "openssl ca ($name)"; }
	chmod 0644 "$T_PKI/$name.crt"
}

t_ca_revoke() {
	local dir=$T_PKI/$1.ca
	openssl ca -config "$dir/openssl.cnf" -cert "$T_PKI/$1.crt" -keyfile "$T_PKI/$1.key" \
		-revoke "$T_PKI/$2.crt" -crl_reason keyCompromise 2>"$dir/err" ||
		{ cat "$dir/err" >&2; t_fail "openssl ca -revoke $2"; }
}

t_ca_crl() {
	local dir=$T_PKI/$1.ca out=$2 tmp
	local last=${3:-$(t_ca_date -60)} next=${4:-$(t_ca_date $((7 * 86400)))}
	tmp=$out.new
	openssl ca -gencrl -config "$dir/openssl.cnf" -cert "$T_PKI/$1.crt" -keyfile "$T_PKI/$1.key" \
		-crlexts crl_ext -crl_lastupdate "$last" -crl_nextupdate "$next" -out "$tmp" 2>"$dir/err" ||
		{ cat "$dir/err" >&2; t_fail "openssl ca -gencrl"; }
	chmod 0644 "$tmp"
	mv -f "$tmp" "$out"
}
