#!/usr/bin/env bash
# Keeps an Airflow API token in a file for Prometheus to send on every scrape of
# /scraper-monitor/metrics (prometheus.yml: authorization.credentials_file).
#
#   airflow-token.sh TOKEN_FILE            # fetch once
#   airflow-token.sh TOKEN_FILE SECONDS    # and again every SECONDS, for good (a JWT expires: [api_auth]
#                                          # jwt_expiration_time, 24 h by default)
#
# Environment: AIRFLOW_URL (the api-server's base URL), AIRFLOW_USERNAME, and AIRFLOW_PASSWORD or
# AIRFLOW_PASSWORD_FILE (a user allowed to see plugin views). The file is replaced atomically, so a
# scrape never reads half a token; a failed fetch keeps the old one and is retried after 30 s.
set -euo pipefail

out=${1:?usage: airflow-token.sh TOKEN_FILE [SECONDS]}
every=${2:-}
: "${AIRFLOW_URL:?set AIRFLOW_URL, e.g. http://airflow-apiserver:8080}"
: "${AIRFLOW_USERNAME:?set AIRFLOW_USERNAME}"
if [ -n "${AIRFLOW_PASSWORD_FILE:-}" ]; then
    AIRFLOW_PASSWORD=$(cat "$AIRFLOW_PASSWORD_FILE")
fi
: "${AIRFLOW_PASSWORD:?set AIRFLOW_PASSWORD or AIRFLOW_PASSWORD_FILE}"
export AIRFLOW_USERNAME AIRFLOW_PASSWORD

fetch() {
    # The login goes through python's json, so a password with quotes or backslashes stays intact.
    python3 -c 'import json, os; print(json.dumps({"username": os.environ["AIRFLOW_USERNAME"], "password": os.environ["AIRFLOW_PASSWORD"]}))' \
        | curl -sf --max-time 30 -X POST "${AIRFLOW_URL%/}/auth/token" -H 'Content-Type: application/json' -d @- \
        | python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])' >"$out.new" \
        && mv "$out.new" "$out"
}

if [ -z "$every" ]; then
    fetch
    exit
fi
while true; do
    if fetch; then
        sleep "$every"
    else
        echo "airflow-token: no token from ${AIRFLOW_URL} yet; retrying in 30 s" >&2
        sleep 30
    fi
done
