#!/bin/sh
# Makes a CA and node certificates for dlt-node's mutual TLS on native links
# (--caf-tls-cert, --caf-tls-key, --caf-tls-ca). Needs only Debian's openssl.
#
#   make-certs.sh ca DIR                 DIR/ca.pem (give to every node) and
#                                        DIR/ca.key (keep it off the nodes)
#   make-certs.sh node DIR NAME [DAYS]   DIR/NAME.pem and DIR/NAME.key, signed
#                                        by DIR/ca.pem + DIR/ca.key; valid for
#                                        DAYS days (default 365)
#
# A node accepts exactly the peers whose certificate chains to its CA file:
# the CA is the list of members. Every node is both server and client, so
# node certificates allow both (extendedKeyUsage serverAuth, clientAuth).
# Keys are EC P-256, unencrypted (the node reads them unattended), mode 600.
set -eu

usage() {
  sed -n '4,9p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

[ $# -ge 2 ] || usage
cmd=$1
dir=$2
umask 077
mkdir -p "$dir"

case "$cmd" in
ca)
  [ ! -e "$dir/ca.key" ] || { echo "$dir/ca.key exists; not overwriting" >&2; exit 1; }
  openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$dir/ca.key" -out "$dir/ca.pem" -days 3650 -subj "/CN=dlt-node CA" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  chmod 644 "$dir/ca.pem"
  echo "$dir/ca.pem (every node: --caf-tls-ca), $dir/ca.key (keep safe)"
  ;;
node)
  [ $# -ge 3 ] || usage
  name=$3
  days=${4:-365}
  [ -r "$dir/ca.key" ] && [ -r "$dir/ca.pem" ] || { echo "no CA in $dir (make-certs.sh ca $dir)" >&2; exit 1; }
  ext=$(mktemp)
  trap 'rm -f "$ext" "$dir/$name.csr"' EXIT
  printf '%s\n' "basicConstraints=critical,CA:FALSE" \
    "keyUsage=critical,digitalSignature" \
    "extendedKeyUsage=serverAuth,clientAuth" > "$ext"
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$dir/$name.key" -out "$dir/$name.csr" -subj "/CN=$name" 2>/dev/null
  openssl x509 -req -in "$dir/$name.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" \
    -CAcreateserial -out "$dir/$name.pem" -days "$days" -extfile "$ext" 2>/dev/null
  chmod 644 "$dir/$name.pem"
  echo "$dir/$name.pem (--caf-tls-cert), $dir/$name.key (--caf-tls-key)"
  ;;
*)
  usage
  ;;
esac
