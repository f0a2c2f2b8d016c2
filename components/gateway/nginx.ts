/**
 * The gateway's nginx configuration: TLS, one API key per user with its own rate limit, only the
 * OpenAI-compatible paths, unbuffered streaming, fast failure when no model server answers, and
 * a JSON audit log that names the user, never the key. Pure: the same input gives the same bytes.
 */
import type { ApiKeyConfig, GatewayConfig } from "../config/schema";
import { HEADER } from "../header";

/**
 * The OpenAI-compatible paths the gateway forwards; everything else is 404. llama-swap routes each
 * by the body's `model` (its modelPostJSONRoutes: chat, completions, responses, embeddings, rerank).
 */
export const FORWARDED_PATHS = ["/v1/chat/completions", "/v1/completions", "/v1/responses", "/v1/embeddings", "/v1/rerank", "/v1/models"] as const;

export const GATEWAY_PATHS = {
  main: "/etc/nginx/nginx.conf",
  unitLimits: "/etc/systemd/system/nginx.service.d/infernus-limits.conf",
  config: "/etc/nginx/conf.d/infernus-gateway.conf",
  keys: "/etc/nginx/infernus/api-keys.map",
  /** The njs body filter that reads each response's model and token counts for the audit log. */
  usageScript: "/etc/nginx/infernus/usage.js",
  upstreamAuth: "/etc/nginx/infernus/upstream-auth.conf",
  certificate: "/etc/infernus/tls/gateway.crt",
  certificateKey: "/etc/infernus/tls/gateway.key",
  caCertificate: "/etc/infernus/tls/ca.crt",
  auditLog: "/var/log/infernus/gateway-audit.log",
  logrotate: "/etc/logrotate.d/infernus-gateway",
  sysctl: "/etc/sysctl.d/60-infernus-gateway.conf",
  acmeWebroot: "/var/www/infernus-acme",
  /** With a domain and a LAN gateway: the edge's certificate and key in one file, for the LAN gateway to fetch. */
  certificateBundle: "/etc/nginx/infernus/lan-certificate.pem",
  /** On the LAN gateway: where infernus-lan-certificate fetches that bundle from. */
  lanCertificateConf: "/etc/infernus/lan-certificate.conf",
  lanCertificateScript: "/usr/local/sbin/infernus-lan-certificate",
  lanCertificateService: "/etc/systemd/system/infernus-lan-certificate.service",
  lanCertificateTimer: "/etc/systemd/system/infernus-lan-certificate.timer",
} as const;

/** The edge's port, open to the tunnel only, where the LAN gateway fetches the domain's certificate. */
export const CERTIFICATE_SHARE_PORT = 8444;
/** The path it is served at. */
export const CERTIFICATE_SHARE_PATH = "/infernus/lan-certificate";

/**
 * An app's webhooks from the internet: requests below `/hooks/<app>/<path>/` go to the app on the
 * tunnel as `/<path>/…`, limited together; nothing else of the app is reachable.
 */
export interface WebhookRoute {
  /** The app's name: its public prefix and its rate-limit zone. */
  readonly app: string;
  /** The app's own paths that take webhooks (n8n's webhook, webhook-test, webhook-waiting). */
  readonly paths: readonly string[];
  /** `address:port` of the app on the tunnel. */
  readonly upstream: string;
  readonly requestsPerMinute: number;
  readonly burst: number;
}

/** The public prefix of an app's webhooks. */
export const webhookPrefix = (app: string) => `/hooks/${app}/`;

export interface GatewayView {
  readonly gateway: GatewayConfig;
  readonly apiKeys: readonly ApiKeyConfig[];
  /** Apps that take webhooks from the internet (the edge's gateway only). */
  readonly webhooks?: readonly WebhookRoute[];
  /** `address:port` of each model server, in config order: the first is preferred. */
  readonly upstreams: readonly string[];
  /** The domain when Let's Encrypt serves the certificate (port 80 then answers its challenge). */
  readonly acmeDomain?: string;
  /** The one address it listens on (the LAN gateway's); every address when absent. */
  readonly listen?: string;
  /** With a domain: the LAN gateway's tunnel address, the one peer that may fetch the certificate and its key. */
  readonly shareCertificateWith?: string;
  /** Where files live; tests point them into a scratch folder. */
  readonly paths?: typeof GATEWAY_PATHS;
}

