# Shared by run.sh and test.sh: installing what is missing, and a local PostgreSQL cluster.
# shellcheck shell=bash

log() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31merror:\033[0m %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else die "'$*' needs root: run as root or install sudo"; fi
}

# ensure_packages DEB... : installs the Debian packages that are not installed yet.
ensure_packages() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing ${missing[*]}"
  as_root apt-get update -q >/dev/null
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null
}

ensure_dotnet() {
  command -v dotnet >/dev/null || die "the .NET 10 SDK is missing: install it (https://learn.microsoft.com/dotnet/core/install/linux-debian) and retry"
}

pg_bin() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -n "$dir" ] || die "PostgreSQL binaries not found under /usr/lib/postgresql"
  echo "$dir"
}

# Runs a PostgreSQL binary as the postgres user when we are root (PostgreSQL refuses to run as root).
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# pg_up DIR PORT [extra postgres -c settings...]: creates the cluster if needed and starts it on 127.0.0.1:PORT.
pg_up() {
  local dir=$1 port=$2; shift 2
  local bin; bin=$(pg_bin)
  mkdir -p "$dir"
  [ "$(id -u)" = 0 ] && chown postgres:postgres "$dir" && chmod 700 "$dir"
  if [ ! -f "$dir/PG_VERSION" ]; then
    log "creating a PostgreSQL cluster in $dir"
    as_pg "$bin/initdb" -D "$dir" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null
  fi
  if as_pg "$bin/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
    log "PostgreSQL already running in $dir"
    return 0
  fi
  local opts="-c port=$port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$dir"
  for setting in "$@"; do opts="$opts -c $setting"; done
  log "starting PostgreSQL on 127.0.0.1:$port"
  as_pg "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -o "$opts" -w -t 60 start >/dev/null \
    || { tail -n 20 "$dir/server.log" >&2; die "PostgreSQL did not start (log above; is port $port in use?)"; }
}

pg_down() {
  local dir=$1 bin; bin=$(pg_bin)
  [ -f "$dir/PG_VERSION" ] || return 0
  as_pg "$bin/pg_ctl" -D "$dir" -m fast -w stop >/dev/null 2>&1 || true
}

# psql_admin PORT SQL [DATABASE]: runs SQL as the superuser.
psql_admin() {
  as_pg psql -h 127.0.0.1 -p "$1" -U postgres -d "${3:-postgres}" -v ON_ERROR_STOP=1 -qtAc "$2"
}

# mosquitto_up DIR PORT: starts Debian's mosquitto broker on 127.0.0.1:PORT with its config, data and log in DIR
# (for the alarm bridge). Anonymous clients are allowed: it listens on the loopback only.
mosquitto_up() {
  local dir=$1 port=$2
  command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ] || die "mosquitto is missing: install the Debian package mosquitto"
  mkdir -p "$dir"
  if [ -f "$dir/mosquitto.pid" ] && kill -0 "$(cat "$dir/mosquitto.pid")" 2>/dev/null; then
    log "mosquitto already running in $dir"
    return 0
  fi
  cat >"$dir/mosquitto.conf" <<CONF
listener $port 127.0.0.1
allow_anonymous true
persistence true
persistence_location $dir/
max_queued_messages 1000000
max_inflight_messages 0
pid_file $dir/mosquitto.pid
log_dest file $dir/mosquitto.log
CONF
  [ "$(id -u)" = 0 ] && printf 'user root\n' >>"$dir/mosquitto.conf"
  log "starting mosquitto on 127.0.0.1:$port"
  "$(command -v mosquitto || echo /usr/sbin/mosquitto)" -c "$dir/mosquitto.conf" -d
  for _ in $(seq 1 50); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
    sleep 0.1
  done
  tail -n 20 "$dir/mosquitto.log" >&2
  die "mosquitto did not start (log above; is port $port in use?)"
}

mosquitto_down() {
  local dir=$1
  [ -f "$dir/mosquitto.pid" ] || return 0
  kill "$(cat "$dir/mosquitto.pid")" 2>/dev/null || true
  rm -f "$dir/mosquitto.pid"
}
