#!/bin/sh
# Write a throwaway test CA and a server certificate signed by it:
#   OUTDIR/ca.crt OUTDIR/ca.key OUTDIR/server.crt OUTDIR/server.key
# The server certificate is valid for 127.0.0.1, ::1 and localhost (SANs;
# clients have rejected CN-only certificates since Go 1.15), for a day.
# Usage: mkcerts.sh OUTDIR
set -eu

if [ $# -ne 1 ]; then
	echo "usage: $0 OUTDIR" >&2
	exit 2
fi
out=$1
mkdir -p "$out"
command -v openssl >/dev/null 2>&1 || { echo "$0: openssl not found" >&2; exit 1; }

ext=$(mktemp "${TMPDIR:-/tmp}/mkcerts.XXXXXX")
trap 'rm -f "$ext"' EXIT INT TERM
cat >"$ext" <<'EOF'
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, IP:::1, DNS:localhost
EOF

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
	-keyout "$out/ca.key" -out "$out/ca.crt" -days 1 \
	-subj "/CN=twa test CA" \
	-addext "basicConstraints=critical,CA:TRUE" \
	-addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
	-keyout "$out/server.key" -out "$out/server.csr" \
	-subj "/CN=kube-apiserver" 2>/dev/null
openssl x509 -req -in "$out/server.csr" -CA "$out/ca.crt" -CAkey "$out/ca.key" \
	-CAcreateserial -out "$out/server.crt" -days 1 -extfile "$ext" 2>/dev/null
rm -f "$out/server.csr" "$out/ca.srl"
chmod 600 "$out/ca.key" "$out/server.key"
