#!/usr/bin/env bash
# A real Kubernetes control plane on loopback for tests and demos: etcd, kube-apiserver (RBAC, audit log)
# and kube-controller-manager running only the controllers that namespace deletion, garbage
# collection and Deployments (down to Pods, which PodSecurity admission checks) need. No scheduler, no
# kubelet: Pods are created but never run. No root, no containers.
#
#   hack/control-plane.sh up DIR     start, wait until ready, write DIR/kubeconfig (admin) and DIR/env
#   hack/control-plane.sh down DIR   stop everything `up` started in DIR
#   hack/control-plane.sh restart-apiserver DIR   stop and start kube-apiserver only (etcd data kept)
#
# DIR/env holds: KUBECONFIG, CP_API_URL, CP_CA_FILE, CP_AUDIT_LOG (shell syntax, for `source`).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
START_TIMEOUT=${START_TIMEOUT:-120}   # seconds; apiserver start takes 5-35 s on 2 busy cores

die() { echo "control-plane: $*" >&2; exit 1; }

free_port() {   # a loopback port nobody listens on (tiny race with other starters; acceptable for tests)
  local p
  for _ in $(seq 1 200); do
    p=$(( 20000 + RANDOM % 40000 ))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return 0; fi
  done
  die "no free port"
}

wait_until() {   # wait_until NAME TIMEOUT CMD...: poll CMD until it succeeds; fail fast if NAME died
  local name=$1 timeout=$2; shift 2
  local deadline=$(( SECONDS + timeout ))
  until "$@" >/dev/null 2>&1; do
    if ! kill -0 "$(cat "$DIR/$name.pid")" 2>/dev/null; then
      tail -n 40 "$DIR/logs/$name.log" >&2; die "$name exited during startup (log: $DIR/logs/$name.log)"
    fi
    (( SECONDS < deadline )) || { tail -n 40 "$DIR/logs/$name.log" >&2; die "$name not ready after ${timeout}s"; }
    sleep 0.2
  done
}

