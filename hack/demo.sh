#!/usr/bin/env bash
# The quick start: a local control plane, the cloud emulator (built-in identity), the CRDs, the
# operator, and every manifest of examples/: the requester's requests, then the network owner's
# approvals of them, watched until all objects are Ready and the requests Approved. Then everything
# is torn down, unless --keep.
#
#   hack/demo.sh           run the demo and clean up
#   hack/demo.sh --keep    leave it running and print how to use it (stop with: hack/demo.sh --stop)
set -euo pipefail
cd "$(dirname "$0")/.."

DIR=${CLOUDLINK_DEMO_DIR:-$PWD/.work/demo}
EMULATOR_ADDR=127.0.0.1:8780          # examples/*-credentials.yaml point here
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

stop() {
  for pidfile in "$DIR"/operator.pid "$DIR"/emulator.pid; do
    [[ -f $pidfile ]] && { kill "$(cat "$pidfile")" 2>/dev/null || true; rm -f "$pidfile"; }
  done
  [[ -d $DIR/control-plane ]] && hack/control-plane.sh down "$DIR/control-plane"
  rm -rf "$DIR"
}

case "${1:-}" in
  --stop) stop; exit 0 ;;
  --keep|"") ;;
  *) echo "usage: $0 [--keep|--stop]" >&2; exit 2 ;;
esac
KEEP=${1:-}
[[ -d $DIR ]] && { echo "a demo is already running in $DIR: stop it with $0 --stop" >&2; exit 1; }
[[ $KEEP == --keep ]] || trap stop EXIT
mkdir -p "$DIR"

say "building the test tools (cached) and cloudlink"
BIN=$(hack/tools.sh)
export PATH=$BIN:$PATH
cargo build --workspace --bins --quiet
TARGET=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/debug

say "starting a control plane"
hack/control-plane.sh up "$DIR/control-plane"
export KUBECONFIG=$DIR/control-plane/kubeconfig

say "starting the cloud emulator on $EMULATOR_ADDR"
if curl -s -o /dev/null "http://$EMULATOR_ADDR/"; then
  echo "$EMULATOR_ADDR is taken: the examples' credentials point there; stop what listens on it" >&2; exit 1
fi
"$TARGET/cloudlink-emulator" --listen "$EMULATOR_ADDR" >"$DIR/emulator.log" 2>&1 &
echo $! >"$DIR/emulator.pid"
until curl -fs "http://$EMULATOR_ADDR/v3" >/dev/null; do
  kill -0 "$(cat "$DIR/emulator.pid")" 2>/dev/null || { cat "$DIR/emulator.log" >&2; exit 1; }
  sleep 0.2
done

say "installing the CRDs and starting the operator"
kubectl apply --server-side -f crds/
kubectl wait --for=condition=Established --timeout=60s -f crds/
"$TARGET/cloudlink" run --metrics-addr 127.0.0.1:0 >"$DIR/operator.log" 2>&1 &
echo $! >"$DIR/operator.pid"

say "applying examples/"
kubectl apply -f examples/openstack-credentials.yaml -f examples/ecl-credentials.yaml \
  -f examples/cloudpipe.yaml -f examples/tenantconnectionrequest.yaml
# The connection can come at once: it waits (AwaitingApproval) until the owner has approved.
kubectl apply -f examples/tenantconnection.yaml
# The import examples name resources that already exist in the cloud. Make them exist first:
# a request made outside Kubernetes, and the VPN server of the cloudpipe above.
token=$(curl -fsS -D - -o /dev/null "http://$EMULATOR_ADDR/v3/auth/tokens" -H 'content-type: application/json' -d \
  '{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"admin","domain":{"id":"default"},"password":"AdminPass123"}}},"scope":{"project":{"id":"6b7f3c2a9d8e4f10a1b2c3d4e5f60718"}}}}' \
  | tr -d '\r' | awk 'tolower($1)=="x-subject-token:"{print $2}')
existing=$(curl -fsS "http://$EMULATOR_ADDR/provider-connectivity/v2.0/tenant_connection_requests" -H "x-auth-token: $token" \
  -H 'content-type: application/json' -d \
  '{"tenant_connection_request":{"tenant_id_other":"9a1b2c3d4e5f60718293a4b5c6d7e8f9","network_id":"7e3d1f8b-4c52-4a7f-9d0e-1b2c3d4e5f60","name":"made-elsewhere"}}' \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["tenant_connection_request"]["id"])')
sed "s/b3f7a2c4-1d5e-11ef-9e55-525403060300/$existing/" examples/tenantconnectionrequest-import.yaml | kubectl apply -f -
kubectl wait --for=jsonpath='{.status.id}' cloudpipe/project-vpn --timeout=60s >/dev/null
server=$(kubectl get cloudpipe project-vpn -o jsonpath='{.status.id}')
sed "s/3f1e7a52-8c4d-4b6e-9a0f-2d5c8b7e1a93/$server/" examples/cloudpipe-observe.yaml | kubectl apply -f -

say "the network owner approves both requests (owner's Secret, TenantConnectionApproval)"
kubectl apply -f examples/ecl-owner-credentials.yaml
kubectl wait --for=jsonpath='{.status.resource.approvalRequestId}' tcr/to-shared-network --timeout=60s >/dev/null
request=$(kubectl get tcr to-shared-network -o jsonpath='{.status.id}')
sed "s/7f3c2a9d-8e4f-4a1b-9c3d-4e5f60718293/$request/" examples/tenantconnectionapproval.yaml | kubectl apply -f -
sed -e "s/7f3c2a9d-8e4f-4a1b-9c3d-4e5f60718293/$existing/" -e "s/accept-platform-team/accept-made-elsewhere/" \
  examples/tenantconnectionapproval.yaml | kubectl apply -f -
kubectl wait --for=condition=Ready tca --all --timeout=60s
# The requests see the decision at their next approval check (30 s), or at once when asked:
kubectl annotate tcr,tc --all --overwrite "cloudlink.dev/reconcile-requested-at=$(date +%s)"

say "kubectl get cloudlink -A, until every object is Ready"
deadline=$(( SECONDS + 120 ))
while :; do
  kubectl get cloudlink -A
  not_ready=$(kubectl get cloudlink -A -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' | grep -vc '^True$' || true)
  [[ $not_ready == 0 ]] && break
  (( SECONDS < deadline )) || { echo "not every object became Ready; operator log: $DIR/operator.log" >&2; exit 1; }
  sleep 2; echo
done
kubectl wait --for=condition=Approved tcr --all --timeout=60s
kubectl get cloudlink -A

if [[ $KEEP == --keep ]]; then
  cat <<MSG

The demo keeps running. Try:
  export KUBECONFIG=$KUBECONFIG PATH=$BIN:\$PATH
  kubectl get cloudlink -A
  kubectl describe tcr to-shared-network
  kubectl describe tca accept-platform-team
  kubectl describe tc web-1; kubectl get configmap web-1-connection -o yaml
  kubectl explain cloudpipe.spec
Logs: $DIR/operator.log, $DIR/emulator.log. Stop everything with: hack/demo.sh --stop
MSG
else
  say "every object is Ready; cleaning up"
fi
