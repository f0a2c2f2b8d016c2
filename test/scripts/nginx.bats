#!/usr/bin/env bats
# assets/gateway/nginx.sh against stubbed apt, nginx, certbot, openssl and systemd.
# shellcheck disable=SC2016 # stub bodies are single-quoted: they expand when the stub runs

setup() {
  load stubs
  setup_stubs
  export CERTIFICATE=/etc/infernus/tls/gateway.crt CERTIFICATE_KEY=/etc/infernus/tls/gateway.key AUDIT_LOG=/var/log/infernus/gateway-audit.log ACME_WEBROOT=/var/www/infernus-acme SYSCTL=/etc/sysctl.d/60-infernus-gateway.conf UNIT_LIMITS=/etc/systemd/system/nginx.service.d/infernus-limits.conf
  stub dpkg-query 'echo "install ok installed"'
  stub apt-get
  stub systemctl
  stub sysctl
  stub nginx '[[ ${NGINX_OK:-1} == 1 ]] || { echo "nginx: [emerg] unknown directive \"bogus\"" >&2; exit 1; }'
  stub certbot
  stub openssl 'while [[ $# -gt 0 ]]; do case $1 in -keyout|-out) touch "$2"; shift ;; esac; shift; done'
  put /etc/nginx/sites-enabled/default "server { listen 80 default_server; }"
  put /etc/nginx/infernus/api-keys.map $'"Bearer a" ide;\n"Bearer b" n8n;\n'
}

script=$BATS_TEST_DIRNAME/../../assets/gateway/nginx.sh

@test "loads a configuration nginx accepts, without the distribution's default site" {
  run bash "$script"
  [ "$status" -eq 0 ]
  called "nginx -t"
  called "systemctl reload-or-restart nginx"
  called "sysctl -q -p $INFERNUS_ROOT/etc/sysctl.d/60-infernus-gateway.conf"
  [ ! -e "$INFERNUS_ROOT/etc/nginx/sites-enabled/default" ]
  [ -d "$INFERNUS_ROOT/var/log/infernus" ]
  [[ $output == *"gateway serving with 2 API key(s)"* ]]
  not_called certbot
}

@test "installs nginx unstarted, so that nginx -t checks the step's configuration first (found on a booted bare Debian)" {
  # nginx's postinst would start nginx on the step's configuration, already in place and not yet
  # checked: the install itself failed. policy-rc.d says no for the install, and only then.
  stub dpkg-query 'exit 1'
  stub apt-get '[[ $* != *" nginx"* ]] || { "$INFERNUS_ROOT/usr/sbin/policy-rc.d"; echo "policy-rc.d: $?" >>"$CALLS"; }'
  mkdir -p "$INFERNUS_ROOT/usr/sbin"
  run bash "$script"
  [ "$status" -eq 0 ]
  called "policy-rc.d: 101"
  [ ! -e "$INFERNUS_ROOT/usr/sbin/policy-rc.d" ]
  installed=$(grep -n ' install .* nginx$' "$CALLS" | cut -d: -f1)
  checked=$(grep -n '^nginx -t' "$CALLS" | cut -d: -f1)
  started=$(grep -n '^systemctl reload-or-restart nginx' "$CALLS" | cut -d: -f1)
  ((installed < checked && checked < started))
}

@test "a new open-file limit for nginx's unit restarts it, after systemd reads the unit again; the same limit only reloads" {
  run_step "$script" "$UNIT_LIMITS=[Service]
LimitNOFILE=8704"
  [ "$status" -eq 0 ]
  daemon_reload=$(grep -n '^systemctl daemon-reload' "$CALLS" | cut -d: -f1)
  restarted=$(grep -n '^systemctl restart nginx' "$CALLS" | cut -d: -f1)
  ((daemon_reload < restarted))
  not_called "reload-or-restart"
  : >"$CALLS"
  run_step "$script" "$UNIT_LIMITS=[Service]
LimitNOFILE=8704"
  [ "$status" -eq 0 ]
  called "systemctl reload-or-restart nginx"
  not_called "daemon-reload"
  not_called "systemctl restart"
}

