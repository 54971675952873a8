#!/usr/bin/env bash
# Installs the system packages the suite drives for real (Debian): Chromium and its driver, OpenLDAP's slapd.
set -euo pipefail
missing=()
# PDF reports (WeasyPrint): Pango, which shapes Arabic and lays out right-to-left text with HarfBuzz and FriBidi
ldconfig -p 2>/dev/null | grep -c 'libpangoft2-1.0.so.0' >/dev/null || missing+=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0)
if [ "${1:-}" = "--pdf-only" ]; then
  # `make run`: only what the PDF reports need (and the Arabic and Hebrew glyphs), never the test services
  [ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing+=(fonts-dejavu-core)
  [ ${#missing[@]} -eq 0 ] && exit 0
  if [ "$(id -u)" != 0 ]; then
    echo "PDF reports need: ${missing[*]} (apt-get install them as root); CSV and JSON reports work without them" >&2
    exit 0
  fi
  echo "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  exit 0
fi
command -v chromium >/dev/null || missing+=(chromium)
command -v chromedriver >/dev/null || missing+=(chromium-driver)
# Arabic and Hebrew glyphs for the console screenshots
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing+=(fonts-dejavu-core)
# slapd lives in /usr/sbin, which a non-root PATH may lack; the tests run their own slapd from a temporary config
[ -x /usr/sbin/slapd ] || missing+=(slapd)
command -v ldapsearch >/dev/null || missing+=(ldap-utils)
# the job outbox and rate-limit tests stop and start a redis-server of their own (the shared one is never touched)
command -v redis-server >/dev/null || missing+=(redis-server)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # No system directory: the package then creates no database and has nothing to start on port 389.
  echo "slapd slapd/no_configuration boolean true" | debconf-set-selections
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Unconfigured, the package has nothing to start; if an init system started one anyway, stop it (only the
  # system's, by its pidfile): the tests run their own slapd on a free port and never use the system's.
  if [ -s /var/run/slapd/slapd.pid ]; then
    invoke-rc.d slapd stop >/dev/null 2>&1 || kill "$(cat /var/run/slapd/slapd.pid)" 2>/dev/null || true
  fi
fi
