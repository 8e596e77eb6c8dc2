#!/usr/bin/env bash
# Checks the league's monitoring files (deploy/); runs every check, then
# fails if any failed:
#   - deploy/prometheus/alerts.yml: valid rules (promtool check rules), each
#     alert with `for:`, a severity and a summary/description, and each
#     tested firing and not firing in alerts.test.yml;
#   - deploy/prometheus/alerts.test.yml: the rules' unit tests pass
#     (promtool test rules);
#   - deploy/prometheus/prometheus.yml: valid config (promtool check config,
#     offline);
#   - deploy/grafana/league-dashboard.json: valid JSON, every panel on the
#     ${DS_PROMETHEUS} datasource, every query valid PromQL (promtool check
#     rules on a rule file made of them, one rule dashboard:panel_<id>_<refId>
#     per query);
#   - every metric name (`league_...`) in alerts.yml and in the dashboard,
#     and `up`, is one the league agents export: the names registered in
#     crates/league-v2/src/metrics.rs, with the suffixes of their type
#     (counter `_total`, histogram `_bucket`/`_sum`/`_count`).
# Needs promtool (Debian's prometheus package: scripts/setup.sh) and python3.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

if ! command -v promtool >/dev/null 2>&1; then
    echo "check-monitoring: FAIL: promtool not found on PATH; run scripts/setup.sh (it installs Debian's prometheus package, which provides promtool)" >&2
    exit 1
fi
if ! command -v python3 >/dev/null 2>&1; then
    echo "check-monitoring: FAIL: python3 not found; run scripts/setup.sh" >&2
    exit 1
fi

alerts=deploy/prometheus/alerts.yml
tests=deploy/prometheus/alerts.test.yml
config=deploy/prometheus/prometheus.yml
dashboard=deploy/grafana/league-dashboard.json
metrics_rs=crates/league-v2/src/metrics.rs

for f in "$alerts" "$tests" "$config" "$dashboard" "$metrics_rs"; do
    if [ ! -f "$f" ]; then
        echo "check-monitoring: FAIL: $f is missing" >&2
        exit 1
    fi
done

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

failed=()

# Runs one check; a failure is recorded and the other checks still run.
step() {
    local title="$1"
    shift
    echo "== $title"
    if ! "$@"; then
        failed+=("$title")
    fi
}

echo "== dashboard, alert rules and metric names (python3)"
if ! python3 - "$alerts" "$tests" "$dashboard" "$metrics_rs" "$tmp/dashboard-exprs.yml" <<'PY'
import json
import re
import sys

alerts_path, tests_path, dash_path, metrics_path, exprs_out = sys.argv[1:6]
errors = []


def fail(msg):
    errors.append(msg)


# --- metric names the agents export, from metrics.rs ------------------------
src = open(metrics_path, encoding="utf-8").read()
m = re.search(r'Registry::with_prefix\(\s*"([a-z_]+)"\s*\)', src)
if not m:
    sys.exit(f"check-monitoring: FAIL: no Registry::with_prefix(\"...\") in {metrics_path}")
prefix = m.group(1)
struct = re.search(r"pub struct Metrics \{(.*?)\n\}", src, re.S)
if not struct:
    sys.exit(f"check-monitoring: FAIL: no `pub struct Metrics` in {metrics_path}")
field_types = dict(re.findall(r"^\s*pub (\w+): (.+?),\s*$", struct.group(1), re.M))
registered = re.findall(
    r'\.register\(\s*"(\w+)"\s*,\s*"[^"]*"\s*,\s*(\w+)\.clone\(\)\s*,?\s*\)', src)
if not registered:
    sys.exit(f"check-monitoring: FAIL: no register(...) calls found in {metrics_path}")
exported = {}
families = set()  # the names without the type's suffix, for prose
for name, var in registered:
    families.add(f"{prefix}_{name}")
    ty = field_types.get(var)
    if ty is None:
        fail(f"{metrics_path}: registered metric {name!r} ({var}) is no field of Metrics")
        continue
    base = f"{prefix}_{name}"
    if "Histogram" in ty:
        kind, names = "histogram", [base + s for s in ("_bucket", "_sum", "_count")]
    elif "Counter" in ty:
        kind, names = "counter", [base + "_total"]
    elif "Gauge" in ty:
        kind, names = "gauge", [base]
    else:
        fail(f"{metrics_path}: metric {name!r} has a type this check does not know: {ty}")
        continue
    for n in names:
        exported[n] = kind
