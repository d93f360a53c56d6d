#!/usr/bin/env bash
# End-to-end demo on a throwaway copy of this repo's prompts/: release, inspect, render.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
git init -q && git config user.name "Demo" && git config user.email "demo@example.com"
cp -r "$here/prompts" . && git add -A && git commit -qm "prompts v1"

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }
step promptctl lint
step promptctl release
step promptctl list
step promptctl show support
step promptctl render support --var customer=Ann --var question="Where is my parcel?" --var order_id=A-1042
step git tag -l
printf '\nA released version is immutable; editing it without a version bump is refused:\n'
sed -i 's/Answer only from/Answer strictly from/' prompts/support.prompt.yaml
git commit -qam "tweak support prompt without a bump"
step promptctl release || echo "(exit code $?)"
