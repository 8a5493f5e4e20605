#!/usr/bin/env bash
# Builds hack/kstatus-check (kstatus from sigs.k8s.io/cli-utils, what Flux uses to judge health) and
# prints the binary's path (see hack/go-checker.sh).
#
#   hack/kstatus-check.sh            build if missing, print the path on stdout
#   $(hack/kstatus-check.sh) < object.json
#
# Cold: about a minute on 2 cores (modules from the Go proxy); warm: well under a second.
exec "$(dirname "$0")/go-checker.sh" kstatus-check