allowed = set(exported) | {"up"}

STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
IDENT = re.compile(r"(?<![\w:$.])[a-zA-Z_:][\w:]*")


def league_names(text):
    return set(t for t in IDENT.findall(text) if t.startswith(prefix + "_"))


def check_names(where, expr):
    text = STRING.sub('""', expr)
    for name in sorted(league_names(text)):
        if name not in allowed:
            fail(f"{where}: unknown metric {name} (not exported by {metrics_path}; "
                 f"known: {', '.join(sorted(allowed))})")
    return league_names(text)


# --- alerts.yml --------------------------------------------------------------
alerts_text = open(alerts_path, encoding="utf-8").read()


def rule_exprs(text):
    """The `expr:` values of a rule file: one line, or a block scalar."""
    lines = text.split("\n")
    found = []
    for i, line in enumerate(lines):
        m = re.match(r"^(\s*)(?:- )?expr:\s*(.*)$", line)
        if not m:
            continue
        indent, rest = len(m.group(1)), m.group(2).strip()
        if rest[:1] in ("|", ">"):
            body = []
            for nxt in lines[i + 1:]:
                if nxt.strip() and len(nxt) - len(nxt.lstrip()) <= indent:
                    break
                body.append(nxt)
            found.append((i + 1, "\n".join(body)))
        else:
            found.append((i + 1, rest.strip("'\"")))
    return found


exprs_in_rules = rule_exprs(alerts_text)
if not exprs_in_rules:
    fail(f"{alerts_path}: no expr found")
for lineno, expr in exprs_in_rules:
    check_names(f"{alerts_path}:{lineno}: expr", expr)
# The prose (annotations, comments) may also name a histogram or counter
# by its family name (league_match_seconds), but only a real one.
for name in sorted(league_names(alerts_text) - allowed - families - {prefix + "_"}):
    fail(f"{alerts_path}: names unknown metric {name} (not in {metrics_path})")
blocks = re.split(r"^\s*- alert:\s*", alerts_text, flags=re.M)[1:]
if not blocks:
    fail(f"{alerts_path}: no alerts")
alert_names = []
for block in blocks:
    block = re.split(r"^\s*- (?:alert|record):", block, flags=re.M)[0]
    block = re.split(r"^\s*- name:", block, flags=re.M)[0]
    name = block.split()[0]
    alert_names.append(name)
    for key in ("expr:", "for:", "severity:", "summary:", "description:"):
        if not re.search(rf"^\s*{key}", block, re.M):
            fail(f"{alerts_path}: alert {name} has no `{key}`")
    sev = re.search(r"^\s*severity:\s*(\S+)", block, re.M)
    if sev and sev.group(1) not in ("critical", "warning", "info"):
        fail(f"{alerts_path}: alert {name}: severity {sev.group(1)!r} is not critical/warning/info")

# --- alerts.test.yml covers each alert, firing and silent ---------------------
tests_text = open(tests_path, encoding="utf-8").read()
for name in alert_names:
    if not re.search(rf"alertname:\s*{name}\s*\n\s*exp_alerts:\s*\n\s*- exp_labels:", tests_text):
        fail(f"{tests_path}: no test case where {name} fires (alertname: {name} then a non-empty exp_alerts)")
    if not re.search(rf"alertname:\s*{name}\s*\n\s*exp_alerts:\s*\[\]", tests_text):
        fail(f"{tests_path}: no test case where {name} must not fire (alertname: {name} then exp_alerts: [])")
for name in set(re.findall(r"alertname:\s*(\w+)", tests_text)) - set(alert_names):
    fail(f"{tests_path}: tests alert {name}, which is not in {alerts_path}")

# --- the Grafana dashboard -----------------------------------------------------
try:
    dash = json.load(open(dash_path, encoding="utf-8"))
except (OSError, ValueError) as e:
    sys.exit(f"check-monitoring: FAIL: {dash_path}: not valid JSON: {e}")

DS_UID = "${DS_PROMETHEUS}"
if not any(i.get("name") == "DS_PROMETHEUS" and i.get("pluginId") == "prometheus"
           for i in dash.get("__inputs", [])):
    fail(f"{dash_path}: no __inputs entry DS_PROMETHEUS (pluginId prometheus)")
