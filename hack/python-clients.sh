#!/usr/bin/env bash
# Builds (once) the cached venvs of the REAL Python cloud clients the integration tests drive, and
# prints shell lines naming a wrapper for each:
#
#   clients=$(hack/python-clients.sh) && set -a && eval "$clients" && set +a
#     -> CLOUDLINK_TEST_NOVA='.../venvs/novaclient-9.1.3/cloudlink-bin/nova'
#        CLOUDLINK_TEST_ECL='.../venvs/eclcli-4.8.0-eclsdk-1.10.0/cloudlink-bin/ecl'
#
#   python-novaclient 9.1.3   the last release with the cloudpipe commands (gone in 10.0.0)
#   eclcli 4.8.0 + eclsdk 1.10.0
#                             eclsdk 1.11.x overrides keystoneauth1 3.8's Session._send_request
#                             signature while eclcli pins keystoneauth1<=3.4.0, so every eclsdk call
#                             fails; 1.10.0 matches 3.4.0 (`pip check` is clean). openstacksdk 0.13 and
#                             eclsdk use collections.MutableMapping & co., removed in Python 3.10: the
#                             ecl wrapper puts a sitecustomize.py on PYTHONPATH (for that wrapper only)
#                             that copies the collections.abc names back onto collections.
#
# Venvs live under ${CLOUDLINK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cloudlink}/venvs/; a warm run
# only checks two stamps. Everything but those two KEY=value lines goes to stderr (hack/test.sh
# exports them: eval "$(hack/python-clients.sh | sed 's/^/export /')").
# Needs: python3 >= 3.10 with venv (CLOUDLINK_PYTHON to choose another), gcc and Python headers
# (netifaces and PrettyTable 0.7.2 are sdists), flock.
set -euo pipefail

NOVACLIENT_VERSION=9.1.3
ECLCLI_VERSION=4.8.0
ECLSDK_VERSION=1.10.0
CACHE=${CLOUDLINK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cloudlink}
PY=${CLOUDLINK_PYTHON:-python3}
NOVA_VENV=$CACHE/venvs/novaclient-$NOVACLIENT_VERSION
ECL_VENV=$CACHE/venvs/eclcli-$ECLCLI_VERSION-eclsdk-$ECLSDK_VERSION

