#!/usr/bin/env bash
# Installs the Debian packages the tests need: promtool (prometheus), amtool (prometheus-alertmanager),
# chromium (browser tests), faketime (suites with the clock set near midnight: scripts/test-clock.sh) and
# redis-server (the Celery stack's broker: make e2e EXECUTOR=celery, tests/local_stack/test_celery.py) and
# docker-compose (`docker-compose config` checks docker-compose.yaml: tests/test_compose.py).
# Idempotent: when every package is already installed it does nothing, and `apt-get update` runs only
# when something is missing (it is the slow, network-bound part).
set -euo pipefail

PACKAGES=(prometheus prometheus-alertmanager chromium faketime redis-server docker-compose)

missing=()
for pkg in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$pkg")
    fi
done

if [ "${#missing[@]}" -eq 0 ]; then
    echo "install-debian-packages: all present (${PACKAGES[*]})"
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi

echo "install-debian-packages: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# --no-install-recommends keeps chromium from pulling in a desktop; the services the packages ship
# are not started in containers without systemd, and the tests only need the binaries.
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