if not isinstance(dash.get("schemaVersion"), int) or dash["schemaVersion"] < 36:
    fail(f"{dash_path}: schemaVersion {dash.get('schemaVersion')!r}, want >= 36")
for key in ("title", "uid"):
    if not dash.get(key):
        fail(f"{dash_path}: no {key}")


def all_panels(panels):
    for p in panels:
        yield p
        yield from all_panels(p.get("panels", []))


def grafana_to_promql(expr):
    """The query as Prometheus sees it once Grafana filled its variables."""
    expr = re.sub(r"\$__(rate_interval|interval|range)|\$\{__(rate_interval|interval|range)\}", "5m", expr)
    return re.sub(r"\$\{?\w+\}?", ".*", expr)


exprs = []  # (record name, where, PromQL)
ids = set()
panels = list(all_panels(dash.get("panels", [])))
if not panels:
    fail(f"{dash_path}: no panels")
for p in panels:
    where = f"{dash_path}: panel {p.get('id')} {p.get('title')!r}"
    if p.get("id") in ids:
        fail(f"{where}: duplicate panel id")
    ids.add(p.get("id"))
    if p.get("type") == "row":
        continue
    if p.get("datasource", {}).get("uid") != DS_UID:
        fail(f"{where}: datasource is not {DS_UID}")
    targets = p.get("targets") or []
    if not targets:
        fail(f"{where}: no queries")
    for t in targets:
        expr = t.get("expr", "")
        tw = f"{where} query {t.get('refId')}"
        if not expr.strip():
            fail(f"{tw}: empty expr")
            continue
        if t.get("datasource", {}).get("uid", DS_UID) != DS_UID:
            fail(f"{tw}: datasource is not {DS_UID}")
        names = check_names(tw, expr)
        if not names and not re.search(r"(?<![\w:])up(?![\w:])", STRING.sub('""', expr)):
            fail(f"{tw}: queries no league metric: {expr}")
        exprs.append((f"dashboard:panel_{p.get('id')}_{t.get('refId')}", tw, grafana_to_promql(expr)))
for v in dash.get("templating", {}).get("list", []):
    if v.get("type") != "query":
        continue
    q = v.get("query")
    q = q.get("query", "") if isinstance(q, dict) else (q or "")
    where = f"{dash_path}: variable {v.get('name')}"
    if v.get("datasource", {}).get("uid") != DS_UID:
        fail(f"{where}: datasource is not {DS_UID}")
    lv = re.fullmatch(r"\s*label_values\((.*),\s*\w+\s*\)\s*", q)
    sel = lv.group(1) if lv else q
    check_names(where, sel)
    exprs.append((f"dashboard:variable_{v.get('name')}", where, grafana_to_promql(sel)))

# Every query goes through promtool's parser as a recording rule.
with open(exprs_out, "w", encoding="utf-8") as out:
    out.write("groups:\n  - name: dashboard\n    rules:\n")
    for record, where, expr in exprs:
        out.write(f"      # {where}\n      - record: {record}\n")
        out.write(f"        expr: {json.dumps(expr)}\n")

if errors:
    for e in errors:
        print(f"check-monitoring: FAIL: {e}", file=sys.stderr)
    sys.exit(1)
print(f"{len(alert_names)} alerts ({', '.join(alert_names)}), each tested firing and silent")
rows = sum(p.get("type") == "row" for p in panels)
print(f"{len(panels) - rows} dashboard panels in {rows} rows, {len(exprs)} queries; "
      f"{len(exported)} exported metric names from {metrics_path}, all names used are among them")
PY
then
    failed+=("dashboard, alert rules and metric names")
fi

step "promtool check rules $alerts" promtool check rules "$alerts"
step "promtool test rules $tests" promtool test rules "$tests"
step "promtool check config $config" promtool check config "$config"
if [ -f "$tmp/dashboard-exprs.yml" ]; then
    step "promtool check rules (the queries of $dashboard)" promtool check rules "$tmp/dashboard-exprs.yml"
else
    failed+=("the queries of $dashboard (not checked: the dashboard could not be read)")
fi

if ((${#failed[@]})); then
    echo "check-monitoring: FAIL: ${#failed[@]} check(s) failed:" >&2
    for f in "${failed[@]}"; do
        echo "  - $f" >&2
    done
    exit 1
fi
echo "check-monitoring: OK"
