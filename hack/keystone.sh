#!/usr/bin/env bash
# Runs a REAL OpenStack Keystone (from PyPI) on loopback for the integration tests: SQLite, fernet
# tokens, gunicorn, one worker process.
#
#   hack/keystone.sh up DIR     start (or re-use) the Keystone whose state lives in DIR; prints
#                               nothing on stdout; writes DIR/keystone.env (export KEY='value' lines)
#   hack/keystone.sh down DIR   stop everything `up DIR` started (idempotent)
#   hack/keystone.sh status DIR
#
# The venv is cached outside the repository, by Keystone version:
#   ${CLOUDLINK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cloudlink}/venvs/keystone-<version>
# Beside the packages it holds a bootstrapped template database (`keystone-manage db_sync` and
# `bootstrap` run once per venv), so a warm `up` only copies the database, writes fresh fernet and
# credential keys, starts the server and provisions through the REST API: a few seconds.
#
# What `up` provisions (idempotently; re-running `up` on a running DIR only checks and rewrites):
#   - admin user + admin project (roles admin, member, reader, manager), from `bootstrap`;
#   - a second project and user (demo / demo, role member), with a random password per DIR;
#   - a service user for the emulator's token validation (project service, role service);
#   - application credentials: demo's (demo-appcred) and admin's (admin-appcred);
#   - the services compute, provider-connectivity, sss and sssv2, WITHOUT endpoints.
# Catalog entries pointing at the emulator: the emulator's port is only known once a test starts it,
# so the test registers the endpoints itself through Keystone's admin API, in a region of its own
# (crates/cloudlink-testkit/src/world.rs: RealKeystone::register_catalog), and deletes them when it ends. The service
# ids are in keystone.env, so tests never race to create services.
#
# Needs: python3 >= 3.11 with venv (set CLOUDLINK_PYTHON to choose another), curl, flock, setsid.
set -euo pipefail

KEYSTONE_VERSION=30.0.0
GUNICORN_VERSION=27.0.1
CACHE=${CLOUDLINK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cloudlink}
PY=${CLOUDLINK_PYTHON:-python3}
VENV=$CACHE/venvs/keystone-$KEYSTONE_VERSION
TEMPLATE=$VENV/cloudlink-template
REGION=RegionOne
READY_DEADLINE=${CLOUDLINK_KEYSTONE_READY_TIMEOUT:-90}   # seconds from server launch to the first 200

