# Sourced by ./justnet and scripts/test: makes .venv from the pinned lock file once,
# and again only when the lock file changes. Usage: ensure_venv requirements/X.txt
ensure_venv() {
  local lock="$1" root venv stamp want
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
  venv="$root/.venv"
  stamp="$venv/.justnet-lock"
  want="$(cat "$root/$lock" "$root/pyproject.toml" | sha256sum | cut -c1-16) $lock"
  if [ -f "$stamp" ] && grep -qxF "$want" "$stamp"; then
    return 0
  fi
  # dev.txt includes everything runtime.txt has; a dev venv serves both.
  if [ "$lock" = requirements/runtime.txt ] && [ -f "$stamp" ] && grep -q "requirements/dev.txt" "$stamp" \
     && grep -qF "$(cat "$root/requirements/dev.txt" "$root/pyproject.toml" | sha256sum | cut -c1-16)" "$stamp"; then
    return 0
  fi
  local python="${PYTHON:-python3}"
  if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "JustNet needs Python 3.11 or newer as '$python' (set PYTHON=...)" >&2
    return 2
  fi
  echo "setting up $venv from $lock ..." >&2
  [ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$root/$lock"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps -e "$root"
  echo "$want" > "$stamp"
}
