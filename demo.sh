#!/usr/bin/env bash
# End-to-end demo on a throwaway copy of this repo's prompts/:
# lint, release, inspect, render, immutability, then a 10% canary served by the lookup API,
# looked up from the Python SDK, and rolled back with one command.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
server=""
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
cd "$work"
git init -q && git config user.name "Demo" && git config user.email "demo@example.com"
cp -r "$here/prompts" . && git add -A && git commit -qm "prompts v1"

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }
step promptctl lint
step promptctl release
step promptctl list
step promptctl show support
step promptctl render support --var customer=Ann --var question="Where is my parcel?" --var order_id=A-1042

printf '\nA released version is immutable; editing it without a version bump is refused:\n'
sed -i 's/Answer only from/Answer strictly from/' prompts/support.prompt.yaml
git commit -qam "tweak support prompt without a bump"
step promptctl release || echo "(exit code $?)"

printf '\nSo bump it (a template change is a minor bump) and release 1.1.0:\n'
sed -i 's/^version: 1.0.0/version: 1.1.0/' prompts/support.prompt.yaml
git commit -qam "support 1.1.0: answer strictly from the knowledge base"
step promptctl release
step promptctl promote support 1.0.0 --env production --reason "baseline"
step promptctl promote support 1.1.0 --env production --percent 10 --reason "canary: stricter grounding"
step promptctl status --env production

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
token="$(promptctl token create --role reader --env production --name demo --json \
         | python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])')"
printf '\n\033[1m$ promptctl serve --port %s &\033[0m\n' "$port"
promptctl serve --port "$port" > serve.log 2>&1 &
server=$!
python3 -c 'import sys; from promptctl.remote import wait_until_healthy; wait_until_healthy(sys.argv[1], 20)' \
        "http://127.0.0.1:$port" 2>/dev/null \
    || { echo "the lookup API did not start: see serve.log" >&2; exit 1; }

cat > lookup.py <<'PY'
import sys, time
from collections import Counter
from promptctl.client import Registry

url, token = sys.argv[1], sys.argv[2]
with Registry(url, "production", token, fallback_path="snapshot.json") as reg:
    split = Counter(reg.get("support", key=f"user-{i}").version for i in range(10_000))
    print("10,000 users:", dict(sorted(split.items())))
    canary_user = next(f"user-{i}" for i in range(10_000)
                       if reg.get("support", key=f"user-{i}").variant == "canary")
    bundle = reg.get("support", key=canary_user)
    print(canary_user, "gets", bundle.version, bundle.variant, "fingerprint", bundle.fingerprint[:16])
    print("log with each LLM call:", bundle.trace())
    print("waiting for the rollback ...")
    deadline = time.monotonic() + 30
    while reg.get("support", key=canary_user).variant == "canary" and time.monotonic() < deadline:
        time.sleep(0.01)
    split = Counter(reg.get("support", key=f"user-{i}").version for i in range(10_000))
    print("the SDK saw the rollback; 10,000 users now:", dict(sorted(split.items())))
PY
printf '\n\033[1m$ python lookup.py  # the SDK, connected to the server\033[0m\n'
python lookup.py "http://127.0.0.1:$port" "$token" < /dev/null &
reader=$!
sleep 2
step promptctl rollback support --env production --reason "grounding too strict"
wait "$reader"
step promptctl history support --env production

printf '\n\033[1mEval gates.\033[0m production now requires a passing run of the golden suite\n'
printf '(prompts/support-golden.eval.yaml: 120 cases; its provider, prompts/standin_model.py, is a\n'
printf 'deterministic STAND-IN FOR A MODEL, since no model can be reached here):\n'
cat > promptctl.toml <<'TOML'
[environments.development]
[environments.staging]
[environments.production]
require_eval = "support-golden"
TOML
git add promptctl.toml && git commit -qm "gate production on the golden suite"

rewrite() {  # rewrite VERSION: give support a new version whose system prompt is stdin
  system="$(cat)" python3 - "$1" <<'PY'
import os, re, sys
path = "prompts/support.prompt.yaml"
text = open(path).read()
text = re.sub(r"(?m)^version: .*$", f"version: {sys.argv[1]}", text, count=1)
old = text[text.index("  system: |"):text.index("  user: |")]
open(path, "w").write(text.replace(old, "  system: |\n" + "".join(
    "    " + line + "\n" for line in os.environ["system"].splitlines())))
PY
}

printf '\nA well-meant rewrite: friendlier, and about 40%% more tokens per call:\n'
rewrite 1.2.0 <<'TXT'
You are the friendly support agent for Acme. Answer only from the knowledge base
(use the search-kb tool) and cite the article titles you used.
Keep answers focused: never mention delivery times, they change too often.
Always thank the customer for their patience.
{% if tier == "premium" %}The customer is on the premium plan: offer a call-back.{% endif %}
If you cannot answer, open a ticket with create-ticket instead of guessing.
TXT
git commit -qam "support 1.2.0: friendlier" && promptctl release > /dev/null
step promptctl eval run support@1.2.0 --against production -j 8 || echo "(exit code $?: the gate failed)"
step promptctl promote support 1.2.0 --env production || echo "(exit code $?: refused)"

printf '\nA real improvement: the same instructions in fewer tokens:\n'
rewrite 1.3.0 <<'TXT'
Acme support agent. Answer from the knowledge base (search-kb); cite the article titles.
{% if tier == "premium" %}The customer is on the premium plan: offer a call-back.{% endif %}
Cannot answer? Open a ticket with create-ticket.
TXT
git commit -qam "support 1.3.0: shorter" && promptctl release > /dev/null
step promptctl eval run support@1.3.0 --against production -j 8
step promptctl promote support 1.3.0 --env production --reason "passed the golden suite"
step promptctl eval list
