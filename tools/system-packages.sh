#!/usr/bin/env bash
# Installs the system packages the project needs, when missing, from Debian/Ubuntu's archive.
#   stack: Java 17+ and Maven (the Kafka broker and its jars), the PostgreSQL server (initdb,
#          pg_ctl; Debian keeps them in /usr/lib/postgresql/<version>/bin, off PATH).
#   test (the default): the stack's, plus promtool (package prometheus), which checks the alert
#          rules, Prometheus Alertmanager (its webhook posts to intake in a test), and Chromium
#          for the browser tests.
# Needs root or sudo. Without apt-get it installs nothing and names what to install.
set -euo pipefail

what=${1:-test}
case "$what" in
  stack | test) ;;
  *) echo "usage: $0 [stack|test]" >&2; exit 2 ;;
esac

java_major() {
  java -version 2>&1 | sed -n 's/.* version "\(1\.\)\{0,1\}\([0-9]*\).*/\2/p' | head -n 1
}

have_postgres_server() {
  command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1 && return 0
  compgen -G '/usr/lib/postgresql/*/bin/pg_ctl' >/dev/null
}

# Each missing need as "what it is|Debian package(s) to choose from, first available wins".
needs=()
if ! command -v java >/dev/null 2>&1 || [ "$(java_major)" -lt 17 ] 2>/dev/null; then
  needs+=("Java 17 or newer (java)|openjdk-17-jre-headless openjdk-21-jre-headless")
fi
command -v mvn >/dev/null 2>&1 || needs+=("Maven (mvn)|maven")
have_postgres_server || needs+=("the PostgreSQL 15 server (initdb, pg_ctl)|postgresql-15 postgresql")
if [ "$what" = test ]; then
  command -v promtool >/dev/null 2>&1 || needs+=("promtool|prometheus")
  command -v prometheus-alertmanager >/dev/null 2>&1 \
    || needs+=("Prometheus Alertmanager (prometheus-alertmanager)|prometheus-alertmanager")
  command -v chromium >/dev/null 2>&1 || needs+=("Chromium (chromium)|chromium")
fi
[ ${#needs[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "error: missing, and no apt-get here to install them; install these, then run again:" >&2
  printf '  %s\n' "${needs[@]%%|*}" >&2
  exit 1
fi

sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
# Another install on the same machine holds the lock for a while: wait for it, do not fail.
apt=($sudo apt-get -o DPkg::Lock::Timeout=600)
choose_packages() {
  packages=()
  for need in "${needs[@]}"; do
    chosen=""
    for candidate in ${need#*|}; do
      # A name the archive knows only as virtual (or not at all) has no candidate version.
      # Read whole before matching: under pipefail, grep -q quitting at the first match can
      # end apt-cache with SIGPIPE, and the pipeline would fail for a package that is there.
      policy=$(apt-cache policy "$candidate" 2>/dev/null || true)
      if grep -q 'Candidate: [0-9]' <<<"$policy"; then
        chosen=$candidate
        break
      fi
    done
    if [ -z "$chosen" ]; then
      missing="no package for ${need%%|*} in this system's archive (tried: ${need#*|})"
      return 1
    fi
    packages+=("$chosen")
  done
}
# An update that failed to fetch part of the archive (seen on a fresh machine) still exits 0
# and leaves packages unknown: try it again before calling one missing.
for attempt in 1 2 3; do
  "${apt[@]}" update -qq || true
  choose_packages && break
  [ "$attempt" -eq 3 ] && { echo "error: $missing" >&2; exit 1; }
  sleep 5
done
echo "installing ${packages[*]} (Debian packages) for the ${what}"
"${apt[@]}" install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
