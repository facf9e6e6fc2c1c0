#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The answer page of `agebench report` on synthetic results with known
# answers (blocked rounds, batch 1 and 64): Q4 "sizable" for a bitmap@64 15%
# cheaper than fast_only@1 and "not sizable" for 3%; on data shaped like a
# quick run (per-PTE calls 16x dearer per page, bitmap dearer at the same call
# size) "sizable", with the same-call-size row saying the opposite; a change
# of the host's load between rounds gives no verdict; a bimodal locked is
# flagged; a true -12% gain is found in most of 20 simulated runs; Q3 names
# no largest step when two steps are alike; Q1 "not answered" without macro results (and naming
# what the macro results lack when they have no fast_or_locked); the page
# heads report.txt within 60 lines and 80 columns; answers.json says what the
# text says; --cover-letter merges runs within 72 columns.
#   test_answers.sh AB_TOOL AB_SYNTH PLOTS_DIR
set -uo pipefail
tool=$1 synth=$2 plots=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export AGEBENCH_PLOTS_DIR=$plots
fails=0 checks=0
ok() { checks=$((checks + 1)); }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); checks=$((checks + 1)); }
has() { if grep -Eq -- "$2" "$1"; then ok; else bad "$1 lacks /$2/"; fi; }
# json FILE EXPR: a Python expression over the loaded answers.json `a` must hold
json() {
	if python3 -c 'import json,sys; a=json.load(open(sys.argv[1])); sys.exit(0 if eval(sys.argv[2]) else 1)' "$1" "$2"; then
		ok
	else
		bad "$1: $2 ($(python3 -c 'import json,sys; a=json.load(open(sys.argv[1])); print({k: v["verdict"] for k, v in a.items()})' "$1"))"
	fi
}
run() { # run NAME SYNTH-ARGS...: a run dir with a report
	local d=$tmp/$1
	shift
	mkdir -p "$d"
	"$synth" "$d/results.json" --reps 10 --batches 1,64 --rounds "$@" >/dev/null || bad "ab_synth $*"
	if "$tool" report --no-figures "$d" >"$d/out" 2>"$d/err"; then ok; else
		bad "report $d: exit $?"; cat "$d/err"
	fi
}
page_checks() { # the page: first, at most 60 lines, 80 columns, Q1..Q4 in order
	local r=$1/report.txt n
	if [[ $(sed -n 3p "$r") == "Answers to the reviewers' questions" ]]; then ok; else bad "$r: the answers are not first"; fi
	n=$(awk '/^Answers to the reviewers/ { s = NR } /^Machine and software/ { print NR - s; exit }' "$r")
	if [[ -n $n ]] && ((n <= 60)); then ok; else bad "$r: the answer page has ${n:-?} lines (max 60)"; fi
	if awk 'length > 80 { bad = 1 } END { exit bad }' "$r"; then ok; else bad "$r has lines over 80 columns"; fi
	if [[ $(grep -Eo '^Q[1-4] ' "$r" | tr -d ' \n') == Q1Q2Q3Q4 ]]; then ok; else bad "$r: Q1..Q4 not in order"; fi
	# every verdict of answers.json is in the text (wrapped lines joined)
	if python3 - "$1" <<'PY'; then ok; else bad "$1: answers.json and report.txt disagree"; fi
import json, re, sys
d = sys.argv[1]
a = json.load(open(d + "/answers.json"))
text = re.sub(r"\s+", " ", open(d + "/report.txt").read())
miss = [q for q, v in a.items() if re.sub(r"\s+", " ", v["verdict"]) not in text]
if miss:
    print("verdicts not in report.txt:", miss)
sys.exit(1 if miss else 0)
PY
}