log() { printf 'keystone.sh: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
usage() { echo "usage: $0 {up|down|status} DIR" >&2; exit 2; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.1f", b-a}'; }

[[ $# -eq 2 ]] || usage
CMD=$1
DIR=$2
case "$CMD" in up|down|status) ;; *) usage ;; esac
if [[ $CMD == up ]]; then mkdir -p "$DIR"; elif [[ ! -d $DIR ]]; then
  [[ $CMD == down ]] && { log "nothing running from $DIR (no such directory)"; exit 0; }
  echo "stopped ($DIR)"; exit 3
fi
DIR=$(cd "$DIR" && pwd)
PIDFILE=$DIR/keystone.pid
LOGDIR=$DIR/log
CONF=$DIR/keystone.conf
ENVFILE=$DIR/keystone.env

for t in curl flock setsid awk; do command -v "$t" >/dev/null || die "'$t' is required"; done

# ------------------------------------------------------------------------------------------ pins
# A known-good set for keystone 30.0.0 on CPython 3.11 (pip freeze of a working install), so that
# a later dependency release cannot break the tests.
write_constraints() {
  cat > "$1" <<'EOF'
alembic==1.20.1
amqp==5.4.2
aniso8601==10.0.1
attrs==26.1.0
bcrypt==5.0.0
blinker==1.9.0
cachetools==8.0.2
certifi==2026.10.19.post1
cffi==2.1.1
charset-normalizer==3.5.2
click==8.5.1
cryptography==50.0.2
debtcollector==3.1.0
decorator==5.3.1
defusedxml==0.7.1
dnspython==2.9.2
dogpile.cache==1.5.0
elementpath==4.8.0
eventlet==0.41.3
fasteners==0.20
Flask==3.1.3
Flask-RESTful==0.3.10
futurist==3.5.0
greenlet==3.5.6
gunicorn==27.0.1
idna==3.20
iso8601==2.1.0
itsdangerous==2.2.0
Jinja2==3.1.6
jsonschema==4.26.0
jsonschema-specifications==2025.9.1
keystone==30.0.0
keystoneauth1==5.18.1
keystonemiddleware==13.0.1
kombu==5.7.0
Mako==1.4.3
MarkupSafe==3.0.4
msgpack==1.2.4
netaddr==1.3.0
oauthlib==4.0.1
os-service-types==1.9.0
oslo.cache==4.3.0
oslo.concurrency==7.6.1
oslo.config==10.7.0
oslo.context==6.5.0
oslo.db==18.1.1
oslo.i18n==6.9.0
oslo.log==8.3.2
oslo.messaging==18.3.1
oslo.metrics==0.17.0
oslo.middleware==8.2.0
oslo.policy==6.0.1
oslo.serialization==5.11.0
oslo.service==4.8.0
oslo.upgradecheck==2.8.0
oslo.utils==10.2.0
osprofiler==4.4.0
packaging==26.3
Paste==3.10.1
PasteDeploy==3.1.0
pbr==7.1.3
prettytable==3.18.0
prometheus_client==0.26.0
psutil==7.2.2
pycadf==4.1.0
pycparser==3.12
PyJWT==2.15.1
pyOpenSSL==26.4.0
pyparsing==3.3.3
pysaml2==7.5.5
python-dateutil==4.0.0
python-keystoneclient==6.0.0
pytz==2026.6
PyYAML==6.0.4
referencing==0.37.0
repoze-lru==0.8
requests==2.34.2
rfc3986==2.0.0
Routes==2.5.1
rpds-py==2026.9.1
six==1.17.0
SQLAlchemy==2.1.9
statsd==4.0.1
stevedore==5.10.0
testresources==2.1.2
testscenarios==0.7.0
typing_extensions==4.16.0
tzdata==2026.6
urllib3==2.8.0
vine==5.1.0
wcwidth==0.9.4
WebOb==1.8.11
Werkzeug==3.1.9
wrapt==2.5.2
xmlschema==2.5.1
yappi==1.7.6
EOF
}

# keystone.conf for a state directory $1 (also used for the template, with its own paths)
write_conf() {
  local d=$1
  cat > "$d/keystone.conf" <<EOF
# generated by hack/keystone.sh: a local test Keystone, NOT for production
[DEFAULT]
# log_file, not log_dir alone (log_dir alone makes a file named "<frozen importlib._bootstrap>.log")
log_file = $d/log/keystone.log
use_stderr = false

[database]
connection = sqlite:///$d/keystone.db

[token]
provider = fernet
expiration = 3600

[fernet_tokens]
key_repository = $d/fernet-keys
max_active_keys = 3

[fernet_receipts]
key_repository = $d/fernet-keys

[credential]
key_repository = $d/credential-keys

[identity]
# bcrypt's default 12 rounds cost ~360 ms per password or app-credential auth; 4 rounds ~10 ms.
# Hashes are made at creation, so this must be in force before bootstrap (it is: template).
password_hash_rounds = 4
max_password_length = 72

[cache]
# per-process memory cache (validation ~87 ms -> ~5 ms); safe because gunicorn runs ONE worker.
enabled = true
backend = dogpile.cache.memory
EOF
  mkdir -p "$d/log"
}

# --------------------------------------------------------------------------------- 1. the venv
# Built in place (venvs are not relocatable) under a lock; complete only once the stamp is written.
ensure_venv() {
  local want stamp=$VENV/.cloudlink-complete
  want="keystone==$KEYSTONE_VERSION gunicorn==$GUNICORN_VERSION template-v1 $("$PY" -c 'import sys; print(sys.version.split()[0])' 2>/dev/null || echo none)"
  if [[ -f $stamp && $(cat "$stamp") == "$want" ]]; then return 0; fi
  mkdir -p "$CACHE/venvs"
  exec 8>"$CACHE/venvs/.keystone-$KEYSTONE_VERSION.lock"
  flock -w 900 8 || die "timed out waiting for another hack/keystone.sh building $VENV"
  if [[ -f $stamp && $(cat "$stamp") == "$want" ]]; then exec 8>&-; return 0; fi
  "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null \
    || die "$PY is $("$PY" -V 2>&1 || echo missing); keystone $KEYSTONE_VERSION needs Python >= 3.11 with venv (set CLOUDLINK_PYTHON)"
  local t0; t0=$(now)
  log "installing keystone==$KEYSTONE_VERSION and gunicorn into $VENV (once per cache, about a minute)"
  rm -rf "$VENV"
  "$PY" -m venv "$VENV" || die "python -m venv failed (on Debian: apt-get install python3-venv)"
  write_constraints "$VENV/constraints.txt"
  "$VENV/bin/pip" install --disable-pip-version-check -q -c "$VENV/constraints.txt" \
      "keystone==$KEYSTONE_VERSION" "gunicorn==$GUNICORN_VERSION" > "$VENV/pip.log" 2>&1 \
    || { tail -n 30 "$VENV/pip.log" >&2; die "pip install keystone failed (full log: $VENV/pip.log)"; }
  build_template
  echo "$want" > "$stamp"
  exec 8>&-
  log "venv + template ready in $(since "$t0")s ($(du -sh "$VENV" | cut -f1))"
}

# A bootstrapped database, made once per venv: db_sync + bootstrap cost ~6 s (each keystone-manage
# start costs ~2 s). Its identity endpoint holds a placeholder URL that `provision` corrects.
build_template() {
  rm -rf "$TEMPLATE"; mkdir -p "$TEMPLATE"
  write_conf "$TEMPLATE"
  make_keys "$TEMPLATE"
  od -An -tx1 -N16 /dev/urandom | tr -d ' \n' > "$TEMPLATE/admin-password"
  local km=("$VENV/bin/keystone-manage" --config-file "$TEMPLATE/keystone.conf")
  {
    "${km[@]}" db_sync &&
    "${km[@]}" bootstrap --bootstrap-password "$(cat "$TEMPLATE/admin-password")" \
      --bootstrap-username admin --bootstrap-project-name admin --bootstrap-role-name admin \
      --bootstrap-service-name keystone --bootstrap-region-id "$REGION" \
      --bootstrap-public-url "http://127.0.0.1:1/v3"
  } > "$TEMPLATE/keystone-manage.log" 2>&1 \
    || { tail -n 30 "$TEMPLATE/keystone-manage.log" >&2; die "keystone-manage db_sync/bootstrap failed (log: $TEMPLATE/keystone-manage.log)"; }
  rm -rf "$TEMPLATE/fernet-keys" "$TEMPLATE/credential-keys"
}

# fresh fernet and credential key repositories (what fernet_setup/credential_setup write: key 0
# staged, key 1 primary, each Fernet.generate_key(), i.e. 32 random bytes in urlsafe base64)
make_keys() {
  local d=$1 repo i
  for repo in fernet-keys credential-keys; do
    rm -rf "${d:?}/$repo"; mkdir -m 700 "$d/$repo"
    for i in 0 1; do
      (umask 077; head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '\n' > "$d/$repo/$i")
    done
  done
}

# ------------------------------------------------------------------------------- 2. the server
server_pid() {  # prints the pid of the server started from DIR, if it is alive and really ours
  [[ -f $PIDFILE ]] || return 1
  local pid; pid=$(cat "$PIDFILE")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  # a recycled pid must not be mistaken for ours: our gunicorn's command line names DIR
  tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "--pythonpath $DIR " || return 1
  echo "$pid"
}

answers() { [[ $(curl -s --max-time 3 -o /dev/null -w '%{http_code}' "$1" || true) == 200 ]]; }

free_port() {
  "$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# One worker process (the memory cache is per process) with ONE thread: SQLite answers concurrent
# writes with "database is locked" (seen with 4 threads when tests deleted endpoints side by side).
# Requests are short (token issue ~15 ms, validation ~5 ms), so serving them in turn is enough.
# --no-control-socket: gunicorn 27 otherwise binds ~/.gunicorn/gunicorn.ctl, shared by every instance.
start_server() {
  local attempt port pid t0 deadline
  cat > "$DIR/cloudlink_keystone_wsgi.py" <<'EOF'
# Keystone parses sys.argv with oslo.config: gunicorn's own arguments would be rejected.
import sys
sys.argv = sys.argv[:1]
from keystone.wsgi.api import application  # noqa: E402,F401
EOF
  for attempt in 1 2 3; do
    port=$(free_port)
    t0=$(now)
    OS_KEYSTONE_CONFIG_FILES=$CONF setsid "$VENV/bin/gunicorn" \
      --bind "127.0.0.1:$port" --workers 1 --worker-class gthread --threads 1 \
      --timeout 120 --graceful-timeout 3 --no-control-socket --chdir "$DIR" --pythonpath "$DIR" \
      --access-logfile "$LOGDIR/access.log" --error-logfile "$LOGDIR/server.log" \
      cloudlink_keystone_wsgi:application < /dev/null >> "$LOGDIR/server.log" 2>&1 8>&- 9>&- &
    pid=$!   # setsid did not fork (a background job is no group leader): $! is gunicorn and its group
    echo "$pid" > "$PIDFILE"
    echo "$port" > "$DIR/port"
    deadline=$(( $(date +%s) + READY_DEADLINE ))
    while (( $(date +%s) < deadline )); do
      kill -0 "$pid" 2>/dev/null || break
      if answers "http://127.0.0.1:$port/v3"; then
        log "keystone $KEYSTONE_VERSION (gunicorn pid $pid) answering on http://127.0.0.1:$port/v3 after $(since "$t0")s"
        return 0
      fi
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      stop_server
      tail -n 30 "$LOGDIR/server.log" >&2
      die "no answer on http://127.0.0.1:$port/v3 after ${READY_DEADLINE}s (logs: $LOGDIR)"
    fi
    rm -f "$PIDFILE"
    if grep -q 'Connection in use' "$LOGDIR/server.log"; then
      log "port $port was taken before gunicorn could bind it; retrying ($attempt/3)"
      continue
    fi
    tail -n 30 "$LOGDIR/server.log" >&2
    die "gunicorn exited during start-up (logs: $LOGDIR/server.log, $LOGDIR/keystone.log)"
  done
  die "could not bind a free loopback port in 3 attempts"
}

stop_server() {
  local pid
  if ! pid=$(server_pid); then
    rm -f "$PIDFILE"
    return 0
  fi
  kill -TERM -- "-$pid" 2>/dev/null || true
  local deadline=$(( $(date +%s) + 15 ))
  while (( $(date +%s) < deadline )) && kill -0 -- "-$pid" 2>/dev/null; do sleep 0.1; done
  if kill -0 -- "-$pid" 2>/dev/null; then
    log "process group $pid ignored SIGTERM for 15 s, sending SIGKILL"
    kill -KILL -- "-$pid" 2>/dev/null || true
    deadline=$(( $(date +%s) + 5 ))
    while (( $(date +%s) < deadline )) && kill -0 -- "-$pid" 2>/dev/null; do sleep 0.1; done
  fi
  rm -f "$PIDFILE"
  log "stopped keystone (process group $pid)"
}

# ------------------------------------------------------------------------------ 3. provisioning
# Through the REST API with the venv's stdlib Python: create what is missing, check that every
# credential works, and write keystone.env. Secrets are random per DIR and kept in DIR/secrets.
provision() {
  local port; port=$(cat "$DIR/port")
  [[ -f $DIR/secrets ]] || {
    umask 077
    {
      echo "demo_password=$(od -An -tx1 -N12 /dev/urandom | tr -d ' \n')"
      echo "service_password=$(od -An -tx1 -N12 /dev/urandom | tr -d ' \n')"
      echo "demo_appcred_secret=$(od -An -tx1 -N18 /dev/urandom | tr -d ' \n')"
      echo "admin_appcred_secret=$(od -An -tx1 -N18 /dev/urandom | tr -d ' \n')"
    } > "$DIR/secrets"
  }
  KS_URL="http://127.0.0.1:$port/v3" KS_REGION=$REGION KS_DIR=$DIR KS_ENVFILE=$ENVFILE \
  KS_ADMIN_PASSWORD=$(cat "$DIR/admin-password") KS_PID=$(cat "$PIDFILE") \
    "$VENV/bin/python" - <<'EOF' 2> "$LOGDIR/provision.log" || { cat "$LOGDIR/provision.log" >&2; die "provisioning through the Keystone API failed"; }
import json, os, sys, urllib.error, urllib.parse, urllib.request

K = os.environ["KS_URL"]
REGION = os.environ["KS_REGION"]
SECRETS = dict(l.strip().split("=", 1) for l in open(os.path.join(os.environ["KS_DIR"], "secrets")) if "=" in l)

def req(method, path, token=None, body=None, ok=(200, 201, 204), headers=None):
    r = urllib.request.Request(K + path, method=method, data=None if body is None else json.dumps(body).encode())
    r.add_header("Content-Type", "application/json")
    r.add_header("Accept", "application/json")
    if token:
        r.add_header("X-Auth-Token", token)
    for k, v in (headers or {}).items():
        r.add_header(k, v)
    try:
        with urllib.request.urlopen(r, timeout=60) as resp:
            status, hdrs, raw = resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as e:
        status, hdrs, raw = e.code, e.headers, e.read()
    if status not in ok:
        raise RuntimeError(f"{method} {path} -> {status}: {raw[:400]!r}")
    return status, hdrs, (json.loads(raw) if raw else None)

def pw_auth(user, pw, project):
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": user, "domain": {"id": "default"}, "password": pw}}},
        "scope": {"project": {"name": project, "domain": {"id": "default"}}}}}
    _, h, b = req("POST", "/auth/tokens?nocatalog", body=body, ok=(201,))
    return h["X-Subject-Token"], b["token"]

def ac_auth(ac_id, secret):
    body = {"auth": {"identity": {"methods": ["application_credential"],
            "application_credential": {"id": ac_id, "secret": secret}}}}
    _, h, b = req("POST", "/auth/tokens?nocatalog", body=body, ok=(201,))
    return h["X-Subject-Token"], b["token"]

def find(path, key, token, **q):
    return req("GET", f"{path}?{urllib.parse.urlencode(q)}", token)[2][key]

admin, admin_body = pw_auth("admin", os.environ["KS_ADMIN_PASSWORD"], "admin")
changes = []

# the identity endpoint: the template was bootstrapped with a placeholder URL
identity = [s for s in find("/services", "services", admin, type="identity")][0]
for ep in find("/endpoints", "endpoints", admin, service_id=identity["id"]):
    if ep["url"] != K:
        req("PATCH", f"/endpoints/{ep['id']}", admin, {"endpoint": {"url": K}})
        changes.append(f"identity endpoint {ep['interface']}")

def ensure_project(name, description):
    found = find("/projects", "projects", admin, name=name, domain_id="default")
    if found:
        return found[0]
    changes.append(f"project {name}")
    return req("POST", "/projects", admin, {"project": {"name": name, "domain_id": "default",
               "description": description}})[2]["project"]

def ensure_user(name, password, project):
    found = find("/users", "users", admin, name=name, domain_id="default")
    if found:
        user = found[0]
    else:
        changes.append(f"user {name}")
        user = req("POST", "/users", admin, {"user": {"name": name, "domain_id": "default",
                   "password": password, "default_project_id": project["id"]}})[2]["user"]
    return user

def grant(project, user, role_name):
    role = find("/roles", "roles", admin, name=role_name)[0]
    req("PUT", f"/projects/{project['id']}/users/{user['id']}/roles/{role['id']}", admin)

def login(name, password, project, user):
    try:
        return pw_auth(name, password, project["name"])
    except RuntimeError:   # the password drifted: reset it (an admin may PATCH without the old one)
        req("PATCH", f"/users/{user['id']}", admin, {"user": {"password": password}})
        changes.append(f"{name} password")
        return pw_auth(name, password, project["name"])

demo_project = ensure_project("demo", "cloudlink tests: the second project")
demo_user = ensure_user("demo", SECRETS["demo_password"], demo_project)
grant(demo_project, demo_user, "member")
demo, _ = login("demo", SECRETS["demo_password"], demo_project, demo_user)

service_project = ensure_project("service", "cloudlink tests: service users")
service_user = ensure_user("cloudlink-emulator", SECRETS["service_password"], service_project)
grant(service_project, service_user, "service")
service, _ = login("cloudlink-emulator", SECRETS["service_password"], service_project, service_user)

# services the emulator implements: no endpoints here, each test registers its own (see header)
services = {}
for stype in ("compute", "provider-connectivity", "sss", "sssv2"):
    found = find("/services", "services", admin, type=stype)
    if found:
        services[stype] = found[0]["id"]
    else:
        name = {"compute": "nova"}.get(stype, stype)
        services[stype] = req("POST", "/services", admin, {"service": {"type": stype, "name": name,
                              "enabled": True}})[2]["service"]["id"]
        changes.append(f"service {stype}")

def ensure_appcred(user_id, token, name, secret):
    """Only the owner may create its application credential, with its own token."""
    acs = req("GET", f"/users/{user_id}/application_credentials?name={name}", token)[2]["application_credentials"]
    ac = acs[0] if acs else None
    if ac:
        try:
            ac_auth(ac["id"], secret)
            return ac
        except RuntimeError:
            req("DELETE", f"/users/{user_id}/application_credentials/{ac['id']}", token)
    changes.append(f"application credential {name}")
    return req("POST", f"/users/{user_id}/application_credentials", token, {"application_credential": {
        "name": name, "description": "cloudlink tests", "secret": secret}})[2]["application_credential"]

demo_ac = ensure_appcred(demo_user["id"], demo, "demo-appcred", SECRETS["demo_appcred_secret"])
admin_ac = ensure_appcred(admin_body["user"]["id"], admin, "admin-appcred", SECRETS["admin_appcred_secret"])

# verify what the tests rely on: every credential authenticates, the service user validates tokens
_, t = ac_auth(demo_ac["id"], SECRETS["demo_appcred_secret"])
assert t["project"]["id"] == demo_project["id"] and t["user"]["id"] == demo_user["id"], t
_, t = ac_auth(admin_ac["id"], SECRETS["admin_appcred_secret"])
assert t["project"]["id"] == admin_body["project"]["id"] and "admin" in [r["name"] for r in t["roles"]], t
v = req("GET", "/auth/tokens?nocatalog", service, headers={"X-Subject-Token": demo})[2]["token"]
assert v["user"]["id"] == demo_user["id"], v
print("provision: " + ("created/updated: " + ", ".join(changes) if changes else "nothing to change"), file=sys.stderr)

P = "CLOUDLINK_TEST_KEYSTONE_"
env = {
    P + "URL": K,
    P + "REGION": REGION,
    P + "DOMAIN": "default",
    P + "PID": os.environ["KS_PID"],
    P + "ADMIN_USER": "admin",
    P + "ADMIN_USER_ID": admin_body["user"]["id"],
    P + "ADMIN_PASSWORD": os.environ["KS_ADMIN_PASSWORD"],
    P + "ADMIN_PROJECT": "admin",
    P + "ADMIN_PROJECT_ID": admin_body["project"]["id"],
    P + "ADMIN_APPCRED_ID": admin_ac["id"],
    P + "ADMIN_APPCRED_NAME": "admin-appcred",
    P + "ADMIN_APPCRED_SECRET": SECRETS["admin_appcred_secret"],
    P + "DEMO_USER": "demo",
    P + "DEMO_USER_ID": demo_user["id"],
    P + "DEMO_PASSWORD": SECRETS["demo_password"],
    P + "DEMO_PROJECT": "demo",
    P + "DEMO_PROJECT_ID": demo_project["id"],
    P + "APPCRED_ID": demo_ac["id"],
    P + "APPCRED_NAME": "demo-appcred",
    P + "APPCRED_SECRET": SECRETS["demo_appcred_secret"],
    P + "SERVICE_USER": "cloudlink-emulator",
    P + "SERVICE_USER_ID": service_user["id"],
    P + "SERVICE_PASSWORD": SECRETS["service_password"],
    P + "SERVICE_PROJECT": "service",
    P + "SERVICE_PROJECT_ID": service_project["id"],
    P + "COMPUTE_SERVICE_ID": services["compute"],
    P + "PROVIDER_CONNECTIVITY_SERVICE_ID": services["provider-connectivity"],
    P + "SSS_SERVICE_ID": services["sss"],
    P + "SSSV2_SERVICE_ID": services["sssv2"],
}
tmp = os.environ["KS_ENVFILE"] + ".tmp"
with open(tmp, "w") as f:
    f.write("# written by hack/keystone.sh up: source this file\n")
    for k, v in env.items():
        f.write(f"export {k}='{v}'\n")
os.chmod(tmp, 0o600)
os.replace(tmp, os.environ["KS_ENVFILE"])
EOF
  cat "$LOGDIR/provision.log" >&2
}

# ------------------------------------------------------------------------------------- commands
up() {
  local t0; t0=$(now)
  mkdir -p "$LOGDIR"
  exec 9>"$DIR/.lock"
  flock -w 300 9 || die "another hack/keystone.sh holds $DIR/.lock"
  ensure_venv
  if server_pid >/dev/null && answers "http://127.0.0.1:$(cat "$DIR/port")/v3"; then
    log "already running from $DIR on port $(cat "$DIR/port")"
  else
    stop_server   # a half-dead server from an earlier run, if any
    write_conf "$DIR"
    if [[ ! -f $DIR/keystone.db ]]; then
      cp "$TEMPLATE/keystone.db" "$DIR/keystone.db"
      cp "$TEMPLATE/admin-password" "$DIR/admin-password"
      make_keys "$DIR"
    fi
    start_server
  fi
  provision
  log "ready in $(since "$t0")s: source $ENVFILE"
}

down() {
  [[ -f $PIDFILE ]] || { log "nothing running from $DIR"; return 0; }
  exec 9>"$DIR/.lock"
  flock -w 60 9 || log "warning: $DIR/.lock still held after 60 s; stopping anyway"
  stop_server
}

status() {
  local pid
  if pid=$(server_pid); then
    echo "running: gunicorn pid $pid on http://127.0.0.1:$(cat "$DIR/port")/v3"
  else
    echo "stopped ($DIR)"; return 3
  fi
}

"$CMD"