/**
 * What the gateway holds at once, and the limits that follow. Each stream is two connections (the
 * client's and the upstream's) and a connection is a file; nginx does not spread connections
 * evenly over its workers, so each worker may take all of them. Idle upstream connections are kept
 * for one in eight streams: a burst after a quiet spell does not pay a handshake over the tunnel
 * for most requests, and llama-swap is not left holding thousands of idle sockets.
 */
export function gatewayLimits(gateway: GatewayConfig) {
  const workerConnections = 2 * gateway.maxStreams + 256;
  return {
    workerConnections,
    openFiles: 2 * workerConnections,
    // Linux's default backlog for nginx is 511: a thousand clients connecting at once overflow it.
    backlog: Math.max(511, gateway.maxStreams),
    upstreamKeepalive: Math.min(1024, Math.max(16, Math.ceil(gateway.maxStreams / 8))),
  };
}

/**
 * TLS as Mozilla's intermediate profile has it (Server Side TLS guideline 5.7, ssl-config.mozilla.org):
 * TLS 1.2 and 1.3, AEAD suites with forward secrecy only. Its DHE suites are left out: nginx uses
 * none without ssl_dhparam, and the certificates here are ECDSA. Session tickets are off: their key
 * never rotates while nginx runs, which would undo forward secrecy.
 */
const TLS_POLICY = [
  "    ssl_protocols TLSv1.2 TLSv1.3;",
  "    ssl_ecdh_curve X25519:prime256v1:secp384r1;",
  "    ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305;",
  "    ssl_prefer_server_ciphers off;",
  "    ssl_session_timeout 1d;",
  "    ssl_session_cache shared:infernus_tls:10m;",
  "    ssl_session_tickets off;",
];

/** Two years, Mozilla's value. nginx drops a server's add_header in any block with its own, so each repeats it. */
const HSTS = 'add_header Strict-Transport-Security "max-age=63072000" always;';

/**
 * The main nginx configuration, in place of the distribution's (its 768 connections per worker and
 * 1,024 open files hold about 384 streams; its TLS line still allows 1.0 and 1.1). Workers: one per
 * core. A reload lets old workers finish their streams, for at most a generation's time.
 */
export function renderNginxMain(gateway: GatewayConfig): string {
  const limits = gatewayLimits(gateway);
  return [
    HEADER,
    "user www-data;",
    "worker_processes auto;",
    `worker_rlimit_nofile ${limits.openFiles};`,
    `worker_shutdown_timeout ${gateway.generationTimeoutSeconds}s;`,
    "pid /run/nginx.pid;",
    "error_log /var/log/nginx/error.log;",
    "include /etc/nginx/modules-enabled/*.conf;",
    "",
    "events {",
    `    worker_connections ${limits.workerConnections};`,
    "}",
    "",
    "http {",
    "    include /etc/nginx/mime.types;",
    "    default_type application/octet-stream;",
    "    server_tokens off;",
    "    access_log /var/log/nginx/access.log;",
    "    # The machine's TLS policy: the gateway's, and any other site's on a machine the user already had.",
    ...TLS_POLICY,
    "    include /etc/nginx/conf.d/*.conf;",
    "    include /etc/nginx/sites-enabled/*;",
    "}",
    "",
  ].join("\n");
}

/** nginx's unit: the master's own open-file limit, as high as its workers'. */
export function renderNginxUnitLimits(gateway: GatewayConfig): string {
  return [HEADER, "[Service]", `LimitNOFILE=${gatewayLimits(gateway).openFiles}`, ""].join("\n");
}

/**
 * One audit line, JSON: who asked (the key's user, never the key), what, the answer, and the model
 * and tokens of it. The order is fixed: infernus-metrics (assets/monitoring/metrics.sh) reads the line by it.
 */
export const AUDIT_FIELDS = [
  '"time":"$time_iso8601"',
  '"client":"$infernus_client"',
  '"method":"$request_method"',
  '"path":"$uri"',
  '"status":$status',
  '"model":"$infernus_model"',
  '"prompt_tokens":$infernus_prompt_tokens',
  '"completion_tokens":$infernus_completion_tokens',
  '"request_bytes":$request_length',
  '"response_bytes":$bytes_sent',
  '"request_time":$request_time',
  '"upstream_time":"$upstream_response_time"',
  '"upstream":"$upstream_addr"',
].join(",");

function openAiError(message: string, type: string, code: string): string {
  // nginx single-quoted string: the JSON holds no single quote.
  return `'${JSON.stringify({ error: { message, type, param: null, code } })}'`;
}

