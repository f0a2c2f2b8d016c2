#!/usr/bin/env bash
# Installs nginx as the API gateway with the configuration in /etc/nginx/conf.d/infernus-gateway.conf.
# With ACME_DOMAIN set, Let's Encrypt issues the certificate (certbot's timer renews it); without,
# the private CA's certificate is already in place. A configuration nginx rejects is never loaded.
# The gateway's sysctls (TCP gives up on a silent tunnel in seconds) are applied first. nginx.conf
# and the unit's open-file limit are the step's own: a new limit restarts nginx (a reload would keep
# the master's old one), anything else reloads it and no stream is cut.
# With a LAN gateway at home and a domain, the edge keeps the certificate and its key in
# CERTIFICATE_BUNDLE for it (renewals too), and the LAN gateway's step fetches them with
# LAN_CERTIFICATE (infernus-lan-certificate) before nginx starts there, then daily.
#   usage: sudo CERTIFICATE=/etc/infernus/tls/gateway.crt CERTIFICATE_KEY=/etc/infernus/tls/gateway.key \
#            AUDIT_LOG=/var/log/infernus/gateway-audit.log SYSCTL=/etc/sysctl.d/60-infernus-gateway.conf \
#            UNIT_LIMITS=/etc/systemd/system/nginx.service.d/infernus-limits.conf \
#            [ACME_DOMAIN=… ACME_EMAIL=… ACME_WEBROOT=… [CERTIFICATE_BUNDLE=…]] [LAN_CERTIFICATE=…] ./nginx.sh
set -Eeuo pipefail
# shellcheck source=assets/lib.sh
[[ -v INFERNUS_LIB ]] || source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
: "${CERTIFICATE:?} ${CERTIFICATE_KEY:?} ${AUDIT_LOG:?} ${SYSCTL:?} ${UNIT_LIMITS:?}"
ACME_DOMAIN=${ACME_DOMAIN:-} CERTIFICATE_BUNDLE=${CERTIFICATE_BUNDLE:-} LAN_CERTIFICATE=${LAN_CERTIFICATE:-}
need_root

# Not started on install: nginx -t checks the step's configuration first (reload_nginx).
apt_install --no-start nginx libnginx-mod-http-js
sysctl -q -p "$INFERNUS_ROOT$SYSCTL"
# The distribution's welcome page listens on port 80 for every name.
rm -f "$INFERNUS_ROOT/etc/nginx/sites-enabled/default"
mkdir -p "$INFERNUS_ROOT$(dirname "$AUDIT_LOG")"

restart_needed=0
if changed "$UNIT_LIMITS"; then
  systemctl daemon-reload
  restart_needed=1
fi

reload_nginx() {
  local check
  if ! check=$(nginx -t 2>&1); then
    refuse "nginx rejected the gateway configuration, so the running one stays: ${check//$'\n'/ }"
  fi
  systemctl enable --quiet nginx
  if ((restart_needed)); then
    systemctl restart nginx
    restart_needed=0
  else
    systemctl reload-or-restart nginx
  fi
}

# share_certificate LINEAGE: the certificate and its key in one file nginx's workers may read, for
# the LAN gateway (written only when it differs).
share_certificate() {
  local bundle=$INFERNUS_ROOT$CERTIFICATE_BUNDLE
  if ! cmp -s <(cat "$1/fullchain.pem" "$1/privkey.pem") "$bundle"; then
    install -m 0640 -g www-data /dev/null "$bundle.tmp"
    cat "$1/fullchain.pem" "$1/privkey.pem" >"$bundle.tmp"
    mv "$bundle.tmp" "$bundle"
  fi
}

if [[ -n $LAN_CERTIFICATE ]]; then
  # The domain's certificate from the edge: nginx cannot start here without one.
  apt_install curl openssl
  systemctl daemon-reload
  "$INFERNUS_ROOT$LAN_CERTIFICATE" || refuse "the LAN gateway has no certificate for the domain yet (see above)"
  systemctl enable --quiet --now infernus-lan-certificate.timer
fi

if [[ -n $ACME_DOMAIN ]]; then
  : "${ACME_EMAIL:?ACME_EMAIL is needed with ACME_DOMAIN} ${ACME_WEBROOT:?}"
  apt_install certbot openssl
  mkdir -p "$INFERNUS_ROOT$ACME_WEBROOT" "$INFERNUS_ROOT$(dirname "$CERTIFICATE")"
  live=$INFERNUS_ROOT/etc/letsencrypt/live/$ACME_DOMAIN
  if [[ -f $live/fullchain.pem ]]; then
    install -m 0644 "$live/fullchain.pem" "$INFERNUS_ROOT$CERTIFICATE"
    install -m 0600 "$live/privkey.pem" "$INFERNUS_ROOT$CERTIFICATE_KEY"
  elif [[ ! -f $INFERNUS_ROOT$CERTIFICATE ]]; then
    # nginx must serve the challenge before the first certificate exists: a throwaway one until then.
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=$ACME_DOMAIN" \
      -keyout "$INFERNUS_ROOT$CERTIFICATE_KEY" -out "$INFERNUS_ROOT$CERTIFICATE" 2>/dev/null
    chmod 600 "$INFERNUS_ROOT$CERTIFICATE_KEY"
  fi
  [[ -z $CERTIFICATE_BUNDLE || ! -f $live/fullchain.pem ]] || share_certificate "$live"
  reload_nginx
  # The deploy hook is stored with the certificate: renewals by certbot.timer install and reload too.
  hook="install -m 0644 \"\$RENEWED_LINEAGE/fullchain.pem\" $CERTIFICATE && install -m 0600 \"\$RENEWED_LINEAGE/privkey.pem\" $CERTIFICATE_KEY"
  [[ -z $CERTIFICATE_BUNDLE ]] || hook+=" && install -m 0640 -g www-data /dev/null $CERTIFICATE_BUNDLE.tmp && cat \"\$RENEWED_LINEAGE/fullchain.pem\" \"\$RENEWED_LINEAGE/privkey.pem\" >$CERTIFICATE_BUNDLE.tmp && mv $CERTIFICATE_BUNDLE.tmp $CERTIFICATE_BUNDLE"
  hook+=" && systemctl reload nginx"
  if ! certbot certonly --webroot -w "$ACME_WEBROOT" -d "$ACME_DOMAIN" -m "$ACME_EMAIL" --agree-tos -n \
    --keep-until-expiring --deploy-hook "$hook"; then
    refuse "Let's Encrypt issued no certificate for $ACME_DOMAIN: its DNS A record must point at this edge and port 80 must be open; the gateway keeps a temporary certificate until then"
  fi
  systemctl enable --quiet --now certbot.timer
fi

reload_nginx
log "gateway serving with $(grep -c '^"Bearer ' "$INFERNUS_ROOT/etc/nginx/infernus/api-keys.map" || true) API key(s)"
