#!/bin/sh
# The scheduled apply for cron or a systemd timer: run from the repository that holds rules/.
# Credentials come from the environment or from .env beside the rules folder (never printed).
# Exit codes are apply's own, so cron mails and systemd marks the unit failed on any of 1-5.
set -u
cd "$(dirname "$0")/../.." || exit 1      # adjust: the folder that holds rules/ and rulerun.yaml
SOURCE="${RULERUN_SOURCE:-live}"          # explicit: without --source, apply would use the demo data

rulerun apply --source "$SOURCE"
code=$?
case $code in
  0) ;;                                                   # done (what ran: `rulerun log --since 24h`)
  1) echo "rulerun apply: invalid rules or data (see the errors above)" >&2 ;;
  2) echo "rulerun apply: usage error (an option or the source is wrong)" >&2 ;;
  3) echo "rulerun apply: an action failed or cannot execute: rulerun log --status failed" >&2 ;;
  4) echo "rulerun apply: emergency stop engaged; nothing ran (rulerun resume ends it)" >&2 ;;
  5) echo "rulerun apply: another rulerun holds the action log; nothing ran" >&2 ;;
  *) echo "rulerun apply: exit $code" >&2 ;;
esac
exit $code