function zone(key: ApiKeyConfig): string {
  return `infernus_${key.name.replace(/-/g, "_")}`;
}

const hooksZone = (route: WebhookRoute) => `infernus_hooks_${route.app.replace(/-/g, "_")}`;

/**
 * An app's webhook location. Its own limit_req replaces the keys' (nginx inherits them only into a
 * location with none); every sender counts in one zone, which keeps a flood off the home link.
 */
function webhookLocation(route: WebhookRoute, gateway: GatewayConfig): string[] {
  const prefix = webhookPrefix(route.app);
  return [
    `    # ${route.app}'s webhooks from the internet; nothing else of ${route.app} is reachable here.`,
    `    location ~ ^${prefix}(${route.paths.join("|")})/ {`,
    `        limit_req zone=${hooksZone(route)} burst=${route.burst} nodelay;`,
    `        rewrite ^${prefix.slice(0, -1)}(/.*)$ $1 break;`,
    `        proxy_pass http://${route.upstream};`,
    "        proxy_http_version 1.1;",
    '        proxy_set_header Connection "";',
    "        proxy_set_header Host $host;",
    "        proxy_set_header X-Forwarded-For $remote_addr;",
    "        proxy_set_header X-Forwarded-Proto https;",
    "        proxy_connect_timeout 800ms;",
    `        proxy_read_timeout ${gateway.generationTimeoutSeconds}s;`,
    "    }",
    "",
  ];
}

