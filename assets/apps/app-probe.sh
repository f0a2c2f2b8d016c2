#!/usr/bin/env bash
# infernus-app-probe: whether an app reaches the models the way it calls them: from inside its
# container, with the container's own trust store, the gateway's model list asked with the app's
# own key (the model itself is not asked: that would load it, unloading the one in use). What it
# finds goes to node_exporter's textfile collector, where the self-check and Prometheus read it.
#   usage: sudo infernus-app-probe APP      (its timer: infernus-app-probe@APP.timer)
#   reads /etc/infernus/apps/APP.probe.json: { unit, runtime: node|python, baseUrl, key, models }
set -euo pipefail
app=${1:-}
[[ $app =~ ^[a-z][a-z0-9-]*$ ]] || {
  echo "usage: infernus-app-probe APP (an app of the stack file, e.g. search)" >&2
  exit 64
}
conf=${INFERNUS_APPS_DIR:-/etc/infernus/apps}/$app.probe.json
out=${INFERNUS_TEXTFILE_DIR:-/var/lib/node_exporter/textfile}/infernus_app_$app.prom
[[ -r $conf ]] || {
  echo "infernus-app-probe: $conf is missing or unreadable: it is written by pulumi up for an app that calls the models (run as root: sudo infernus-app-probe $app)" >&2
  exit 64
}

# Each prints the HTTP status (or "error" and why) on its first line, the body after it. The key
# reaches them on standard input, never on a command line.
node_probe='
const { url, key } = JSON.parse(require("fs").readFileSync(0, "utf8"));
const target = new URL(url + "/models");
const client = require(target.protocol === "https:" ? "https" : "http");
client
  .get(target, { headers: { authorization: "Bearer " + key }, timeout: 20000 }, (res) => {
    let body = "";
    res.on("data", (chunk) => (body += chunk));
    res.on("end", () => console.log(res.statusCode + "\n" + body));
  })
  .on("timeout", function () { this.destroy(Object.assign(new Error("timed out"), { code: "TIMEOUT" })); })
  .on("error", (e) => console.log("error " + (e.code || e.name) + "\n"));
'
python_probe='
import json, sys, urllib.error, urllib.request
given = json.load(sys.stdin)
request = urllib.request.Request(given["url"] + "/models", headers={"Authorization": "Bearer " + given["key"]})
try:
    with urllib.request.urlopen(request, timeout=20) as answer:
        print(answer.status); print(answer.read().decode())
except urllib.error.HTTPError as e:
    print(e.code); print(e.read().decode())
except Exception as e:
    reason = getattr(e, "reason", e)
    print("error", getattr(reason, "verify_code", None) and "CERTIFICATE_VERIFY_FAILED" or type(reason).__name__); print()
'

unit=$(jq -r .unit "$conf")
case $(jq -r .runtime "$conf") in
node) probe=(node -e "$node_probe") ;;
python) probe=(python3 -c "$python_probe") ;;
*)
  echo "infernus-app-probe: $conf names runtime $(jq -r .runtime "$conf"), which is neither node nor python; pulumi up writes it anew" >&2
  exit 64
  ;;
esac

answer=$(jq -c '{url: .baseUrl, key}' "$conf" | timeout 60 podman exec -i "$unit" "${probe[@]}" 2>/dev/null) || answer="error no-container"
status=$(head -n 1 <<<"$answer")
status=${status#error }
# A model served by another server is listed as server/model.
missing=$(tail -n +2 <<<"$answer" | jq -r --slurpfile conf "$conf" '
  [.data[]?.id] as $have
  | [$conf[0].models[] | select(. as $m | $have | any(. == $m or endswith("/" + $m)) | not)] | join(",")' 2>/dev/null) || missing=$(jq -r '.models | join(",")' "$conf")
up=0
[[ $status == 200 && -z $missing ]] && up=1

mkdir -p "$(dirname "$out")"
cat >"$out.tmp" <<EOF
# HELP infernus_app_gateway_up 1 when the app, from inside its container with its own key and trust store, finds its models at the gateway.
# TYPE infernus_app_gateway_up gauge
infernus_app_gateway_up{app="$app",status="${status//[^A-Za-z0-9_.-]/_}",missing="$missing"} $up
# HELP infernus_app_gateway_probe_timestamp_seconds When infernus-app-probe last asked.
# TYPE infernus_app_gateway_probe_timestamp_seconds gauge
infernus_app_gateway_probe_timestamp_seconds{app="$app"} $(date +%s)
EOF
mv -f "$out.tmp" "$out"
if ((up)); then
  echo "infernus-app-probe: $app lists its models at the gateway"
else
  echo "infernus-app-probe: $app: status ${status:-none}${missing:+, missing $missing}"
fi
