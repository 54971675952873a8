#!/usr/bin/env bash
# Installs the system packages the suite drives for real (Debian): Chromium and its driver, OpenLDAP's slapd.
set -euo pipefail
missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v chromedriver >/dev/null || missing+=(chromium-driver)
# Arabic and Hebrew glyphs for the console screenshots
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing+=(fonts-dejavu-core)
# slapd lives in /usr/sbin, which a non-root PATH may lack; the tests run their own slapd from a temporary config
[ -x /usr/sbin/slapd ] || missing+=(slapd)
command -v ldapsearch >/dev/null || missing+=(ldap-utils)
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
