#!/usr/bin/env bash
# Start or stop a throw-away Apache httpd (Debian's apache2) serving <dir> over
# WebDAV (mod_dav + mod_dav_fs) on 127.0.0.1:<port>, for fs-webdav's tests and CI.
#
#   packages/fs-webdav/scripts/apache-webdav.sh start <dir> <port>
#   packages/fs-webdav/scripts/apache-webdav.sh stop  <dir> <port>
#
# The config is self-contained (no /etc/apache2): it is generated into a state
# directory ${FANOUT_APACHE_STATE:-${TMPDIR:-/tmp}/fanout-apache-<port>} that also
# holds the pid file, the error log and the DAV lock database. Apache's children
# refuse to run as root, so when started as root they run as www-data and <dir>
# is chowned to www-data; started as another user they run as that user.
set -euo pipefail

usage() { echo "usage: $0 start|stop <dir> <port>" >&2; exit 2; }
[ $# -eq 3 ] || usage
action=$1 dir=$2 port=$3
[[ $port =~ ^[0-9]+$ ]] || usage
apache=${APACHE_BIN:-/usr/sbin/apache2}
modules=${APACHE_MODULES:-/usr/lib/apache2/modules}
state=${FANOUT_APACHE_STATE:-${TMPDIR:-/tmp}/fanout-apache-$port}
pidfile=$state/httpd.pid

answers() { (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; }

start() {
  [ -x "$apache" ] || { echo "$0: $apache is not installed (apt-get install apache2)" >&2; exit 3; }
  mkdir -p "$dir" "$state/lock"
  dir=$(cd "$dir" && pwd)
  local user_lines=''
  if [ "$(id -u)" = 0 ]; then
    user_lines=$'User www-data\nGroup www-data'
    chown -R www-data:www-data "$dir" "$state/lock"
    # The children (www-data) reach the lock database through the state directory.
    chmod 755 "$state"
  fi
  cat >"$state/httpd.conf" <<CONF
ServerRoot "$state"
ServerName 127.0.0.1
Listen 127.0.0.1:$port
PidFile "$pidfile"
ErrorLog "$state/error.log"
LogLevel warn
DefaultRuntimeDir "$state"
$user_lines
LoadModule mpm_event_module $modules/mod_mpm_event.so
LoadModule authz_core_module $modules/mod_authz_core.so
LoadModule alias_module $modules/mod_alias.so
LoadModule dav_module $modules/mod_dav.so
LoadModule dav_fs_module $modules/mod_dav_fs.so
StartServers 1
ServerLimit 2
ThreadsPerChild 16
MaxRequestWorkers 32
# Tests stop the server mid-run; keep-alive connections must not outlive it.
KeepAliveTimeout 2
DAVLockDB "$state/lock/DAVLock"
DocumentRoot "$dir"
<Directory />
  Require all denied
</Directory>
<Directory "$dir">
  Dav On
  Require all granted
</Directory>
CONF
  "$apache" -f "$state/httpd.conf" -k start
  for _ in $(seq 1 100); do
    if answers; then echo "apache-webdav: serving $dir on http://127.0.0.1:$port/ (pid $(cat "$pidfile"))"; return 0; fi
    sleep 0.1
  done
  echo "$0: apache did not answer on 127.0.0.1:$port; $state/error.log says:" >&2
  cat "$state/error.log" >&2 || true
  exit 1
}

stop() {
  [ -f "$pidfile" ] || { echo "apache-webdav: not running on port $port"; return 0; }
  local pid; pid=$(cat "$pidfile")
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$pidfile"; echo "apache-webdav: stopped (pid $pid)"; return 0; }
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$pidfile"
  echo "apache-webdav: killed (pid $pid)"
}

case $action in
  start) start ;;
  stop) stop ;;
  *) usage ;;
esac
