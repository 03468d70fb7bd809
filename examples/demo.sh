#!/usr/bin/env bash
# Hookflow in one command: starts a sink (prints every webhook it receives)
# and a Hookflow server on a fresh data directory, loads the example
# campaigns, replays examples/events.jsonl, makes one API-triggered send, and
# shows the activity log. Stop it with Ctrl-C; it cleans up after itself.
#
# Ports: API on $HOOKFLOW_DEMO_API (default 127.0.0.1:8080), sink on
# 127.0.0.1:9000 (the example campaigns point there).
set -euo pipefail
cd "$(dirname "$0")/.."

api="${HOOKFLOW_DEMO_API:-127.0.0.1:8080}"
data="$(mktemp -d -t hookflow-demo.XXXXXX)"
bin="$data/hookflow"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$data"
}
trap cleanup EXIT

if [ -t 1 ]; then
  say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
else
  say() { printf '\n== %s\n' "$*"; }
fi

# Refuse to start next to something already listening: the health check below
# would find that other server and the demo would fail later with a bare 401.
for addr in "$api" 127.0.0.1:9000; do
  if curl -s -o /dev/null --max-time 2 "http://$addr/"; then
    echo "demo: something is already listening on $addr; stop it first" >&2
    [ "$addr" = "$api" ] && echo "      (or pick another API address: HOOKFLOW_DEMO_API=127.0.0.1:8081 $0)" >&2
    [ "$addr" = "$api" ] || echo "      (the example campaigns send to the sink on 127.0.0.1:9000)" >&2
    exit 1
  fi
done

say "building hookflow"
go build -o "$bin" ./cmd/hookflow

say "creating an API key"
key="$("$bin" keys create --data-dir "$data" --name demo --scopes all | tail -n 1)"
auth=(-H "Authorization: Bearer $key" -H "Content-Type: application/json")

say "starting the sink on 127.0.0.1:9000 (its output is prefixed 'sink |')"
"$bin" sink --listen 127.0.0.1:9000 > >(sed -u 's/^/sink | /') &
pids+=($!)

say "starting hookflow serve on $api (data in $data)"
# The example campaigns send to the sink on loopback, which Hookflow refuses
# by default (SSRF guard): allow exactly that address.
HOOKFLOW_ALLOW_DESTINATIONS=127.0.0.1/32 "$bin" serve --data-dir "$data" --listen "$api" \
  2> >(sed -u 's/^/serve | /' >&2) &
pids+=($!)

for _ in $(seq 50); do
  curl -fs "http://$api/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fs "http://$api/healthz" >/dev/null || { echo "hookflow did not start"; exit 1; }

say "loading the example campaigns"
api_campaign=""
for f in examples/campaigns/*.json; do
  out="$(curl -fsS "${auth[@]}" --data-binary @"$f" "http://$api/v1/campaigns")"
  id="$(printf '%s' "$out" | sed -E 's/^\{"id":"([^"]+)".*/\1/')"
  echo "  $id  $(basename "$f")"
  case "$f" in *api.json) api_campaign="$id" ;; esac
done

say "replaying examples/events.jsonl through POST /users/track"
while IFS= read -r line; do
  [ -z "$line" ] && continue
  printf '  -> %s\n' "$(curl -fsS "${auth[@]}" --data-binary "$line" "http://$api/users/track")"
done < examples/events.jsonl
cat <<'TXT'
  What those events should do:
    ana signs in by email        -> campaign 4: CRM contact (POST /crm/v3/objects/contacts)
    ben signs in with google     -> nothing: campaign 4 filters on method = email
    visitor-77 (an alias, no     -> campaign 4 aborts: the profile has no email address
      email) signs in by email      (abort_message: logged 'aborted', nothing sent)
    ben reaches level 9, then 10 -> campaign 2 once, for level 10 (filter: level = 10)
    ben books his 3rd flight     -> campaign 3 (audience: flights_booked = 3)
    ana books her 1st flight     -> nothing: not in campaign 3's audience
    chloé unsubscribes           -> campaign 1: CRM update (PUT /crm/v3/contacts/chlo%C3%A9)
TXT

say "API-triggered send: POST /campaigns/trigger/send"
curl -fsS "${auth[@]}" "http://$api/campaigns/trigger/send" --data-binary @- <<JSON
{"campaign_id": "$api_campaign", "trigger_properties": {"carrier": "DHL"},
 "recipients": [{"external_user_id": "ana", "trigger_properties": {"order_id": "A-1001"}},
                {"external_user_id": "chloé", "trigger_properties": {"order_id": "A-1002"}}]}
JSON
echo

sleep 2
say "activity log (hookflow log --data-dir $data)"
"$bin" log --data-dir "$data"

say "one delivery in full: GET /v1/deliveries/{id}"
first="$(curl -fsS "${auth[@]}" "http://$api/v1/deliveries?limit=1&state=delivered" | sed -E 's/^\{"deliveries":\[\{"id":"([^"]+)".*/\1/')"
if command -v jq >/dev/null 2>&1; then
  curl -fsS "${auth[@]}" "http://$api/v1/deliveries/$first" | jq .
else
  curl -fsS "${auth[@]}" "http://$api/v1/deliveries/$first"
  echo
fi

if [ -t 0 ] && [ -z "${CI:-}" ]; then
  say "hookflow is still running on http://$api with key $key — press Ctrl-C to stop"
  echo "  try, in another terminal:  $bin log --data-dir $data"
  echo "  (Ctrl-C deletes $data: the data, the key and that binary)"
  wait
fi
