#!/usr/bin/env bash
# Hookflow in one command: starts a sink (prints every webhook it receives)
# and a Hookflow server on a fresh data directory, loads the example
# campaigns, replays examples/events.jsonl, makes one API-triggered send, and
# shows the activity log. In a terminal it then keeps running until Ctrl-C;
# otherwise (or with CI set) it exits. Either way it cleans up after itself.
#
# Ports: API on $HOOKFLOW_DEMO_API (default 127.0.0.1:8080), sink on
# $HOOKFLOW_DEMO_SINK (default 127.0.0.1:9000; the example campaigns point at
# 127.0.0.1:9000 and are loaded with that address replaced by the sink's).
# It exits non-zero if serve or the sink does not start, a campaign or event
# is refused, or an expected webhook does not reach the sink.
set -euo pipefail
cd "$(dirname "$0")/.."

api="${HOOKFLOW_DEMO_API:-127.0.0.1:8080}"
sink="${HOOKFLOW_DEMO_SINK:-127.0.0.1:9000}"
sink_host="${sink%:*}"; sink_host="${sink_host#[}"; sink_host="${sink_host%]}"
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
for addr in "$api" "$sink"; do
  if curl -s -o /dev/null --max-time 2 "http://$addr/"; then
    echo "demo: something is already listening on $addr; stop it first" >&2
    [ "$addr" = "$api" ] && echo "      (or pick another API address: HOOKFLOW_DEMO_API=127.0.0.1:8081 $0)" >&2
    [ "$addr" = "$api" ] || echo "      (or pick another sink address: HOOKFLOW_DEMO_SINK=127.0.0.1:9001 $0)" >&2
    exit 1
  fi
done

# listening ADDR: something accepts TCP connections on host:port (a bare
# connect, so the sink prints nothing).
listening() { local h="${1%:*}"; h="${h#[}"; h="${h%]}"; (exec 3<>"/dev/tcp/$h/${1##*:}") 2>/dev/null; }

# post PATH CURL-ARGS...: POST to the API and print the answer; on an error,
# say what was refused and why, and stop.
post() {
  local path="$1" out code
  shift
  out="$(curl -sS "${auth[@]}" -w '\n%{http_code}' "$@" "http://$api$path")" \
    || { echo "demo: POST $path failed" >&2; exit 1; }
  code="${out##*$'\n'}"
  out="${out%$'\n'*}"
  case "$code" in
    2??) printf '%s' "$out" ;;
    *) printf 'demo: POST %s was refused (%s): %s\n' "$path" "$code" "$out" >&2; exit 1 ;;
  esac
}

say "building hookflow"
go build -o "$bin" ./cmd/hookflow

say "creating an API key"
key="$("$bin" keys create --data-dir "$data" --name demo --scopes all | tail -n 1)"
auth=(-H "Authorization: Bearer $key" -H "Content-Type: application/json")

say "starting the sink on $sink (its output is prefixed 'sink |')"
"$bin" sink --listen "$sink" > >(sed -u 's/^/sink | /') &
sink_pid=$!
pids+=($sink_pid)

say "starting hookflow serve on $api (data in $data)"
# The example campaigns send to the sink on loopback, which Hookflow refuses
# by default (SSRF guard): allow exactly the sink's address.
HOOKFLOW_ALLOW_DESTINATIONS="$sink_host" "$bin" serve --data-dir "$data" --listen "$api" \
  2> >(sed -u 's/^/serve | /' >&2) &
serve_pid=$!
pids+=($serve_pid)

for _ in $(seq 50); do
  curl -fs "http://$api/healthz" >/dev/null 2>&1 && listening "$sink" && break
  sleep 0.1
done
{ kill -0 "$serve_pid" && curl -fs "http://$api/healthz" >/dev/null; } 2>/dev/null \
  || { echo "demo: hookflow serve did not start on $api (see 'serve |' above)" >&2; exit 1; }
{ kill -0 "$sink_pid" && listening "$sink"; } 2>/dev/null \
  || { echo "demo: the sink did not start on $sink (see 'sink |' above)" >&2; exit 1; }

say "loading the example campaigns"
api_campaign=""
for f in examples/campaigns/*.json; do
  out="$(post /v1/campaigns --data-binary "$(sed "s#http://127.0.0.1:9000/#http://$sink/#" "$f")")"
  id="$(printf '%s' "$out" | sed -E 's/^\{"id":"([^"]+)".*/\1/')"
  echo "  $id  $(basename "$f")"
  case "$f" in *api.json) api_campaign="$id" ;; esac
done

say "replaying examples/events.jsonl through POST /users/track"
while IFS= read -r line; do
  [ -z "$line" ] && continue
  out="$(post /users/track --data-binary "$line")"
  printf '  -> %s\n' "$out"
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
post /campaigns/trigger/send --data-binary @- <<JSON
{"campaign_id": "$api_campaign", "trigger_properties": {"carrier": "DHL"},
 "recipients": [{"external_user_id": "ana", "trigger_properties": {"order_id": "A-1001"}},
                {"external_user_id": "chloé", "trigger_properties": {"order_id": "A-1002"}}]}
JSON
echo

# Six webhooks should reach the sink: the four 'campaign N' sends listed
# above (the abort sends nothing) and the two API-triggered ones. Wait for them.
want=6 got=0
for _ in $(seq 100); do
  got="$(curl -fsS "${auth[@]}" "http://$api/v1/deliveries?state=delivered" | grep -o '"state":"delivered"' | wc -l)" || got=0
  [ "$got" -ge "$want" ] && break
  sleep 0.1
done
sleep 0.5 # let the sink finish printing
say "activity log (hookflow log --data-dir $data)"
"$bin" log --data-dir "$data"
if [ "$got" -lt "$want" ]; then
  echo "demo: only $got of the $want expected webhooks reached the sink on $sink (see the log above)" >&2
  exit 1
fi

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
