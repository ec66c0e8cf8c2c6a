#!/usr/bin/env bash
# demo.sh - the main job on the bundled local rig: set up, build, start a
# private Postfix + Dovecot on 127.0.0.1, send a message through the
# submission port (STARTTLS, certificate verified against the rig's CA,
# SCRAM-SHA-256 authentication), show the transcript and the delivered
# message, then stop the rig.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
MW=${BUILD_DIR:-build}/mailwire
RIG=$(mktemp -d /tmp/mailwire-demo.XXXXXX)
trap 'bash tests/rig/rig.sh stop "$RIG" >/dev/null 2>&1 || true' EXIT
bash tests/rig/rig.sh start "$RIG" "${MW_DEMO_PORT:-23600}"
# shellcheck disable=SC1091
. "$RIG/rig.env"

echo
echo "== mailwire send --trace (submission port $RIG_SUBMISSION_PORT: STARTTLS + AUTH)"
DEMO_PASSWORD=$RIG_PASS1 "$MW" send \
  --server "$RIG_HOST:$RIG_SUBMISSION_PORT" --tls-ca-file "$RIG_CA_FILE" \
  --user "$RIG_USER1" --password-env DEMO_PASSWORD \
  --from "$RIG_USER1" --to "$RIG_USER2" \
  --subject "Grüße from mailwire" \
  --body $'Hello Bob,\n\nthis came through a private Postfix with STARTTLS and SASL.\n.a line starting with a dot\n' \
  --trace

echo
echo "== delivered message (Maildir of $RIG_USER2)"
for _ in $(seq 50); do
  f=$(ls "$RIG_MAILDIR"/example.test/bob/new/ 2>/dev/null | head -n 1 || true)
  [[ -n $f ]] && break
  sleep 0.1
done
cat "$RIG_MAILDIR/example.test/bob/new/$f"

echo
echo "== mailwire probe: every rig port in every TLS mode at once"
"$MW" probe "$RIG_HOST" --tls-ca-file "$RIG_CA_FILE" \
  --tls-server-name "$RIG_SERVER_NAME" --greeting-timeout 3s \
  --ports "$RIG_SUBMISSION_PORT,$RIG_SMTPS_PORT,$RIG_PLAIN_PORT,$RIG_OPTTLS_PORT" \
  || true   # its exit status is the verdict, not a demo failure
