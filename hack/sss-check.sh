#!/usr/bin/env bash
# Builds hack/sss-check (the SSS approval-request API through the real Go SDK,
# github.com/nttcom/eclcloud/v2) and prints the binary's path (see hack/go-checker.sh).
#
#   hack/sss-check.sh                         build if missing, print the path on stdout
#   $(hack/sss-check.sh) list --status registered     with OS_* set as for eclcli
#
# Cold: about 20 s on 2 cores from empty Go caches (eclcloud from the Go proxy; it has no
# dependencies of its own), 11 s with the module already downloaded; warm: well under a second.
exec "$(dirname "$0")/go-checker.sh" sss-check
