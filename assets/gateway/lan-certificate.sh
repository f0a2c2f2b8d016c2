#!/usr/bin/env bash
# infernus-lan-certificate: brings the edge's Let's Encrypt certificate for the domain, and its key,
# to the LAN gateway over the tunnel, so that the domain's URL works at home too (the home router's
# DNS answers the domain with the LAN gateway's address) with a certificate every client trusts.
# Installs them only when they differ, are valid, name the domain and belong together, then
# reloads nginx. Run by the LAN gateway step and daily by its timer (certbot renews 30 days before
# expiry); when the edge cannot be reached (the internet is down) the certificate in place stays.
# Reads /etc/infernus/lan-certificate.conf: DOMAIN PORT EDGE CERTIFICATE CERTIFICATE_KEY [CA_FILE].
#   usage: sudo infernus-lan-certificate
set -euo pipefail
root=${INFERNUS_ROOT:-}
conf=$root/etc/infernus/lan-certificate.conf
say() { printf 'infernus-lan-certificate: %s\n' "$*"; }
refuse() {
  printf 'infernus-lan-certificate: refused: %s\n' "$*" >&2
  exit 1
}
[[ -r $conf ]] || refuse "$conf is missing; it is written by 'pulumi up' (the lan-gateway step)"
DOMAIN='' PORT='' EDGE='' CERTIFICATE='' CERTIFICATE_KEY='' CA_FILE=''
# shellcheck source=/dev/null
. "$conf"
for key in DOMAIN PORT EDGE CERTIFICATE CERTIFICATE_KEY; do
  [[ -n ${!key} ]] || refuse "$conf sets no $key; run 'pulumi up' again"
done
cert=$root$CERTIFICATE key=$root$CERTIFICATE_KEY

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
chmod 700 "$scratch"
# The edge's own certificate answers for the domain at its tunnel address: curl checks it as any client would.
trust=()
[[ -z $CA_FILE ]] || trust=(--cacert "$root$CA_FILE")
url=https://$DOMAIN:$PORT/infernus/lan-certificate
if ! curl -fsS --max-time 30 "${trust[@]}" --resolve "$DOMAIN:$PORT:$EDGE" -o "$scratch/bundle" "$url" 2>"$scratch/error"; then
  if [[ -s $cert ]]; then
    say "the edge ($EDGE over the tunnel) did not answer ($(head -c 200 "$scratch/error")); the certificate in place stays, valid until $(openssl x509 -enddate -noout -in "$cert" | cut -d= -f2)"
    exit 0
  fi
  refuse "the edge ($EDGE over the tunnel) gave no certificate for $DOMAIN ($(head -c 200 "$scratch/error")): the tunnel must be up and the edge's gateway step done; run 'pulumi up' again"
fi

# The bundle is the chain, then the key.
awk -v certs="$scratch/cert.pem" -v key="$scratch/key.pem" '
  /^-----BEGIN .*PRIVATE KEY-----$/ { out = key }
  /^-----BEGIN CERTIFICATE-----$/ { out = certs }
  out != "" { print > out }
  /^-----END / { out = "" }
' "$scratch/bundle"
[[ -s $scratch/cert.pem && -s $scratch/key.pem ]] || refuse "the edge's answer at $url holds no certificate and key; on the edge: ls -l /etc/nginx/infernus/"
openssl x509 -checkend 0 -noout -in "$scratch/cert.pem" >/dev/null || refuse "the edge's certificate for $DOMAIN has expired; on the edge: certbot renew"
openssl x509 -noout -checkhost "$DOMAIN" -in "$scratch/cert.pem" | grep -q 'does match' || refuse "the edge's certificate does not name $DOMAIN; on the edge: certbot certificates"
cmp -s <(openssl x509 -pubkey -noout -in "$scratch/cert.pem") <(openssl pkey -pubout -in "$scratch/key.pem" 2>/dev/null) ||
  refuse "the edge's certificate and key for $DOMAIN do not belong together; on the edge: certbot renew --force-renewal"

if cmp -s "$scratch/cert.pem" "$cert" && cmp -s "$scratch/key.pem" "$key"; then
  exit 0
fi
mkdir -p "$(dirname "$cert")" "$(dirname "$key")"
install -m 0644 "$scratch/cert.pem" "$cert"
install -m 0600 "$scratch/key.pem" "$key"
say "installed the certificate for $DOMAIN, valid until $(openssl x509 -enddate -noout -in "$cert" | cut -d= -f2)"
if systemctl is-active --quiet nginx; then systemctl reload nginx; fi