# bitmap@64 15% cheaper than fast_only@1, tight repetitions
run sizable --mode-rel bitmap=fast_only:-15
page_checks "$tmp/sizable"
has "$tmp/sizable/report.txt" '^  verdict: sizable: x0\.85 '
json "$tmp/sizable/answers.json" 'a["Q4"]["answered"] and a["Q4"]["verdict"].startswith("sizable")'
json "$tmp/sizable/answers.json" 'a["Q4"]["headline"]["label"] == "bitmap@64 vs fast_only@1" and a["Q4"]["headline"]["significant"] and a["Q4"]["headline"]["primary"]'
json "$tmp/sizable/answers.json" '-15.5 < a["Q4"]["headline"]["shift_pct"] < -14.5 and a["Q4"]["headline"]["paired"] and a["Q4"]["headline"]["scale"] == "ratio"'
# the same-call-size comparison is a secondary row beside it
json "$tmp/sizable/answers.json" '[(r["label"], r["primary"]) for r in a["Q4"]["rows"]] == [("bitmap@64 vs fast_only@1", True), ("bitmap@64 vs fast_only@64", False)]'
# no macro results: Q1 is not answered and says what to run
json "$tmp/sizable/answers.json" 'not a["Q1"]["answered"] and "macro" in a["Q1"]["missing"] and a["Q1"]["command"].startswith("agebench macro")'
has "$tmp/sizable/report.txt" '^  verdict: not answered: total behaviour needs macro'
# Q2: cost and vCPU blocked time per mode against locked, both primaries
json "$tmp/sizable/answers.json" 'a["Q2"]["answered"] and {r["label"] for r in a["Q2"]["rows"]} == {"read_locked", "fast_only", "bitmap"}'
json "$tmp/sizable/answers.json" '[r["metric"] for r in a["Q2"]["rows"] if r["label"] == "read_locked"] == ["ns_per_page", "vcpu_blocked_frac"] and all(r["primary"] for r in a["Q2"]["rows"])'
json "$tmp/sizable/answers.json" 'a["Q2"]["verdict"] == "3 of 3 modes cost significantly less per page than locked; 3 of 3 block the vCPUs significantly less"'
json "$tmp/sizable/answers.json" 'a["Q2"]["source"].startswith("model (mechanism only")'
# a quantity that reaches 0 is a difference in its unit, not "-100%"
json "$tmp/sizable/answers.json" '[r["scale"] for r in a["Q2"]["rows"] if r["label"] == "fast_only"] == ["ratio", "difference"]'
# Q3: the three steps (secondary), the three step differences (primary)
json "$tmp/sizable/answers.json" '[r["label"] for r in a["Q3"]["rows"]] == ["locked -> read_locked", "read_locked -> fast_only", "fast_only@1 -> bitmap@64", "lock type step / no lock", "lock type step / bitmap", "no lock step / bitmap"]'
json "$tmp/sizable/answers.json" '[r["primary"] for r in a["Q3"]["rows"]] == [False] * 3 + [True] * 3'
# Holm over every primary: p_holm >= p, the page says how many
json "$tmp/sizable/answers.json" 'all(r["p_holm"] >= r["p"] for q in a.values() for r in q["rows"] if r["primary"] and r["measured"])'
json "$tmp/sizable/answers.json" 'all(r["p_holm"] is None for q in a.values() for r in q["rows"] if not r["primary"])'
has "$tmp/sizable/report.txt" 'primary \(Holm over 10\)'
# ratios are never truncated or printed as ">+9999%"
if grep -q '9999' "$tmp/sizable/report.txt"; then bad "a truncated effect on the page"; else ok; fi

# 3% cheaper: significant, but not sizable
run small --mode-rel bitmap=fast_only:-3
page_checks "$tmp/small"
json "$tmp/small/answers.json" 'a["Q4"]["verdict"].startswith("not sizable") and a["Q4"]["headline"]["significant"]'

# data like a quick run: per-PTE calls dearer per page (batch 1 x16), bitmap
# x1.5 dearer than fast_only at the same call size: Q4 compares the callers
# and says sizable; the same-call-size row says bitmap is dearer
run today --vcpus 1 --noise 0.05 --seed 3 --batch-factor 64:0.0625 --mode-rel bitmap=fast_only:50
json "$tmp/today/answers.json" 'a["Q4"]["verdict"].startswith("sizable") and a["Q4"]["headline"]["estimate"] < 0.15'
json "$tmp/today/answers.json" 'a["Q4"]["rows"][1]["estimate"] > 1.3 and a["Q4"]["rows"][1]["significant"]'

# the host's load changes between rounds (x1.6 from round 5 on, every mode
# alike), bitmap@64 = fast_only@1: paired within rounds, no Q4 verdict
run drift --vcpus 1 --noise 0.03 --seed 5 --drift 5:1.6 --mode-rel bitmap=fast_only:0
json "$tmp/drift/answers.json" 'not a["Q4"]["headline"]["significant"] and not a["Q4"]["verdict"].startswith("sizable")'
json "$tmp/drift/answers.json" '0.95 < a["Q4"]["headline"]["estimate"] < 1.05'
# ... and the drift shows: every base is flagged as two regimes split by round
json "$tmp/drift/answers.json" 'a["Q4"]["headline"]["bimodal_base"] and a["Q4"]["headline"]["host_shift_base"]'

