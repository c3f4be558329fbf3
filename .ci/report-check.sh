#!/usr/bin/env bash
# Loads a bloodsim report.html in headless Chromium and checks that
#   - the browser logs no console message (the report has no scripts, so any message is an error),
#   - no network or resource load was attempted (external hosts are mapped to NOTFOUND),
#   - every chart is in the rendered DOM as <figure class="chart" id="chart-STEM"> with an inline <svg>.
# Expected charts: the stems of RESULTS_DIR/plots/*.svg if that directory exists, else the
# chart links of the report's table of contents.
#
# Usage: .ci/report-check.sh RESULTS_DIR/report.html [SCREENSHOT.png]
# Needs: chromium (Debian: apt-get install -y chromium).
set -euo pipefail

report=${1:?usage: report-check.sh path/to/report.html [screenshot.png]}
screenshot=${2:-}
[ -f "$report" ] || { echo "report-check: no such file: $report" >&2; exit 2; }
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
[ -n "$browser" ] || { echo "report-check: chromium not found" >&2; exit 2; }

abs=$(cd "$(dirname "$report")" && pwd)/$(basename "$report")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

flags=(--headless --no-sandbox --disable-gpu --disable-dev-shm-usage --disable-extensions
       --mute-audio --disable-background-networking --disable-component-update
       --disable-sync --no-first-run --enable-logging=stderr --v=0
       "--host-resolver-rules=MAP * ~NOTFOUND")

# A loaded CI machine (cargo test runs Monte Carlo tests beside this one on 2 cores) can make
# Chromium itself crash before it renders anything ("Network service crashed", exit 1 with no
# DOM). That says nothing about the report, so the launch is retried; the checks below are not.
attempt=1
until timeout 120 "$browser" "${flags[@]}" --user-data-dir="$work/profile$attempt" --dump-dom "file://$abs" \
        > "$work/dom.html" 2> "$work/stderr.log"; do
    status=$?
    echo "report-check: chromium exited with status $status (attempt $attempt of 3)" >&2
    if [ "$attempt" -ge 3 ]; then
        cat "$work/stderr.log" >&2
        echo "report-check: chromium failed" >&2
        exit 1
    fi
    attempt=$((attempt + 1))
    sleep 2
done

fail=0
if grep -E ':CONSOLE|net::ERR_|Refused to|Failed to load resource' "$work/stderr.log" >&2; then
    echo "report-check: browser console errors or resource loads (above)" >&2
    fail=1
fi

# Chromium does not log failed image loads at this log level, so also check the source.
if grep -Eo '(src|href|xlink:href)="(https?:)?//[^"]*"|url\((https?:)?//[^)]*\)' "$report" >&2; then
    echo "report-check: external references in the report (above)" >&2
    fail=1
fi

plots_dir=$(dirname "$abs")/plots
if compgen -G "$plots_dir/*.svg" > /dev/null; then
    expected=$(for f in "$plots_dir"/*.svg; do basename "$f" .svg; done)
else
    expected=$(grep -o 'href="#chart-[^"]*"' "$report" | sed 's/^href="#chart-//; s/"$//')
fi
[ -n "$expected" ] || { echo "report-check: no charts expected?" >&2; fail=1; }

# One figure per line, so that each chart's id and its <svg> can be matched together.
tr '\n' ' ' < "$work/dom.html" | sed 's#<figure#\n<figure#g; s#</figure>#</figure>\n#g' > "$work/figures.txt"
count=0
for stem in $expected; do
    count=$((count + 1))
    if ! grep -F "id=\"chart-$stem\"" "$work/figures.txt" | grep -q '<svg'; then
        echo "report-check: chart $stem missing from the DOM (or has no <svg>)" >&2
        fail=1
    fi
done
figures=$(grep -c '^<figure class="chart"' "$work/figures.txt" || true)
if [ "$figures" -ne "$count" ]; then
    echo "report-check: $figures chart figures in the DOM, expected $count" >&2
    fail=1
fi

if [ -n "$screenshot" ]; then
    timeout 120 "$browser" "${flags[@]}" --user-data-dir="$work/profile2" --window-size=1400,3000 \
        --screenshot="$screenshot" "file://$abs" 2> /dev/null || echo "report-check: screenshot failed" >&2
fi

if [ "$fail" -ne 0 ]; then
    exit 1
fi
echo "report-check: OK ($count charts, no console errors): $report"