export function renderGatewayConfig(view: GatewayView): string {
  const paths = view.paths ?? GATEWAY_PATHS;
  const { gateway, apiKeys } = view;
  const forwarded = FORWARDED_PATHS.map((p) => p.slice("/v1/".length)).join("|");
  const limits = gatewayLimits(gateway);
  const lines = [
    HEADER,
    "",
    "# The user a request's key belongs to; empty when the key is missing or unknown.",
    "# Keys are long: the default bucket (64 bytes) cannot hash them.",
    "map_hash_bucket_size 128;",
    "map $http_authorization $infernus_client {",
    '    default "";',
    `    include ${paths.keys};`,
    "}",
    "",
    "# One rate-limit zone per key: a request counts only in its own key's zone.",
    ...apiKeys.flatMap((key) => [
      `map $infernus_client $${zone(key)} {`,
      `    ${key.name} ${key.name};`,
      '    default "";',
      "}",
      `limit_req_zone $${zone(key)} zone=${zone(key)}:1m rate=${key.requestsPerMinute}r/m;`,
    ]),
    "",
    ...(view.webhooks ?? []).flatMap((route) => [
      `# ${route.app}'s webhooks, all senders together.`,
      `limit_req_zone "${route.app}" zone=${hooksZone(route)}:1m rate=${route.requestsPerMinute}r/m;`,
    ]),
    "",
    "# Seconds until the key's next request is allowed, for Retry-After on 429.",
    "map $infernus_client $infernus_retry_after {",
    ...apiKeys.map((key) => `    ${key.name} ${Math.ceil(60 / key.requestsPerMinute)};`),
    "    default 60;",
    "}",
    "",
    "# The model and the tokens vLLM counted, read from each response by njs (usage.js); null when it told none.",
    `js_import infernus_usage from ${paths.usageScript};`,
    "js_var $infernus_model;",
    "js_var $infernus_prompt_tokens null;",
    "js_var $infernus_completion_tokens null;",
    `log_format infernus_audit escape=json '{${AUDIT_FIELDS}}';`,
    "",
    "upstream infernus_models {",
    ...(view.upstreams.length > 0
      ? view.upstreams.map((u) => `    server ${u} max_fails=1 fail_timeout=5s;`)
      : ["    # No model server is declared yet: every request gets the 503 below.", "    server 127.0.0.1:9 down;"]),
    `    keepalive ${limits.upstreamKeepalive};`,
    "}",
    "",
    ...(view.acmeDomain
      ? [
          "# Let's Encrypt's HTTP-01 challenge; everything else moves to HTTPS.",
          "server {",
          "    listen 80;",
          "    listen [::]:80;",
          `    server_name ${view.acmeDomain};`,
          "    server_tokens off;",
          `    location /.well-known/acme-challenge/ { root ${paths.acmeWebroot}; }`,
          "    location / { return 301 https://$host$request_uri; }",
          "}",
          "",
        ]
      : []),
    ...(view.acmeDomain && view.shareCertificateWith ? certificateShare(view.acmeDomain, view.shareCertificateWith, paths) : []),
    "server {",
    ...(view.listen
      ? [`    listen ${view.listen}:${gateway.port} ssl http2 backlog=${limits.backlog};`]
      : [`    listen ${gateway.port} ssl http2 backlog=${limits.backlog};`, `    listen [::]:${gateway.port} ssl http2 backlog=${limits.backlog};`]),
    `    server_name ${view.acmeDomain ?? "_"};`,
    "    server_tokens off;",
    `    ssl_certificate ${paths.certificate};`,
    `    ssl_certificate_key ${paths.certificateKey};`,
    `    ${HSTS}`,
    "",
    `    access_log ${paths.auditLog} infernus_audit;`,
    "    default_type application/json;",
    `    client_max_body_size ${gateway.maxRequestMiB}m;`,
    "    # A body stays in memory (only as much as it is), where usage.js can see whether it asked for usage.",
    `    client_body_buffer_size ${gateway.maxRequestMiB}m;`,
    "",
    "    limit_req_status 429;",
    ...apiKeys.map((key) => `    limit_req zone=${zone(key)} burst=${key.burst} nodelay;`),
    "    error_page 429 = @rate_limited;",
    "    error_page 502 503 504 = @unavailable;",
    "",
    "    location = /healthz {",
    "        access_log off;",
    `        return 200 '{"status":"ok"}';`,
    "    }",
    "",
    `    location ~ ^/v1/(${forwarded})(/[^/]+)?$ {`,
    "        if ($infernus_client = \"\") {",
    '            add_header WWW-Authenticate "Bearer" always;',
    `            ${HSTS}`,
    `            return 401 ${openAiError("Missing or unknown API key: send Authorization: Bearer <key>.", "invalid_request_error", "invalid_api_key")};`,
    "        }",
    "        js_body_filter infernus_usage.filter buffer_type=buffer;",
    "        proxy_pass http://infernus_models;",
    "        proxy_http_version 1.1;",
    '        proxy_set_header Connection "";',
    "        proxy_set_header Host $host;",
    "        # The user's key stops here: the model servers get the gateway's own key, and who asks.",
    `        include ${paths.upstreamAuth};`,
    "        proxy_set_header X-Infernus-Client $infernus_client;",
    "        proxy_set_header X-Forwarded-For $remote_addr;",
    "        # Server-sent events go out as the model writes them.",
    "        proxy_buffering off;",
    "        proxy_cache off;",
    "        gzip off;",
    "        # A dead server (a power cut drops packets) fails within a second and the next one is",
    "        # tried; a live one may generate for long. 800 ms is many round trips to Thailand.",
    "        proxy_connect_timeout 800ms;",
    "        proxy_next_upstream error timeout http_502 http_503;",
    "        proxy_next_upstream_tries 2;",
    `        proxy_read_timeout ${gateway.generationTimeoutSeconds}s;`,
    `        proxy_send_timeout ${gateway.generationTimeoutSeconds}s;`,
    "        # A tunnel that goes silent under a kept connection is noticed by TCP (the gateway's",
    "        # sysctls), not after the generation timeout.",
    "        proxy_socket_keepalive on;",
    "    }",
    "",
    ...(view.webhooks ?? []).flatMap((route) => webhookLocation(route, gateway)),
    "    location / {",
    `        return 404 ${openAiError("Not found: the gateway serves only the OpenAI-compatible /v1 API.", "invalid_request_error", "not_found")};`,
    "    }",
    "",
    "    location @rate_limited {",
    "        add_header Retry-After $infernus_retry_after always;",
    `        ${HSTS}`,
    `        return 429 ${openAiError("Rate limit reached for this API key; retry after the Retry-After seconds.", "rate_limit_error", "rate_limit_exceeded")};`,
    "    }",
    "",
    "    location @unavailable {",
    "        add_header Retry-After 5 always;",
    `        ${HSTS}`,
    `        return 503 ${openAiError("No model server is reachable right now; retry shortly.", "server_error", "backend_unavailable")};`,
    "    }",
    "}",
    "",
  ];
  return lines.join("\n");
}

/**
 * The LAN gateway answers for the same domain at home (split horizon), with the same certificate:
 * it fetches the certificate and its key here, over the tunnel. Every address is bound, so nginx
 * starts before WireGuard at boot; the firewall opens the port to the tunnel only, and nginx lets
 * the LAN gateway's tunnel address alone in (WireGuard vouches for a peer's source address).
 */