# a bimodal locked (its second half x1.7) is flagged in every Q2 row
run bimodal --vcpus 1 --bimodal locked
json "$tmp/bimodal/answers.json" 'all(r["bimodal_base"] for r in a["Q2"]["rows"] if r["scale"] == "ratio")'
json "$tmp/bimodal/answers.json" 'not any(r["bimodal_base"] for r in a["Q4"]["rows"])'
has "$tmp/bimodal/report.txt" '^  P read_locked .*x[0-9.]+ \[x[0-9.]+, x[0-9.]+\]!'

# Q3: lock type x0.80 and no lock x0.81 overlap: no largest step; the
# bitmap step (x0.926) is not it either
run q3tie --vcpus 1 --noise 0.03 --seed 7 --mode-rel read_locked=locked:-20 \
	--mode-rel fast_only=locked:-35.2 --mode-rel bitmap=locked:-40
json "$tmp/q3tie/answers.json" 'a["Q3"]["answered"] and a["Q3"]["verdict"].startswith("no step is significantly larger")'
# the same steps with no lock x0.5: no lock is the largest
run q3win --vcpus 1 --noise 0.03 --seed 7 --mode-rel read_locked=locked:-20 \
	--mode-rel fast_only=locked:-60 --mode-rel bitmap=locked:-62
json "$tmp/q3win/answers.json" 'a["Q3"]["verdict"].startswith("the largest step is no lock")'

# power: a true -12% (bitmap@64 vs fast_only@1, 3% noise per value) at the
# default 10 rounds is found (the Holm-adjusted primary significant) in at
# least 16 of 20 simulated runs; how often it is also "sizable" is printed
found=0 sizable=0
for s in $(seq 1 20); do
	d=$tmp/power$s
	mkdir -p "$d"
	"$synth" "$d/results.json" --reps 10 --batches 1,64 --rounds --vcpus 1 --noise 0.03 \
		--seed "$s" --mode-rel bitmap=fast_only:-12 >/dev/null
	"$tool" report --no-figures "$d" >/dev/null 2>&1 || bad "report power$s"
	read -r f z < <(python3 -c 'import json,sys; a=json.load(open(sys.argv[1]))["Q4"]; print(int(a["headline"]["significant"]), int(a["verdict"].startswith("sizable")))' "$d/answers.json")
	found=$((found + f)) sizable=$((sizable + z))
done
echo "power: a true -12% found in $found of 20 runs, sizable in $sizable"
if ((found >= 16)); then ok; else bad "power: a true -12% found in $found of 20 runs (want >= 16)"; fi

# macro results without fast_or_locked: Q1 names what they lack
mkdir -p "$tmp/withmacro"
cp "$tmp/small/results.json" "$tmp/withmacro/"
"$synth" "$tmp/withmacro/macro.json" --reps 10 --macro --backend macro >/dev/null
if "$tool" report --no-figures "$tmp/withmacro" >/dev/null 2>&1; then ok; else bad "report withmacro"; fi
json "$tmp/withmacro/answers.json" 'not a["Q1"]["answered"] and "lack" in a["Q1"]["missing"]'

# one mode only (the lab's per-mode runs): each question says what it lacks,
# in its own block (a not-answered verdict once went to the next question)
run onlylocked --only-locked
json "$tmp/onlylocked/answers.json" 'all(not a[q]["answered"] for q in ("Q2", "Q3", "Q4"))'
json "$tmp/onlylocked/answers.json" '"besides locked" in a["Q2"]["missing"] and "read_locked" in a["Q3"]["missing"] and "bitmap" in a["Q4"]["missing"]'
json "$tmp/onlylocked/answers.json" 'all(a[q]["verdict"].startswith("not answered: ") for q in a)'

# the Q3 waterfall figure: one block, the three steps, cumulative = product of the steps
mkdir -p "$tmp/fig"
"$synth" "$tmp/fig/results.json" --reps 10 --batches 1,64 --rounds >/dev/null
"$tool" report "$tmp/fig" >/dev/null 2>&1 || bad "report with figures"
w=$tmp/fig/figures/data/answers_q3_waterfall.dat
if [[ $(grep -c '^[1-3] "' "$w" 2>/dev/null) == 3 ]]; then ok; else bad "$w: want 3 steps"; fi
if awk '/^[1-3] "/ { c = (1 + c / 100) * (1 + $(NF - 3) / 100) * 100 - 100; if (c - $NF > 0.01 || $NF - c > 0.01) bad = 1 } END { exit bad }' "$w"; then ok; else bad "$w: cumulative column is not the product of the steps"; fi
if [[ -s $tmp/fig/figures/answers_q3_waterfall.png && -s $tmp/fig/figures/answers_q3_waterfall.svg ]]; then ok; else bad "waterfall PNG/SVG missing"; fi

