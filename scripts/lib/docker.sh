# shellcheck shell=bash
# Sourced by scripts/build_image and scripts/test: a Docker engine for the image build and
# the image test (TOOLING.md section 4).
#
# These machines have no init system, so when no engine answers, Debian's docker.io
# `dockerd` is started by hand, and stopped again by the last JustNet script that uses it.
# It runs without touching the host's network set-up: no iptables rules, no ip_forward, no
# docker0 bridge (--iptables=false --ip-forward=false --ip-masq=false --bridge=none). The
# image build uses the host's network (`docker build --network host`, for PyPI); the image
# test puts its containers on a user network of their own, which the host reaches directly.
# An engine that was already running is used as it is and never stopped.
#
# What stays on the machine: the docker.io and debootstrap packages (installed when missing,
# as root), and /var/lib/docker with the cached images (the base, the project image and its
# build cache: a rebuild of unchanged sources takes seconds).

DOCKER_LOCK=/run/lock/justnet-docker.lock
DOCKERD_MARK=/run/justnet-dockerd.pid # the pid of a dockerd a JustNet script started
DOCKERD_LOG=/var/log/justnet-dockerd.log
_docker_lock_fd=""
_dockerd_started="" # the pid of the dockerd this shell started

docker_engine_answers() {
  command -v docker >/dev/null && docker info >/dev/null 2>&1
}

# As root with apt: Debian's docker.io (dockerd, containerd, runc) and debootstrap, when missing.
docker_install_tools() {
  if command -v dockerd >/dev/null && command -v debootstrap >/dev/null; then
    return 0
  fi
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    return 0
  fi
  echo "installing Debian's docker.io and debootstrap ..." >&2
  (apt-get update -qq \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=300 \
      docker.io debootstrap >/dev/null) \
    || echo "could not install docker.io and debootstrap" >&2
}

# Makes sure an engine answers (starting dockerd when none does) and registers this shell as
# one of its users until docker_engine_release. Returns 1, saying why, when there is none.
docker_engine_acquire() {
  if [ -n "$_docker_lock_fd" ]; then
    return 0
  fi
  if [ "$(id -u)" != 0 ]; then
    docker_engine_answers && return 0
    echo "no Docker engine answers, and starting dockerd needs root" >&2
    return 1
  fi
  mkdir -p "$(dirname "$DOCKER_LOCK")"
  exec {_docker_lock_fd}>>"$DOCKER_LOCK"
  flock -s "$_docker_lock_fd"
  if docker_engine_answers; then
    return 0
  fi
  # Start it under the exclusive lock (another script may be starting it: ask again).
  flock -x "$_docker_lock_fd"
  if ! docker_engine_answers; then
    if ! command -v dockerd >/dev/null || ! command -v docker >/dev/null; then
      echo "no Docker engine: install Debian's docker.io (apt-get install docker.io)" >&2
      docker_engine_release
      return 1
    fi
    echo "starting dockerd (log: $DOCKERD_LOG) ..." >&2
    # setsid: a Ctrl-C meant for the script does not reach the engine; it is stopped in order.
    setsid dockerd --iptables=false --ip-forward=false --ip-masq=false --bridge=none \
      >"$DOCKERD_LOG" 2>&1 </dev/null {_docker_lock_fd}>&- &
    local pid=$! waited=0
    echo "$pid" >"$DOCKERD_MARK"
    _dockerd_started=$pid
    until docker_engine_answers; do
      if ! kill -0 "$pid" 2>/dev/null || [ "$waited" -ge 300 ]; then
        echo "dockerd did not start; the end of $DOCKERD_LOG:" >&2
        tail -n 20 "$DOCKERD_LOG" >&2 || true
        docker_engine_release
        return 1
      fi
      sleep 0.1
      waited=$((waited + 1))
    done
    echo "dockerd answers after $((waited / 10)).$((waited % 10)) s" >&2
  fi
  flock -s "$_docker_lock_fd" # shared from now on: other scripts may use the engine too
}

# Leaves the dockerd this shell started running for good: no JustNet script stops it.
docker_engine_keep() {
  if [ -n "$_dockerd_started" ] && [ "$(cat "$DOCKERD_MARK" 2>/dev/null)" = "$_dockerd_started" ]; then
    rm -f "$DOCKERD_MARK"
    echo "dockerd keeps running (pid $_dockerd_started); stop it with: kill $_dockerd_started" \
      "(then umount /run/docker/netns/default)" >&2
  fi
}

# Unregisters this shell; the last user of a dockerd that a JustNet script started stops it.
docker_engine_release() {
  if [ -z "$_docker_lock_fd" ]; then
    return 0
  fi
  if flock -x -n "$_docker_lock_fd" && [ -f "$DOCKERD_MARK" ]; then
    local pid
    pid=$(cat "$DOCKERD_MARK")
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid"
      for _ in $(seq 200); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
      done
      if kill -0 "$pid" 2>/dev/null; then
        echo "dockerd ($pid) did not stop within 20 s; killing it" >&2
        kill -KILL "$pid" 2>/dev/null || true
      else
        echo "stopped dockerd ($pid)" >&2
      fi
      # the engine leaves its default network namespace mounted
      umount /run/docker/netns/default 2>/dev/null || true
    fi
    rm -f "$DOCKERD_MARK"
  fi
  flock -u "$_docker_lock_fd"
  exec {_docker_lock_fd}>&-
  _docker_lock_fd=""
}