@test "keeps the running configuration when nginx rejects the new one" {
  NGINX_OK=0 run bash "$script"
  [ "$status" -eq 1 ]
  [[ $output == *'refused: nginx rejected the gateway configuration, so the running one stays: nginx: [emerg] unknown directive "bogus"'* ]]
  not_called reload-or-restart
}

@test "with a domain: a throwaway certificate first, then Let's Encrypt with a deploy hook" {
  ACME_DOMAIN=llm.example.net ACME_EMAIL=k@example.net run bash "$script"
  [ "$status" -eq 0 ]
  [ -e "$INFERNUS_ROOT$CERTIFICATE" ]
  grep -q "^openssl req -x509" "$CALLS"
  grep -q "^certbot certonly --webroot -w /var/www/infernus-acme -d llm.example.net -m k@example.net --agree-tos -n --keep-until-expiring --deploy-hook install -m 0644 \"\$RENEWED_LINEAGE/fullchain.pem\" $CERTIFICATE" "$CALLS"
  called "systemctl enable --quiet --now certbot.timer"
}

@test "with a domain already certified: the live certificate is installed, no throwaway" {
  put /etc/letsencrypt/live/llm.example.net/fullchain.pem "chain"
  put /etc/letsencrypt/live/llm.example.net/privkey.pem "key"
  ACME_DOMAIN=llm.example.net ACME_EMAIL=k@example.net run bash "$script"
  [ "$status" -eq 0 ]
  [ "$(cat "$INFERNUS_ROOT$CERTIFICATE")" = chain ]
  not_called "openssl req"
}

@test "says why when Let's Encrypt issues nothing" {
  stub certbot 'exit 1'
  ACME_DOMAIN=llm.example.net ACME_EMAIL=k@example.net run bash "$script"
  [ "$status" -eq 1 ]
  [[ $output == *"Let's Encrypt issued no certificate for llm.example.net: its DNS A record must point at this edge and port 80 must be open"* ]]
}

@test "with a domain and a LAN gateway: the certificate and its key are kept for it, readable by nginx's workers, and renewals keep them too" {
  put /etc/letsencrypt/live/llm.example.net/fullchain.pem "chain"
  put /etc/letsencrypt/live/llm.example.net/privkey.pem "key"
  bundle=/etc/nginx/infernus/lan-certificate.pem
  ACME_DOMAIN=llm.example.net ACME_EMAIL=k@example.net CERTIFICATE_BUNDLE=$bundle run bash "$script"
  [ "$status" -eq 0 ]
  [ "$(cat "$INFERNUS_ROOT$bundle")" = chainkey ]
  [ "$(stat -c '%a %G' "$INFERNUS_ROOT$bundle")" = "640 www-data" ]
  grep -q "^certbot certonly .* --deploy-hook .* && install -m 0640 -g www-data /dev/null $bundle.tmp && cat \"\$RENEWED_LINEAGE/fullchain.pem\" \"\$RENEWED_LINEAGE/privkey.pem\" >$bundle.tmp && mv $bundle.tmp $bundle && systemctl reload nginx$" "$CALLS"
}

@test "the LAN gateway fetches the domain's certificate before nginx checks its configuration, then daily; without one it refuses" {
  put /usr/local/sbin/infernus-lan-certificate $'#!/bin/sh\necho "infernus-lan-certificate" >>"$CALLS"\nexit "${FETCH_STATUS:-0}"\n'
  chmod +x "$INFERNUS_ROOT/usr/local/sbin/infernus-lan-certificate"
  LAN_CERTIFICATE=/usr/local/sbin/infernus-lan-certificate run bash "$script"
  [ "$status" -eq 0 ]
  fetched=$(grep -n '^infernus-lan-certificate$' "$CALLS" | cut -d: -f1)
  checked=$(grep -n '^nginx -t' "$CALLS" | cut -d: -f1)
  ((fetched < checked))
  called "systemctl enable --quiet --now infernus-lan-certificate.timer"
  not_called certbot
  : >"$CALLS"
  FETCH_STATUS=1 LAN_CERTIFICATE=/usr/local/sbin/infernus-lan-certificate run bash "$script"
  [ "$status" -eq 1 ]
  [[ $output == *"refused: the LAN gateway has no certificate for the domain yet"* ]]
  not_called "nginx -t"
}