function certificateShare(domain: string, peer: string, paths: typeof GATEWAY_PATHS): string[] {
  return [
    "# The certificate and its key, for the LAN gateway at home alone (infernus-lan-certificate).",
    "server {",
    `    listen ${CERTIFICATE_SHARE_PORT} ssl;`,
    `    server_name ${domain};`,
    "    server_tokens off;",
    `    ssl_certificate ${paths.certificate};`,
    `    ssl_certificate_key ${paths.certificateKey};`,
    `    allow ${peer};`,
    "    deny all;",
    `    location = ${CERTIFICATE_SHARE_PATH} {`,
    "        default_type application/x-pem-file;",
    `        alias ${paths.certificateBundle};`,
    "    }",
    "    location / { return 404; }",
    "}",
    "",
  ];
}

/** What infernus-lan-certificate reads: where the edge serves the domain's certificate, and where it goes here. */
export function renderLanCertificateConf(domain: string, edgeTunnelAddress: string, paths = GATEWAY_PATHS): string {
  return [
    HEADER,
    `DOMAIN='${domain}'`,
    `PORT='${CERTIFICATE_SHARE_PORT}'`,
    `EDGE='${edgeTunnelAddress}'`,
    `CERTIFICATE='${paths.certificate}'`,
    `CERTIFICATE_KEY='${paths.certificateKey}'`,
    "",
  ].join("\n");
}

/** Its units: daily (certbot renews a month before expiry, so a week offline loses nothing), and soon after boot. */
export function renderLanCertificateUnits(paths = GATEWAY_PATHS): { service: string; timer: string } {
  return {
    service: [HEADER, "[Unit]", "Description=infernus: the domain's certificate from the edge, for the LAN gateway", "Wants=network-online.target", "After=network-online.target", "", "[Service]", "Type=oneshot", `ExecStart=${paths.lanCertificateScript}`, ""].join("\n"),
    timer: [HEADER, "[Unit]", "Description=infernus: the LAN gateway's certificate, daily", "", "[Timer]", "OnBootSec=5min", "OnCalendar=daily", "RandomizedDelaySec=1h", "Persistent=true", "", "[Install]", "WantedBy=timers.target", ""].join("\n"),
  };
}

/** The map entries from `Authorization` header to user name. Secret: it holds every key. */
export function renderApiKeyMap(keys: readonly { name: string; key: string }[]): string {
  return [HEADER, ...keys.map(({ name, key }) => `"Bearer ${key}" ${name};`), ""].join("\n");
}

export function renderAuditLogrotate(paths = GATEWAY_PATHS): string {
  return [
    HEADER,
    `${paths.auditLog} {`,
    "    daily",
    "    rotate 30",
    "    missingok",
    "    notifempty",
    "    compress",
    "    delaycompress",
    "    create 0640 www-data adm",
    "    sharedscripts",
    "    postrotate",
    "        invoke-rc.d nginx rotate >/dev/null 2>&1 || true",
    "    endscript",
    "}",
    "",
  ].join("\n");
}

/** The gateway's own key for the model servers (llama-swap's apiKeys). Secret. */
export function renderUpstreamAuth(key: string): string {
  return [HEADER, `proxy_set_header Authorization "Bearer ${key}";`, ""].join("\n");
}

/**
 * TCP on the edge gives up on a silent peer in about half a minute instead of 15 minutes (data
 * unacknowledged: 6 retries from 200 ms) or never (idle: keepalive is off, then 2 hours). A request
 * on a kept connection to a server whose power or line is cut then fails with a 503, and a stream
 * in flight ends, instead of hanging until the generation timeout. The lab (test/lab/estate.sh)
 * cuts the tunnel under the gateway to show it.
 */
export function renderGatewaySysctl(gateway: GatewayConfig, listen?: string): string {
  return [
    HEADER,
    // A gateway bound to one address starts even when nginx comes up before that address does (DHCP at boot).
    ...(listen ? ["net.ipv4.ip_nonlocal_bind = 1"] : []),
    "net.ipv4.tcp_retries2 = 6",
    "net.ipv4.tcp_keepalive_time = 20",
    "net.ipv4.tcp_keepalive_intvl = 5",
    "net.ipv4.tcp_keepalive_probes = 3",
    // The kernel cuts a listen backlog to this.
    `net.core.somaxconn = ${Math.max(4096, gatewayLimits(gateway).backlog)}`,
    "",
  ].join("\n");
}
