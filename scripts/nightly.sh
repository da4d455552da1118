#!/usr/bin/env bash
# The nightly job: `bbreport run --send` with a config file, its output kept
# in a log that is rotated once per run, and bbreport's exit code passed on
# (README: exit codes), so cron or systemd see what happened.
#
# When a run fails, bbreport itself mails the failure notice to the
# operators of the config's [mail] section; this script only adds, on
# failure, a short summary on stderr: cron mails it to MAILTO and systemd
# keeps it in the journal, a second channel for when mail is what failed.
# On success it prints nothing.
#
# Usage: scripts/nightly.sh [--config FILE] [--bin PATH] [--log FILE]
#                           [--keep-logs N] [--env-file FILE] [-- bbreport options]
#
#   --config FILE    bbreport config    (BBREPORT_CONFIG, default /etc/bbreport/bbreport.ini)
#   --bin PATH       bbreport binary    (BBREPORT_BIN, default build/bbreport of this
#                                        checkout, else bbreport on PATH)
#   --log FILE       the job's log      (BBREPORT_LOG, default $LOGS_DIRECTORY/nightly.log
#                                        under systemd, else /var/log/bbreport/nightly.log)
#   --keep-logs N    rotated logs kept  (BBREPORT_KEEP_LOGS, default 14): FILE.1 is the
#                                        previous night, FILE.N the oldest
#   --env-file FILE  read variables (BB_SMTP_USER, BB_SMTP_PASSWORD) from a file
#                    that only the job's user can read, instead of the crontab
#
# Exit codes are bbreport's; besides them: 75 when another nightly.sh holds
# the log, 78 when the config or the binary is missing, 73 when the log
# cannot be written.
set -u

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
config=${BBREPORT_CONFIG:-/etc/bbreport/bbreport.ini}
bin=${BBREPORT_BIN:-}
log=${BBREPORT_LOG:-${LOGS_DIRECTORY:-/var/log/bbreport}/nightly.log}
keep=${BBREPORT_KEEP_LOGS:-14}
env_file=${BBREPORT_ENV_FILE:-}

usage() {
  sed -n '2,/^set -u/p' "${BASH_SOURCE[0]}" | sed -e '/^set -u/d' -e 's/^# \{0,1\}//' >&2
  exit 64
}

while [ $# -gt 0 ]; do
  case $1 in
    --config) config=${2:?--config needs a file}; shift 2 ;;
    --bin) bin=${2:?--bin needs a path}; shift 2 ;;
    --log) log=${2:?--log needs a file}; shift 2 ;;
    --keep-logs) keep=${2:?--keep-logs needs a number}; shift 2 ;;
    --env-file) env_file=${2:?--env-file needs a file}; shift 2 ;;
    -h|--help) usage ;;
    --) shift; break ;;
    *) echo "nightly.sh: unknown option $1 (--help lists them)" >&2; exit 64 ;;
  esac
done
case $keep in
  ''|*[!0-9]*) echo "nightly.sh: --keep-logs must be a number" >&2; exit 64 ;;
esac

if [ -z "$bin" ]; then
  if [ -x "$here/../build/bbreport" ]; then
    bin=$here/../build/bbreport
  else
    bin=$(command -v bbreport || true)
  fi
fi
if [ -z "$bin" ] || [ ! -x "$bin" ]; then
  echo "nightly.sh: bbreport binary not found (${bin:-none}); set --bin or BBREPORT_BIN" >&2
  exit 78
fi
if [ ! -r "$config" ]; then
  echo "nightly.sh: cannot read the config $config; set --config or BBREPORT_CONFIG" >&2
  exit 78
fi
if [ -n "$env_file" ]; then
  if [ ! -r "$env_file" ]; then
    echo "nightly.sh: cannot read the environment file $env_file" >&2
    exit 78
  fi
  set -a
  # shellcheck disable=SC1090
  . "$env_file"
  set +a
fi

logdir=$(dirname "$log")
if ! mkdir -p "$logdir" 2>/dev/null || [ ! -w "$logdir" ]; then
  echo "nightly.sh: cannot write the log in $logdir; set --log or BBREPORT_LOG" >&2
  exit 73
fi

# One job at a time per log: rotation must not race another job. bbreport
# has its own lock on the output directory.
exec 9>>"$log.lock"
if ! flock -n 9; then
  echo "nightly.sh: another nightly job is writing $log" >&2
  exit 75
fi

# Rotation, one file per run: log -> log.1 -> ... -> log.<keep>.
if [ -s "$log" ]; then
  if [ "$keep" -gt 0 ]; then
    rm -f "$log.$keep"
    for ((i = keep - 1; i >= 1; i--)); do
      [ -e "$log.$i" ] && mv -f "$log.$i" "$log.$((i + 1))"
    done
    mv -f "$log" "$log.1"
  else
    rm -f "$log"
  fi
fi

meaning() {
  case $1 in
    0) echo "ok" ;;
    64) echo "usage error" ;;
    65) echo "bad input data" ;;
    66) echo "input missing" ;;
    70) echo "internal error" ;;
    73) echo "cannot create output" ;;
    74) echo "I/O error" ;;
    75) echo "try again later: another run holds the lock, or the mail was not delivered" ;;
    78) echo "configuration error" ;;
    *) if [ "$1" -gt 128 ]; then echo "killed by signal $(($1 - 128))"; else echo "unknown"; fi ;;
  esac
}

stamp() { date -u +%Y-%m-%dT%H:%M:%SZ; }

{
  echo "$(stamp) nightly.sh: $bin run --send --config $config $*"
} >>"$log"
# Not a terminal: bbreport writes plain timestamped lines, no progress bar.
"$bin" run --send --config "$config" "$@" </dev/null >>"$log" 2>&1 9>&-
rc=$?
echo "$(stamp) nightly.sh: exit code $rc ($(meaning "$rc"))" >>"$log"

if [ "$rc" -ne 0 ]; then
  {
    echo "bbreport nightly run failed on $(hostname): exit code $rc ($(meaning "$rc"))"
    echo "log: $log; the last lines:"
    tail -n 20 "$log" | sed 's/^/  /'
  } >&2
fi
exit "$rc"
