#!/usr/bin/env bash
# `agebench report DIR` on a synthetic run: report.txt (the answer page,
# machine, reproduce, summary) and report-full.txt within 80 columns,
# with the known values; each figure's data file holds one series per mode
# present with the expected points (and known values); PNG/SVG written;
# macro.json optional; bad input refused with exit 2 and nothing half-written.
#   test_report.sh AB_TOOL AB_SYNTH PLOTS_DIR
set -uo pipefail
tool=$1 synth=$2 plots=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0 checks=0
ok() { checks=$((checks + 1)); }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); checks=$((checks + 1)); }
expect_rc() { # expect_rc WANT NAME CMD...
	local want=$1 name=$2 rc
	shift 2
	"$@" >"$tmp/$name.out" 2>"$tmp/$name.err"
	rc=$?
	if [[ $rc == "$want" ]]; then ok; else
		bad "$name: exit $rc, want $want"
		head -5 "$tmp/$name.err"
	fi
}
has() { if grep -Eq -- "$2" "$1"; then ok; else bad "$1 lacks /$2/"; fi; }
hasnt() { if grep -Eq -- "$2" "$1"; then bad "$1 has /$2/"; else ok; fi; }
png() { # PNG signature and a plausible size
	if [[ -s $1 ]] && [[ $(head -c 8 "$1" | od -An -tx1 | tr -d ' \n') == 89504e470d0a1a0a ]] &&
		(($(stat -c %s "$1") > 5000)); then ok; else bad "$1 is not a PNG of > 5 kB"; fi
}
svg() {
	if [[ -s $1 ]] && grep -q '<svg' "$1" && grep -q '</svg>' "$1"; then ok; else bad "$1 is not a complete SVG"; fi
}
# series DAT WANT: the data blocks of DAT as "mode:points ..." (blocks start
# with "# mode <name>:"; the macro figure: one "<mode> ..." line per mode)
series() {
	local got
	got=$(awk '/^# mode [^ ]+:/ { if (m != "") { printf "%s%s:%d", sep, m, n; sep = " " }
			m = $3; sub(/:$/, "", m); n = 0; next }
		/^# mode / { macro = 1; next }
		macro && NF { printf "%s%s:1", sep, $1; sep = " "; next }
		NF && !/^#/ { n++ }
		END { if (m != "") printf "%s%s:%d", sep, m, n }' "$1")
	if [[ $got == "$2" ]]; then ok; else bad "$1: series '$got', want '$2'"; fi
}
# point DAT MODE X COL WANT: column COL of the line with x = X in MODE's block, to 2 decimals
point() {
	local got
	got=$(awk -v m="$2" -v x="$3" -v c="$4" '/^# mode / { inm = ($3 == m ":") ; next }
		inm && $1 == x { printf "%.2f", $c; exit }' "$1")
	if [[ $got == "$5" ]]; then ok; else bad "$1: $2 at x=$3 column $4 is '$got', want '$5'"; fi
}
all5() { local m out=""; for m in locked read_locked fast_only bitmap scan; do out+="${out:+ }$m:$1"; done; echo "$out"; }
width80() { if awk 'length > 80 { print FILENAME ":" FNR ": " length " columns"; bad = 1 } END { exit bad }' "$1"; then ok; else bad "$1 has lines over 80 columns"; fi; }
ascii() { if LC_ALL=C grep -q '[^ -~]' "$1"; then bad "$1 has non-ASCII characters"; else ok; fi; }

export AGEBENCH_PLOTS_DIR=$plots

# 1. micro results only
d=$tmp/run1
mkdir -p "$d"
"$synth" "$d/results.json" --reps 9
expect_rc 0 run1 "$tool" report "$d"
r=$d/report-full.txt   # everything; report.txt is its first screens
page=$d/report.txt
if [[ -s $r && -s $page ]]; then ok; else bad "report.txt or report-full.txt missing or empty"; fi
width80 "$r"
ascii "$r"
has "$r" '^Machine and software'
has "$r" '^  kernel +6\.12\.0-agebench'
has "$r" '^  topology +1 package, 2 cores, 2 PUs'
has "$r" '^  memory +[0-9.]+ GiB'
has "$r" '^  agebench +0\.1\.0-synthetic'
has "$r" "^  \\$ agebench run --backend model --reps 9 --out 'results/synthetic run'"
has "$r" '^  modes +locked read_locked fast_only bitmap scan'
has "$r" '^Summary$'
has "$r" '^model 4K pages:16384 inval:0, 8 vCPUs: median, then the shift'
has "$r" '^  mode +ns_per_page +vcpu_blocked +false_old +lock_wait_ns'
has "$r" '^  fast_only +7\.5020 +-89%\+ +0 -100%\+'
has "$r" '^ns_per_page: aging cost per page \[ns, lower is better\]'
has "$r" '^  fixed: model 4K pages:16384 inval:0'
# locked absolute, others relative with significance marks (synthetic: fast_only -55.7% at 1 vCPU)
has "$r" '^  vcpus:1 +14\.00  +-25\.0%\+ +-55\.7%\+ +-65\.7%\+ +\+121\.4%!'
has "$r" 'no macro results'
has "$r" 'macro_reclaim.png'
has "$r" '^Appendix: every benchmark against locked'
for f in model_aging_cost model_vcpu_slowdown model_fault_cdf model_accuracy; do
	png "$d/figures/$f.png"
	svg "$d/figures/$f.svg"
done
# the data behind the figures: one series per mode, a point per vCPU count
# (1 2 4 8), the synthetic medians (ns_per_page = m_ns * (1 + slope * (v - 1)))
dd=$d/figures/data
series "$dd/model_aging_cost.dat" "$(all5 4)"
series "$dd/model_vcpu_slowdown.dat" "$(all5 4)"
series "$dd/model_accuracy.dat" "$(all5 4)"
# CDF: the largest vCPU count only, 28 log-spaced points + the end point
series "$dd/model_fault_cdf.dat" "$(all5 29)"
point "$dd/model_aging_cost.dat" locked 1 2 14.00
point "$dd/model_aging_cost.dat" locked 8 2 67.90
point "$dd/model_aging_cost.dat" fast_only 4 2 6.76
point "$dd/model_vcpu_slowdown.dat" bitmap 8 2 0.94
# accuracy: x = ns_per_page, y = false_old, column 3 = vCPUs
point "$dd/model_accuracy.dat" fast_only 6.20 2 4.20
has "$dd/model_fault_cdf.dat" '^# mode locked: .*\(model/locked/4K/pages:16384/vcpus:8/inval:0\)$'
if [[ ! -e $d/figures/macro_reclaim.png ]]; then ok; else bad "macro figure drawn without macro.json"; fi
# nothing half-written left behind
left=$(find "$d" -name '*.tmp.*' | head -3)
if [[ -z $left ]]; then ok; else bad "temporary files left: $left"; fi
# every mode has its colour from the mode table in the aging-cost SVG
# (locked red, fast_only green, bitmap blue, scan grey)
has "$d/figures/model_aging_cost.svg" 'rgb\(214, *39, *40\)|#d62728|D62728'
has "$d/figures/model_aging_cost.svg" 'rgb\( *44, *160, *44\)|#2ca02c|2CA02C'
has "$d/figures/model_aging_cost.svg" 'rgb\( *31, *119, *180\)|#1f77b4|1F77B4'
has "$d/figures/model_aging_cost.svg" 'rgb\(127, *127, *127\)|#7f7f7f|7F7F7F'

# 2. with macro.json: the macro tables and the reclaim figure
d2=$tmp/run2
mkdir -p "$d2"
"$synth" "$d2/results.json" --reps 5 --vcpus 1,2
"$synth" "$d2/macro.json" --macro --reps 5
expect_rc 0 run2 "$tool" report "$d2"
has "$d2/report-full.txt" '^Macro results \(macro.json\)'
has "$d2/report-full.txt" '^reclaim_cpu_s: reclaim CPU time \[s, lower is better\]'
hasnt "$d2/report-full.txt" 'no macro results'
width80 "$d2/report-full.txt"
png "$d2/figures/macro_reclaim.png"
series "$d2/figures/data/macro_reclaim.dat" "$(all5 1)"
svg "$d2/figures/macro_reclaim.svg"

# 3. a kvm-style run without false_old/CDF: figures skipped with reasons, still exit 0
d3=$tmp/run3
mkdir -p "$d3"
"$synth" "$d3/results.json" --reps 3 --backend kvm --no-cdf --vcpus 2
expect_rc 0 run3 "$tool" report "$d3"
has "$d3/report-full.txt" '^  mmu_age_mode +locked read_locked fast_only bitmap scan'
has "$d3/report-full.txt" 'kvm_fault_cdf.png'
has "$d3/report-full.txt" '^WARNING: metrics with only 3 samples per mode'
has "$d3/report-full.txt" 'skipped: no agebench.cdf in results.json'
png "$d3/figures/kvm_aging_cost.png"
series "$d3/figures/data/kvm_aging_cost.dat" "$(all5 1)"
point "$d3/figures/data/kvm_aging_cost.dat" scan 2 2 31.62
width80 "$d3/report-full.txt"

# 4. --no-figures
d4=$tmp/run4
mkdir -p "$d4"
"$synth" "$d4/results.json" --reps 2 --vcpus 1
expect_rc 0 run4 "$tool" report --no-figures "$d4"
if [[ ! -d $d4/figures ]]; then ok; else bad "--no-figures drew figures"; fi
has "$d4/report-full.txt" 'not drawn \(--no-figures\)'
has "$d4/report-full.txt" 'WARNING: some benchmarks have fewer than 3'
has "$d4/report-full.txt" '^  \(all\) +13\.99 +-25\.0%\?'

# 5. bad input: exit 2, message names the file, no report written
d5=$tmp/run5
mkdir -p "$d5"
printf '{"benchmarks": [\n  {"name": 1}\n' >"$d5/results.json"
expect_rc 2 run5 "$tool" report "$d5"
has "$tmp/run5.err" 'run5/results.json:3:[0-9]+: malformed JSON'
if [[ ! -e $d5/report.txt ]]; then ok; else bad "report.txt written for bad input"; fi
expect_rc 2 run6 "$tool" report "$tmp/does-not-exist"
has "$tmp/run6.err" 'does-not-exist/results.json'
"$synth" "$d5/results.json" --reps 3
echo '{"benchmarks": 3}' >"$d5/macro.json"
expect_rc 2 run7 "$tool" report "$d5"
has "$tmp/run7.err" 'macro.json: no "benchmarks" array'
expect_rc 2 run8 "$tool" report
# gnuplot missing: report still written, figures listed as skipped, exit 0
d9=$tmp/run9
mkdir -p "$d9"
"$synth" "$d9/results.json" --reps 3 --vcpus 1
AGEBENCH_GNUPLOT=/nonexistent/gnuplot expect_rc 0 run9 "$tool" report "$d9"
has "$d9/report-full.txt" "skipped: cannot run"
has "$d9/report-full.txt" "'/nonexistent/gnuplot' \\(install gnuplot-nox\\)"

echo "test_report: $checks checks, $fails failed"
((fails == 0))
