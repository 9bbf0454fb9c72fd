#!/usr/bin/env bash
# Fails when the repository stops standing alone: an absolute path of one particular machine, or a citation of
# the model's design note that lives outside the repository (docs/model.md is the reference code cites).
#
#   scripts/check-standalone.sh          # from anywhere; scans the repository's files, prints offending lines
#
# Scans what git would commit (tracked files plus untracked ones that are not ignored; build output such as
# .build* is ignored), text files only. Exit 0: clean; 1: offending lines listed; 2: usage/environment error.
set -euo pipefail
cd "$(dirname "$0")/.."

self=scripts/check-standalone.sh

# Absolute paths of a development machine: home and work folders, root's home, fixed temp and opt paths.
# Temp files go through mktemp/tempfile (which honour $TMPDIR), data through repo-relative defaults.
# Top-level folders of machines, written as a pattern built from names so this file names no path itself.
roots=(work home root tmp opt Users mnt)
machine_path=$(printf '/%s/|' "${roots[@]}"); machine_path=${machine_path%|}
# Citations of the design note outside the repository; cite docs/model.md sections instead.
external_spec='spec §|shared/spec|cnn_autoencoder_3\.md'

# Allowed hits: "path|fixed text on the line" — each with the reason it is not a machine path.
allowlist=(
  # Optional wheel cache some machines provide; setup.sh falls back to the package index without it.
  "scripts/setup.sh|wheels/torch-*+cpu-*.whl"
)

files=()
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  while IFS= read -r -d '' f; do
    [ -f "$f" ] && [ "$f" != "$self" ] && files+=("$f")
  done < <(git ls-files -z --cached --others --exclude-standard)
else
  while IFS= read -r -d '' f; do
    f=${f#./}
    [ "$f" != "$self" ] && files+=("$f")
  done < <(find . \( -name .git -o -name '.build*' -o -name '*.egg-info' -o -name __pycache__ -o -name .pytest_cache \
             -o -name .swiftpm -o -name .venv -o -name .schemathesis -o -name runs \) -prune \
             -o -type f -print0)
fi
[ "${#files[@]}" -gt 0 ] || { echo "check-standalone: no files found" >&2; exit 2; }

allowed() {  # $1 = "path:line:text"
  local hit=$1 entry path text
  for entry in "${allowlist[@]}"; do
    path=${entry%%|*}
    text=${entry#*|}
    [[ $hit == "$path":* && $hit == *"$text"* ]] && return 0
  done
  return 1
}

status=0
report() {  # $1 = title, $2 = extended regex, $3 = grep flags
  local hits line bad=()
  hits=$(printf '%s\0' "${files[@]}" | xargs -0 grep -nIE ${3:+"$3"} -e "$2" -- 2>/dev/null || true)
  while IFS= read -r line; do
    [ -n "$line" ] || continue
    allowed "$line" || bad+=("$line")
  done <<< "$hits"
  if [ "${#bad[@]}" -gt 0 ]; then
    echo "check-standalone: $1:" >&2
    printf '  %s\n' "${bad[@]}" >&2
    status=1
  fi
}

report "absolute machine paths (use a repo-relative path, mktemp, or a documented variable)" "$machine_path" ""
report "citations of the external model note (cite docs/model.md instead)" "$external_spec" "-i"

# Every "docs/model.md §N" (and "§N–§M") citation must name a section "## N." of docs/model.md.
if [ -f docs/model.md ]; then
  sections=$(grep -oE '^## [0-9]+\.' docs/model.md | grep -oE '[0-9]+' | sort -u)
  cited=$(printf '%s\0' "${files[@]}" | xargs -0 grep -ohIE 'model\.md §[0-9]+(–§[0-9]+)?' -- 2>/dev/null \
            | grep -oE '[0-9]+' | sort -u || true)
  for n in $cited; do
    grep -qx "$n" <<< "$sections" && continue
    echo "check-standalone: docs/model.md §$n is cited but docs/model.md has no section $n" >&2
    status=1
  done
else
  echo "check-standalone: docs/model.md is missing" >&2
  status=1
fi

if [ "$status" -eq 0 ]; then
  echo "check-standalone: OK (${#files[@]} files; no machine paths, no external spec citations, every docs/model.md §N exists)"
fi
exit "$status"
