#!/usr/bin/env bash
# Installs wrk (Debian package), the load generator of the intake benchmark, when missing.
# Needs root or sudo.
set -euo pipefail

command -v wrk >/dev/null 2>&1 && exit 0
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
echo "installing wrk (Debian package) for the intake benchmark"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends wrk >/dev/null