make_pki() {   # one CA signs the serving and client certificates (v3, SANs, EKUs: rustls insists)
  local pki=$DIR/pki
  mkdir -p "$pki"
  cat > "$pki/openssl.cnf" <<'CNF'
[req]
distinguished_name = dn
prompt = no
[dn]
CN = placeholder
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign, digitalSignature
subjectKeyIdentifier = hash
[server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = DNS:localhost, DNS:kubernetes, DNS:kubernetes.default, DNS:kubernetes.default.svc, IP:127.0.0.1, IP:10.0.0.1
[client]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
CNF
  openssl req -x509 -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 -sha256 -days 30 \
    -keyout "$pki/ca.key" -out "$pki/ca.crt" -subj "/CN=cloudlink-test-ca" -config "$pki/openssl.cnf" -extensions ca 2>/dev/null
  issue() {   # NAME SUBJECT SECTION
    openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
      -keyout "$pki/$1.key" -out "$pki/$1.csr" -subj "$2" -config "$pki/openssl.cnf" 2>/dev/null
    openssl x509 -req -in "$pki/$1.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -set_serial "0x$(openssl rand -hex 16)" \
      -days 30 -sha256 -extfile "$pki/openssl.cnf" -extensions "$3" -out "$pki/$1.crt" 2>/dev/null
  }
  issue apiserver "/CN=kube-apiserver" server
  issue admin "/O=system:masters/CN=cloudlink-test-admin" client
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$pki/sa.key" 2>/dev/null
  openssl pkey -in "$pki/sa.key" -pubout -out "$pki/sa.pub"
}

write_kubeconfig() {
  local b64ca b64crt b64key
  b64ca=$(base64 -w0 < "$DIR/pki/ca.crt"); b64crt=$(base64 -w0 < "$DIR/pki/admin.crt"); b64key=$(base64 -w0 < "$DIR/pki/admin.key")
  cat > "$DIR/kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters:
- name: cloudlink-test
  cluster:
    server: https://127.0.0.1:$API_PORT
    certificate-authority-data: $b64ca
users:
- name: admin
  user:
    client-certificate-data: $b64crt
    client-key-data: $b64key
contexts:
- name: admin@cloudlink-test
  context: {cluster: cloudlink-test, user: admin}
current-context: admin@cloudlink-test
KC
  chmod 600 "$DIR/kubeconfig"
}

start_apiserver() {
  "$BIN/kube-apiserver" \
    --etcd-servers="http://127.0.0.1:$ETCD_PORT" \
    --bind-address=127.0.0.1 --secure-port="$API_PORT" \
    --advertise-address=127.0.0.1 --endpoint-reconciler-type=none \
    --tls-cert-file="$DIR/pki/apiserver.crt" --tls-private-key-file="$DIR/pki/apiserver.key" \
    --cert-dir="$DIR/apiserver-certs" --client-ca-file="$DIR/pki/ca.crt" \
    --authorization-mode=RBAC \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --service-account-key-file="$DIR/pki/sa.pub" --service-account-signing-key-file="$DIR/pki/sa.key" \
    --service-cluster-ip-range=10.0.0.0/24 \
    --disable-admission-plugins=ServiceAccount \
    --audit-policy-file="$DIR/audit-policy.yaml" --audit-log-path="$DIR/logs/audit.log" \
    --profiling=false \
    >>"$DIR/logs/kube-apiserver.log" 2>&1 &
  echo $! > "$DIR/kube-apiserver.pid"
  # Anonymous /readyz is forbidden until the RBAC bootstrap is done: ask as admin.
  wait_until kube-apiserver "$START_TIMEOUT" curl -fsS --cacert "$DIR/pki/ca.crt" \
    --cert "$DIR/pki/admin.crt" --key "$DIR/pki/admin.key" "https://127.0.0.1:$API_PORT/readyz"
}

write_ports() {
  cat > "$DIR/ports" <<P
ETCD_PORT=$ETCD_PORT
API_PORT=$API_PORT
BIN=$BIN
P
}

up() {
  [[ -n ${DIR:-} ]] || die "usage: $0 up DIR"
  BIN=${BIN:-$("$HERE/tools.sh")}
  mkdir -p "$DIR/logs" "$DIR/etcd-data" "$DIR/apiserver-certs"
  DIR=$(cd "$DIR" && pwd)
  ETCD_PORT=$(free_port); ETCD_PEER_PORT=$(free_port); API_PORT=$(free_port)
  make_pki
  write_ports

  "$BIN/etcd" --name=default --data-dir="$DIR/etcd-data" \
    --listen-client-urls="http://127.0.0.1:$ETCD_PORT" --advertise-client-urls="http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster="default=http://127.0.0.1:$ETCD_PEER_PORT" --unsafe-no-fsync=true --log-level=warn \
    >"$DIR/logs/etcd.log" 2>&1 &
  echo $! > "$DIR/etcd.pid"
  wait_until etcd 30 sh -c "curl -fsS http://127.0.0.1:$ETCD_PORT/health | grep -q '\"health\":\"true\"'"

  # Audit every request made with a ServiceAccount token: the least-privilege test counts their 403s.
  cat > "$DIR/audit-policy.yaml" <<'POL'
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
- level: Metadata
  userGroups: ["system:serviceaccounts"]
- level: None
POL
  # The port free_port chose may be taken before the bind (other test worlds start too): then
  # another port, a few times.
  local attempt
  for attempt in 1 2 3 4 5; do
    if (start_apiserver); then break; fi
    if (( attempt == 5 )) || ! grep -q "address already in use" "$DIR/logs/kube-apiserver.log"; then
      die "kube-apiserver did not start (log: $DIR/logs/kube-apiserver.log)"
    fi
    echo "control-plane: port $API_PORT was taken meanwhile; trying another" >&2
    API_PORT=$(free_port)
    write_ports
    : > "$DIR/logs/kube-apiserver.log"
  done
  write_kubeconfig
  wait_until kube-apiserver 30 "$BIN/kubectl" --kubeconfig "$DIR/kubeconfig" get namespace default

  # Namespaces of finished tests must really go away, and owner references must cascade. The
  # Deployment and ReplicaSet controllers turn a Deployment into Pods, which PodSecurity admission
  # judges; with no scheduler or kubelet those Pods stay Pending, which is all the tests need.
  "$BIN/kube-controller-manager" --kubeconfig="$DIR/kubeconfig" --leader-elect=false --secure-port=0 \
    --controllers=namespace-controller,garbage-collector-controller,serviceaccount-controller,serviceaccount-token-controller,root-ca-certificate-publisher-controller,clusterrole-aggregation-controller,deployment-controller,replicaset-controller \
    --service-account-private-key-file="$DIR/pki/sa.key" --root-ca-file="$DIR/pki/ca.crt" \
    --use-service-account-credentials=false \
    >"$DIR/logs/kube-controller-manager.log" 2>&1 &
  echo $! > "$DIR/kube-controller-manager.pid"
  wait_until kube-controller-manager 60 "$BIN/kubectl" --kubeconfig "$DIR/kubeconfig" -n default get serviceaccount default

  cat > "$DIR/env" <<ENV
export KUBECONFIG=$DIR/kubeconfig
export CP_API_URL=https://127.0.0.1:$API_PORT
export CP_CA_FILE=$DIR/pki/ca.crt
export CP_AUDIT_LOG=$DIR/logs/audit.log
export PATH=$BIN:\$PATH
ENV
  echo "control-plane: ready at https://127.0.0.1:$API_PORT (KUBECONFIG=$DIR/kubeconfig)" >&2
}

stop() {   # NAME: TERM, then KILL after 10 s
  local pidfile=$DIR/$1.pid pid
  [[ -f $pidfile ]] || return 0
  pid=$(cat "$pidfile")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$pidfile"
}

down() {
  [[ -n ${DIR:-} && -d $DIR ]] || die "usage: $0 down DIR"
  stop kube-controller-manager; stop kube-apiserver; stop etcd
}

restart_apiserver() {
  [[ -f $DIR/ports ]] || die "no control plane in $DIR"
  # shellcheck disable=SC1091
  source "$DIR/ports"
  stop kube-apiserver
  start_apiserver
}

DIR=${2:-}
case "${1:-}" in
  up) up ;;
  down) down ;;
  restart-apiserver) restart_apiserver ;;
  *) die "usage: $0 up|down|restart-apiserver DIR" ;;
esac
