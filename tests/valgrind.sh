#!/usr/bin/env bash
# valgrind.sh BUILD_DIR - run the integration tests once with every mailwire
# process under valgrind memcheck: any memory error or definite/indirect
# leak fails the run (exit 99 from valgrind makes the test's exit-code
# assertion fail, and the log is printed below).
set -euo pipefail
BUILD=$(cd "$1" && pwd)
LOGS=$(mktemp -d /tmp/mailwire-vg.XXXXXX)
export MW_WRAPPER="valgrind -q --error-exitcode=99 --leak-check=full \
--errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect \
--track-fds=no --log-file=$LOGS/vg.%p.log"
export MW_TIME_SCALE=4
cd "$BUILD"
status=0
ctest --output-on-failure -j2 -L integration || status=$?
# Any non-empty log is a report: show it, and fail even if a test
# tolerated the exit code.
bad=0
for f in "$LOGS"/vg.*.log; do
  [[ -s $f ]] || continue
  bad=$((bad + 1))
  echo "----- $f"
  head -n 60 "$f"
done
echo "valgrind: $(ls "$LOGS" | wc -l) processes checked, $bad with reports"
rm -rf "$LOGS"
if ((status != 0 || bad != 0)); then exit 1; fi