# Q3 with macro results: the macro outcome's steps under their own "at:"
# line, beside the micro ones; the figure stays the micro cost
mkdir -p "$tmp/q3m/a" "$tmp/q3m/m"
"$synth" "$tmp/q3m/a/results.json" --reps 10 --batches 1,64 --rounds >/dev/null
"$synth" "$tmp/q3m/m/results.json" --reps 10 --macro --backend macro >/dev/null
"$tool" report --cover-letter "$tmp/q3m/a" "$tmp/q3m/m" >"$tmp/q3m/cover" 2>&1 || bad "cover letter q3m: exit $?"
if awk '/^Q3 /,/^Q4 /' "$tmp/q3m/cover" | grep -q '^  at:      macro '; then ok; else bad "Q3 lacks the macro outcome block"; fi
if [[ $(awk '/^Q3 /,/^Q4 /' "$tmp/q3m/cover" | grep -c 'refault_pages') == 3 ]]; then ok; else bad "Q3: want 3 macro refault_pages steps"; fi
if awk '/^Q3 /,/^Q4 /' "$tmp/q3m/cover" | grep -q 'source:  micro: model .*; macro: '; then ok; else bad "Q3 source does not name the macro data"; fi

# a macro run's directory holds results.json and its copy macro.json: one source
mkdir -p "$tmp/mrun"
"$synth" "$tmp/mrun/results.json" --reps 10 --macro --backend macro >/dev/null
cp "$tmp/mrun/results.json" "$tmp/mrun/macro.json"
"$tool" report --cover-letter "$tmp/sizable" "$tmp/mrun" >"$tmp/mrun/cover" 2>&1 || bad "cover letter mrun: exit $?"
if grep -q '^  \[2\] ' "$tmp/mrun/cover" && ! grep -q '^  \[3\] ' "$tmp/mrun/cover"; then ok; else bad "cover letter: a macro run's macro.json counted as a second source"; fi
# the answers' run lines are the recorded commands, without where the output went
if awk '/^  run: /,/^$/' "$tmp/mrun/cover" | grep -q -- '--out'; then bad "a run line carries --out"; else ok; fi
if grep -q '^  run:     agebench run --backend model --reps 10' "$tmp/mrun/cover"; then ok; else bad "Q2-Q4 run lines are not the recorded command"; fi
# a command an earlier answer gave is not repeated: Q3 and Q4 run what Q2 ran
if [[ $(grep -c '^  run:     as Q2$' "$tmp/mrun/cover") == 2 ]]; then ok; else bad "Q3/Q4 repeat Q2's run command"; fi

# the cover letter: several runs, 72 columns, all four questions, the sources
"$tool" report --cover-letter "$tmp/sizable" "$tmp/withmacro" >"$tmp/cover" 2>"$tmp/cover.err" || bad "cover letter: exit $?"
if awk 'length > 72 { bad = 1 } END { exit bad }' "$tmp/cover"; then ok; else bad "cover letter over 72 columns"; fi
if [[ $(grep -Eo '^Q[1-4] ' "$tmp/cover" | tr -d ' \n') == Q1Q2Q3Q4 ]]; then ok; else bad "cover letter lacks Q1..Q4"; fi
has "$tmp/cover" '^Data \(each answer names its source\):'
has "$tmp/cover" '^  \[3\] '
# a lab run's accelerator and QEMU go under its source
python3 - "$tmp/small/results.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["context"].update(lab_accel="tcg (single-threaded)", lab_qemu="10.0.2")
json.dump(d, open(sys.argv[1], "w"))
PY
"$tool" report --cover-letter "$tmp/small" >"$tmp/cover3" 2>&1 || bad "cover letter lab: exit $?"
has "$tmp/cover3" '^      accelerator tcg \(single-threaded\), QEMU 10\.0\.2$'
if grep -q '^      accelerator' "$tmp/cover"; then bad "an accelerator line without lab context"; else ok; fi
"$tool" report --cover-letter "$tmp/nonexistent" >/dev/null 2>"$tmp/cover2.err"
if [[ $? == 2 ]] && grep -q 'no results.json there' "$tmp/cover2.err"; then ok; else bad "cover letter of a missing dir: not exit 2 with a reason"; fi

echo "test_answers: $checks checks, $fails failed"
exit $((fails > 0))
