#!/bin/sh
# SPDX-License-Identifier: MIT
# mkpki.sh DIR - make a throwaway PKI for tests and demos.
#
# Writes into DIR (created if missing), all keys EC P-256, mode 0600:
#   ca.crt ca.key                 the test CA
#   server.crt server.key         CN=sssonector-server, SAN DNS:sssonector-server,
#                                 DNS:localhost, IP:127.0.0.1, IP:::1 (serverAuth)
#   client.crt client.key         CN=sssonector-client, SAN DNS:sssonector-client (clientAuth)
#   client2.crt client2.key       CN=sssonector-client2 (a second client)
#   other-ca.crt other-ca.key     an unrelated CA
#   other-client.crt other-client.key  a client signed by the unrelated CA
#   server-enc.key                server.key encrypted with the password "test-password"
# Nothing here is meant for production: the docs show the same recipe with
# longer lifetimes.  Certificates are valid for 90 days: past
# tunnel.expiry_warn_days (30), so a fresh PKI checks without a warning.
set -eu
dir=${1:?usage: mkpki.sh DIR}
mkdir -p "$dir"
cd "$dir"
umask 077

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

ca() { # ca NAME CN
	key "$1.key"
	openssl req -x509 -new -key "$1.key" -sha256 -days 90 -subj "/CN=$2" \
		-addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" -out "$1.crt"
}

leaf() { # leaf NAME CA CN EKU SAN
	key "$1.key"
	printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature" \
		"extendedKeyUsage=$4" "subjectAltName=$5" >"$1.ext"
	openssl req -new -key "$1.key" -subj "/CN=$3" -out "$1.csr"
	openssl x509 -req -in "$1.csr" -CA "$2.crt" -CAkey "$2.key" \
		-set_serial "0x$(openssl rand -hex 8)" -days 90 -sha256 \
		-extfile "$1.ext" -out "$1.crt" 2>/dev/null
	rm -f "$1.csr" "$1.ext"
}

ca ca "sssonector-test-ca"
leaf server ca sssonector-server serverAuth \
	"DNS:sssonector-server,DNS:localhost,IP:127.0.0.1,IP:::1"
leaf client ca sssonector-client clientAuth "DNS:sssonector-client"
leaf client2 ca sssonector-client2 clientAuth "DNS:sssonector-client2"
ca other-ca "sssonector-other-ca"
leaf other-client other-ca sssonector-client clientAuth "DNS:sssonector-client"
openssl pkey -in server.key -aes256 -passout pass:test-password -out server-enc.key
chmod 600 ./*.key
chmod 644 ./*.crt