log() { printf 'python-clients.sh: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.1f", b-a}'; }
[[ $# -eq 0 ]] || { echo 'usage: clients=$(hack/python-clients.sh) && set -a && eval "$clients" && set +a' >&2; exit 2; }
command -v flock >/dev/null || die "'flock' is required"

# Known-good sets on CPython 3.11 (pip freeze of working installs, 2026-11).
nova_constraints() {
  cat <<'EOF'
babel==2.18.0
certifi==2026.10.19.post1
charset-normalizer==3.5.2
idna==3.20
iso8601==2.1.0
keystoneauth1==5.18.1
msgpack==1.2.4
netaddr==1.3.0
os-service-types==1.9.0
oslo.i18n==6.9.0
oslo.serialization==5.11.0
oslo.utils==10.2.0
packaging==26.3
pbr==7.1.3
prettytable==0.7.2
psutil==7.2.2
pyparsing==3.3.3
python-novaclient==9.1.3
PyYAML==6.0.4
requests==2.34.2
simplejson==4.3.0
six==1.17.0
stevedore==5.10.0
typing_extensions==4.16.0
urllib3==2.8.0
EOF
}

ecl_constraints() {
  cat <<'EOF'
appdirs==1.4.4
attrs==26.1.0
babel==2.18.0
certifi==2026.10.19.post1
cffi==2.1.1
charset-normalizer==3.5.2
cliff==3.6.0
cmd2==0.8.9
cryptography==50.0.2
debtcollector==3.1.0
decorator==5.3.1
deprecation==2.1.0
dogpile.cache==1.5.0
eclcli==4.8.0
eclsdk==1.10.0
future==1.0.0
idna==3.20
iso8601==2.1.0
jmespath==1.1.0
json-merge-patch==0.3.0
jsonpatch==1.48
jsonpointer==3.12
jsonschema==3.2.0
keystoneauth1==3.4.0
msgpack==1.2.4
munch==4.0.0
netaddr==1.3.0
netifaces==0.11.0
openstacksdk==0.13.0
os-client-config==2.3.0
os-service-types==1.9.0
oslo.config==10.7.0
oslo.i18n==6.9.0
oslo.serialization==5.11.0
oslo.utils==10.2.0
packaging==26.3
pbr==7.1.3
prettytable==0.7.2
psutil==7.2.2
pycparser==3.12
pyOpenSSL==26.4.0
pyparsing==2.4.7
pyperclip==1.11.0
pyrsistent==0.20.0
python-cinderclient==4.3.0
python-glanceclient==2.11.0
python-keystoneclient==6.0.0
python-novaclient==9.1.0
PyYAML==6.0.4
requests==2.34.2
requestsexceptions==1.4.0
rfc3986==2.0.0
simplejson==4.3.0
six==1.17.0
stevedore==5.10.0
typing_extensions==4.16.0
urllib3==2.8.0
warlock==1.3.3
wcwidth==0.9.4
wrapt==2.5.2
EOF
}

# The Python 3.10+ shim for eclcli/eclsdk/openstacksdk 0.13 (ecl wrapper only).
ecl_sitecustomize() {
  cat <<'EOF'
# Installed by hack/python-clients.sh for the ecl wrapper only. eclcli 4.8.0, eclsdk 1.10.0 and
# openstacksdk 0.13.0 use the collections.* ABC aliases that Python 3.10 removed.
import collections
import collections.abc

for _name in ("Mapping", "MutableMapping", "Sequence", "MutableSequence", "Set", "MutableSet",
              "Iterable", "Iterator", "Callable", "Hashable", "Sized", "Container",
              "KeysView", "ItemsView", "ValuesView", "MappingView"):
    if not hasattr(collections, _name):
        setattr(collections, _name, getattr(collections.abc, _name))
EOF
}

# build_venv DIR STAMP CONSTRAINTS_FN VERIFY_FN PACKAGE...
# Built in place (venvs are not relocatable) under a lock; complete only once the stamp is written.
build_venv() {
  local dir=$1 want=$2 constraints=$3 verify=$4; shift 4
  local stamp=$dir/.cloudlink-complete
  want="$want python $("$PY" -c 'import sys; print(sys.version.split()[0])' 2>/dev/null || echo none)"
  [[ -f $stamp && $(cat "$stamp") == "$want" ]] && return 0
  mkdir -p "$CACHE/venvs"
  (
    exec 8>"$dir.lock"
    flock -w 900 8 || die "timed out waiting for another hack/python-clients.sh building $dir"
    [[ -f $stamp && $(cat "$stamp") == "$want" ]] && exit 0
    "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null \
      || die "$PY is $("$PY" -V 2>&1 || echo missing); these clients are tested on Python >= 3.10 (set CLOUDLINK_PYTHON)"
    local t0; t0=$(now)
    log "installing $* into $dir"
    rm -rf "$dir"
    "$PY" -m venv "$dir" || die "python -m venv failed (on Debian: apt-get install python3-venv)"
    "$constraints" > "$dir/constraints.txt"
    "$dir/bin/pip" install --disable-pip-version-check -q -c "$dir/constraints.txt" "$@" > "$dir/pip.log" 2>&1 \
      || { tail -n 30 "$dir/pip.log" >&2; die "pip install $* failed (full log: $dir/pip.log)"; }
    mkdir -p "$dir/cloudlink-bin"
    "$verify" "$dir"
    echo "$want" > "$stamp"
    log "$dir ready in $(since "$t0")s ($(du -sh "$dir" | cut -f1))"
  )
}

verify_nova() {
  local dir=$1
  cat > "$dir/cloudlink-bin/nova" <<EOF
#!/bin/sh
# python-novaclient $NOVACLIENT_VERSION from the venv made by hack/python-clients.sh
unset PYTHONPATH PYTHONHOME
PYTHONNOUSERSITE=1 exec "$dir/bin/nova" "\$@"
EOF
  chmod +x "$dir/cloudlink-bin/nova"
  local out
  out=$("$dir/cloudlink-bin/nova" --version 2>&1) || die "nova --version failed: $out"
  [[ $out == *"$NOVACLIENT_VERSION"* ]] || die "nova --version printed '$out', expected $NOVACLIENT_VERSION"
  out=$("$dir/cloudlink-bin/nova" help cloudpipe-configure 2>&1) || die "nova help cloudpipe-configure failed: $out"
}

verify_ecl() {
  local dir=$1
  mkdir -p "$dir/cloudlink-shim"
  ecl_sitecustomize > "$dir/cloudlink-shim/sitecustomize.py"
  cat > "$dir/cloudlink-bin/ecl" <<EOF
#!/bin/sh
# eclcli $ECLCLI_VERSION + eclsdk $ECLSDK_VERSION from the venv made by hack/python-clients.sh,
# with the Python 3.10+ collections shim (cloudlink-shim/sitecustomize.py) on PYTHONPATH.
# Note: eclcli needs OS_AUTH_URL (any value) even for --help and --version.
unset PYTHONHOME
PYTHONPATH="$dir/cloudlink-shim" PYTHONNOUSERSITE=1 exec "$dir/bin/ecl" "\$@"
EOF
  chmod +x "$dir/cloudlink-bin/ecl"
  local out
  out=$(OS_AUTH_URL=http://127.0.0.1:9/v3 "$dir/cloudlink-bin/ecl" --version 2>&1) || die "ecl --version failed: $out"
  [[ $out == *"ecl $ECLCLI_VERSION"* ]] || die "ecl --version printed '$out', expected ecl $ECLCLI_VERSION"
  out=$(OS_AUTH_URL=http://127.0.0.1:9/v3 "$dir/cloudlink-bin/ecl" help icc tenant-connection-request create 2>&1) \
    || die "ecl help icc tenant-connection-request create failed: $out"
  "$dir/bin/pip" check > /dev/null 2>&1 || die "pip check reports broken requirements in $dir: $("$dir/bin/pip" check 2>&1)"
}

# the two builds are independent: run them side by side (a cold run is mostly pip and sdist builds)
build_venv "$NOVA_VENV" "python-novaclient==$NOVACLIENT_VERSION wrapper-v1" nova_constraints verify_nova \
  "python-novaclient==$NOVACLIENT_VERSION" &
nova_build=$!
build_venv "$ECL_VENV" "eclcli==$ECLCLI_VERSION eclsdk==$ECLSDK_VERSION wrapper-v1" ecl_constraints verify_ecl \
  "eclcli==$ECLCLI_VERSION" "eclsdk==$ECLSDK_VERSION" &
ecl_build=$!
failed=0
wait "$nova_build" || failed=1
wait "$ecl_build" || failed=1
(( failed == 0 )) || die "building the client venvs failed (see above)"

printf "CLOUDLINK_TEST_NOVA='%s'\n" "$NOVA_VENV/cloudlink-bin/nova"
printf "CLOUDLINK_TEST_ECL='%s'\n" "$ECL_VENV/cloudlink-bin/ecl"
