// SPDX-License-Identifier: GPL-2.0
/*
 * ab_shim.cc - the C interface to Google Benchmark (see ab_shim.h).
 *
 * The only C++ in agebench userspace. It keeps Google Benchmark's own JSON
 * output and adds, after the run, a top-level "agebench" object holding the
 * declared counter metadata and the latency CDFs benchmarks attached.
 */
#include "ab_shim.h"

extern "C" {
#include "ab_common.h"
#include "ab_schema.h"
}

#include <benchmark/benchmark.h>
#include <jansson.h>

#include <sys/random.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <cstring>
#include <set>
#include <functional>
#include <iostream>
#include <sstream>
#include <map>
#include <mutex>
#include <string>
#include <vector>

struct ab_state {
	benchmark::State *st;
};

/*
 * Registrations are recorded and handed to Google Benchmark only in
 * ab_run(), so that --walker can drop whole benchmarks before the library
 * sees them (its filter is a single regex and cannot be AND-ed), and so that
 * an interleaved run can hand over one instance's repetition at a time.
 */
struct ab_bench {
	std::string name;
	ab_bench_fn fn;
	void *arg;
	/* Settings other than the instances (args x threads) and repetitions. */
	std::vector<std::function<void(benchmark::internal::Benchmark *)>> ops;
	std::vector<std::vector<int64_t>> args; /* one instance each; none: one */
	std::vector<int> threads;		/* likewise, per args */
	std::vector<std::string> arg_names;	/* for the progress line */
	int reps = 1;
	bool reps_set = false; /* ab_bench_repetitions() called: "repeats:N" in the name */
};

namespace
{

std::mutex g_lock;
std::vector<ab_bench *> g_benches;
/* Counters the benchmarks emitted (all declared in the schema). */
std::set<std::string> g_counters;
/* CDFs recorded since the last report, merged across repetitions. */
std::map<std::string, ab_hist> g_pending_cdf;
/* benchmark name -> metric -> histogram */
std::map<std::string, std::map<std::string, ab_hist>> g_cdf;

/*
 * An interleaved run (opts->interleave): the shim, not Google Benchmark,
 * shuffles the repetitions, with a seed it records. Each (instance,
 * repetition) is registered as a benchmark of its own, with Repetitions(1),
 * in the shuffled order, which is the order the library runs them in; its
 * family_index in the library's output is its position in that order.
 */
struct ab_rep {
	ab_bench *b;
	size_t inst;		 /* the instance: args (inst / nthreads) x threads */
	std::string name;	 /* the instance's name in a run without interleaving */
	int rep, reps;		 /* this repetition of the instance (in execution order), of */
	int family, family_inst; /* family_index, per_family_instance_index without it */
};
struct interleave_state {
	bool on = false;
	uint64_t seed = 0;
	std::vector<ab_rep> order; /* registration = execution order */
	std::vector<size_t> ran;   /* positions in order, as the functions ran them */
} g_il;

/*
 * @in under the instances' names: an interleaved run's library reports each
 * (instance, repetition) under its own registration, whose name may differ
 * from the instance's ("repeats:1" for "repeats:N").
 */
std::vector<benchmark::BenchmarkReporter::Run>
as_instances(const std::vector<benchmark::BenchmarkReporter::Run> &in)
{
	std::vector<benchmark::BenchmarkReporter::Run> out = in;

	for (auto &r : out)
		if (g_il.on && r.family_index >= 0 && (size_t)r.family_index < g_il.order.size()) {
			r.run_name = benchmark::BenchmarkName();
			r.run_name.function_name = g_il.order[(size_t)r.family_index].name;
		}
	return out;
}

/*
 * The CDFs recorded since the last report, merged into the reported run's
 * (g_lock held). Without interleaving the library reports a benchmark once,
 * after all its repetitions; interleaved, after each (instance, repetition).
 * Either way a name's CDF is the merge over its repetitions, and holds
 * nothing another benchmark recorded.
 */
void take_pending_cdf(const benchmark::BenchmarkReporter::Run &r)
{
	auto &m = g_cdf[r.run_name.str()];
	for (auto &kv : g_pending_cdf) {
		auto it = m.find(kv.first);
		if (it == m.end())
			m[kv.first] = kv.second;
		else
			ab_hist_merge(&it->second, &kv.second);
	}
	g_pending_cdf.clear();
}

/*
 * Console output on stderr; also assigns pending CDFs to the run's name.
 * Errors are printed in every mode but quiet.
 */
class ab_console : public benchmark::ConsoleReporter
{
      public:
	ab_console() : ConsoleReporter(OO_Tabular)
	{
	}
	bool ReportContext(const Context &c) override
	{
		return progress == AB_PROGRESS_VERBOSE ? ConsoleReporter::ReportContext(c) : true;
	}
	void ReportRuns(const std::vector<Run> &runs) override
	{
		std::vector<Run> reports = as_instances(runs);
		{
			std::lock_guard<std::mutex> g(g_lock);
			/* With aggregates-only display, reports may hold no iteration run. */
			if (!reports.empty())
				take_pending_cdf(reports[0]);
		}
		if (progress == AB_PROGRESS_VERBOSE) {
			ConsoleReporter::ReportRuns(reports);
			return;
		}
		if (progress == AB_PROGRESS_QUIET)
			return;
		for (auto &r : reports)
			if (r.error_occurred)
				ab_warn("%s: %s", r.benchmark_name().c_str(),
					r.error_message.c_str());
	}
	enum ab_progress progress = AB_PROGRESS_LINE;
};

/* A reporter that only collects the names --benchmark_list_tests prints. */
class ab_lister : public benchmark::ConsoleReporter
{
      public:
	ab_lister()
	{
		SetOutputStream(&out);
		SetErrorStream(&out);
	}
	bool ReportContext(const Context &) override
	{
		return true;
	}
	std::stringstream out;
};

/* The progress line: one per repetition of a benchmark. */
struct progress_state {
	enum ab_progress mode = AB_PROGRESS_QUIET;
	bool tty = false;
	long done = 0, total = 0;
	uint64_t t0 = 0;
} g_progress;

std::string display_name(const ab_bench *b, benchmark::State &st)
{
	std::string n = b->name;

	for (size_t i = 0; i < b->arg_names.size(); i++)
		n += "/" + b->arg_names[i] + ":" + std::to_string(st.range((int)i));
	return n;
}

void progress_step(const ab_bench *b, benchmark::State &st, uint64_t started)
{
	if (g_progress.mode != AB_PROGRESS_LINE || st.thread_index() != 0)
		return;
	uint64_t now = ab_now_ns();
	long done = ++g_progress.done, total = g_progress.total;
	double took = (double)(now - started) * 1e-9;
	char left[64] = "";

	if (total > 0 && done < total) {
		double per = (double)(now - g_progress.t0) * 1e-9 / (double)done;
		snprintf(left, sizeof(left), ", about %.0f s left", per * (double)(total - done));
	}
	if (total > 0 && done > total)
		total = done; /* the library re-ran a repetition to estimate iterations */
	fprintf(stderr, "%s[%ld/%ld] %s %.1f s%s%s", g_progress.tty ? "\r\033[K" : "", done, total,
		display_name(b, st).c_str(), took, left, g_progress.tty ? "" : "\n");
	fflush(stderr);
}

json_t *cdf_json(const ab_hist &h)
{
	static const double qs[] = {0,	 0.01, 0.05, 0.1,  0.2,	 0.3,	0.4,   0.5,    0.6,
				    0.7, 0.8,  0.9,  0.95, 0.99, 0.995, 0.999, 0.9999, 1};
	json_t *a = json_array();

	for (double q : qs)
		json_array_append_new(a,
				      json_pack("[I, f]", (json_int_t)ab_hist_quantile(&h, q), q));
	return a;
}

json_t *counters_json()
{
	std::lock_guard<std::mutex> g(g_lock);
	json_t *o = json_object();

	for (auto &name : g_counters) {
		const ab_counter_def *d = ab_counter_find(name.c_str());
		json_object_set_new(o, name.c_str(),
				    json_pack("{s:s, s:s, s:s}", "unit", d->unit, "better",
					      ab_better_name(d->better), "meaning", d->meaning));
	}
	return o;
}

/* @s as a JSON integer if every reader keeps it exactly (<= 2^53), else a string. */
json_t *u64_json(uint64_t s)
{
	return s <= (1ull << 53) ? json_integer((json_int_t)s)
				 : json_string(std::to_string(s).c_str());
}

/*
 * An interleaved run's results in the shape of a run without it: the
 * library wrote one entry per (instance, repetition), each a family of its
 * own with repetitions 1 (family_index: its position in g_il.order). Per
 * name, repetition_index becomes 0, 1, ... in execution order, repetitions
 * the instance's count, the family indices those of a run without
 * interleaving. Google Benchmark's aggregate rows (mean, median, stddev, cv)
 * stay missing: no consumer reads them (analysis/ab_results.c skips them and
 * works from the repetitions, run.c's summary reads iteration rows only,
 * compare, report and ci/walltime-advice.sh go through ab_results). The seed
 * and the order go into agebench.interleave and context.interleave_seed.
 */
int rewrite_interleaved(json_t *root, json_t *ab)
{
	json_t *benches = json_object_get(root, "benchmarks"), *e;
	size_t i;

	for (i = 0; i < g_il.ran.size(); i++)
		if (g_il.ran[i] != i) {
			ab_warn("interleave: the library did not run the repetitions in the "
				"order they were registered in");
			return -1;
		}
	json_array_foreach(benches, i, e)
	{
		json_t *fi = json_object_get(e, "family_index");
		json_int_t k = json_is_integer(fi) ? json_integer_value(fi) : -1;

		if (k < 0 || (size_t)k >= g_il.order.size()) {
			ab_warn("results: benchmarks[%zu] is not in the interleaved order", i);
			return -1;
		}
		const ab_rep &p = g_il.order[(size_t)k];
		json_object_set_new(e, "name", json_string(p.name.c_str()));
		json_object_set_new(e, "run_name", json_string(p.name.c_str()));
		json_object_set_new(e, "family_index", json_integer(p.family));
		json_object_set_new(e, "per_family_instance_index", json_integer(p.family_inst));
		json_object_set_new(e, "repetitions", json_integer(p.reps));
		json_object_set_new(e, "repetition_index", json_integer(p.rep));
	}
	json_t *order = json_array();
	for (auto &p : g_il.order)
		json_array_append_new(order,
				      json_string((p.name + "#" + std::to_string(p.rep)).c_str()));
	json_object_set_new(ab, "interleave",
			    json_pack("{s:o, s:s, s:o}", "seed", u64_json(g_il.seed), "design",
				      "rounds", "order", order));
	json_t *ctx = json_object_get(root, "context");
	if (json_is_object(ctx))
		json_object_set_new(ctx, "interleave_seed",
				    json_string(std::to_string(g_il.seed).c_str()));
	return 0;
}

/*
 * The one pass over the results: read what Google Benchmark wrote to @tmp,
 * add the "agebench" object (counters, CDFs), let the caller add its part,
 * write @final atomically.
 */
int finish_json(const char *tmp, const ab_run_opts *opts)
{
	json_error_t err;
	size_t len = 0, clen = 0;
	char *raw = ab_read_file(tmp, &len);

	if (!raw) {
		ab_warn("%s: %s", tmp, strerror(errno));
		return -1;
	}
	char *clean = ab_json_sanitize(raw, len, &clen, NULL);
	free(raw);
	json_t *root = json_loadb(clean, clen, 0, &err);
	free(clean);
	if (!root) {
		ab_warn("%s:%d:%d: %s", tmp, err.line, err.column, err.text);
		return -1;
	}
	json_t *ab = json_object();
	json_object_set_new(root, "agebench", ab);
	if (g_il.on && rewrite_interleaved(root, ab)) {
		json_decref(root);
		return -1;
	}
	json_object_set_new(ab, "counters", counters_json());
	json_t *cdf = json_object();
	for (auto &b : g_cdf) {
		json_t *m = json_object();
		for (auto &kv : b.second)
			json_object_set_new(m, kv.first.c_str(), cdf_json(kv.second));
		json_object_set_new(cdf, b.first.c_str(), m);
	}
	json_object_set_new(ab, "cdf", cdf);
	if (opts->finish && opts->finish(root, ab, opts->finish_arg)) {
		json_decref(root);
		return -1;
	}
	char *text = json_dumps(root, JSON_INDENT(2));
	json_decref(root);
	if (!text)
		return -1;
	int ret = ab_write_atomic(opts->json_out, text, strlen(text));
	free(text);
	if (ret)
		ab_warn("%s: %s", opts->json_out, strerror(-ret));
	return ret ? -1 : 0;
}

/* Is the walker (the mode element of @name) in the comma list @walkers? */
bool walker_selected(const std::string &name, const char *walkers)
{
	ab_name n;
	char err[256];

	if (!walkers || !*walkers)
		return true;
	if (ab_name_parse(name.c_str(), &n, err, sizeof(err))) {
		ab_warn("%s", err);
		return false;
	}
	std::stringstream ss(walkers);
	std::string item;
	while (std::getline(ss, item, ','))
		if (item == n.mode)
			return true;
	return false;
}

void unlink_tmp(void *arg)
{
	unlink(static_cast<const char *>(arg));
}

/* Google Benchmark's flags from @args (its own argv parser). */
void initialize(const std::vector<std::string> &args)
{
	std::vector<char *> argv;
	for (auto &a : args)
		argv.push_back(const_cast<char *>(a.c_str()));
	argv.push_back(nullptr);
	int argc = (int)args.size();
	benchmark::Initialize(&argc, argv.data());
}

/* How many benchmark repetitions @args select (a --benchmark_list_tests pass). */
long count_repetitions(std::vector<std::string> args, int forced_reps)
{
	args.push_back("--benchmark_list_tests=true");
	initialize(args);
	ab_lister lister;
	benchmark::RunSpecifiedBenchmarks(&lister);
	long total = 0;
	std::string line;
	while (std::getline(lister.out, line)) {
		const ab_bench *best = nullptr;
		for (const ab_bench *b : g_benches)
			if (!line.compare(0, b->name.size(), b->name) &&
			    (!best || b->name.size() > best->name.size()))
				best = b;
		if (best)
			total += forced_reps > 0 ? forced_reps : best->reps;
	}
	return total;
}

/* Position @k of the interleaved order has started (thread 0). */
void note_ran(size_t k)
{
	std::lock_guard<std::mutex> g(g_lock);

	/* the library may call a function more than once per repetition */
	if (g_il.ran.empty() || g_il.ran.back() != k)
		g_il.ran.push_back(k);
}

const size_t NO_REP = (size_t)-1;

/* @b's function under its name; @k: its position in the interleaved order, or NO_REP. */
benchmark::internal::Benchmark *register_fn(ab_bench *b, size_t k)
{
	return benchmark::RegisterBenchmark(b->name.c_str(), [b, k](benchmark::State &st) {
		ab_state s{&st};
		uint64_t t = ab_now_ns();

		if (k != NO_REP && st.thread_index() == 0)
			note_ran(k);
		b->fn(&s, b->arg);
		progress_step(b, st, t);
	});
}

/* @b as registered: all its instances, its repetitions (a run without interleaving). */
void register_plain(ab_bench *b, int64_t iterations)
{
	auto *x = register_fn(b, NO_REP);

	for (auto &op : b->ops)
		op(x);
	for (auto &a : b->args)
		x->Args(a);
	for (int t : b->threads)
		x->Threads(t);
	if (b->reps_set)
		x->Repetitions(b->reps);
	if (iterations > 0)
		x->Iterations(iterations);
}

size_t nthreads(const ab_bench *b)
{
	return b->threads.empty() ? 1 : b->threads.size();
}

/* @b's instances: args x threads, in the library's order (args outer). */
size_t ninstances(const ab_bench *b)
{
	return (b->args.empty() ? 1 : b->args.size()) * nthreads(b);
}

/* One repetition of one instance, at position @k of the interleaved order. */
void register_rep(const ab_rep &p, size_t k, int64_t iterations)
{
	auto *x = register_fn(p.b, k);

	for (auto &op : p.b->ops)
		op(x);
	if (!p.b->args.empty())
		x->Args(p.b->args[p.inst / nthreads(p.b)]);
	if (!p.b->threads.empty())
		x->Threads(p.b->threads[p.inst % nthreads(p.b)]);
	x->Repetitions(1);
	if (iterations > 0)
		x->Iterations(iterations);
}

/* The names the library lists for what is registered, with @filter (NULL: all). */
std::vector<std::string> list_names(std::vector<std::string> args, const char *filter)
{
	std::vector<std::string> names;
	std::string line;

	args.push_back(std::string("--benchmark_filter=") + (filter ? filter : "."));
	args.push_back("--benchmark_list_tests=true");
	initialize(args);
	ab_lister lister;
	benchmark::RunSpecifiedBenchmarks(&lister);
	while (std::getline(lister.out, line))
		names.push_back(line);
	return names;
}

/* A seed for the order when none is given: getrandom(2), else time ^ pid; never 0. */
uint64_t fresh_seed()
{
	uint64_t s = 0;

	if (getrandom(&s, sizeof(s), 0) != (ssize_t)sizeof(s))
		s = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 20);
	s &= (1ull << 53) - 1; /* a JSON integer every reader keeps exactly */
	return s ? s : 1;
}

/*
 * Blocked rounds: round r runs repetition r of every instance that has more
 * than r repetitions, each round in its own order, shuffled with g_il.seed
 * (Fisher-Yates with ab_rng_next, as macrobench orders its repetitions).
 * A change of the host's load between rounds then hits every mode of a
 * round alike, and the analysis pairs the modes within a round
 * (repetition_index = round; docs/reporting.md "Design").
 */
void shuffle_order()
{
	uint64_t rng = g_il.seed;
	std::map<std::pair<const ab_bench *, size_t>, int> seen;

	for (auto &p : g_il.order)
		p.rep = seen[{p.b, p.inst}]++;
	std::stable_sort(g_il.order.begin(), g_il.order.end(),
			 [](const ab_rep &x, const ab_rep &y) { return x.rep < y.rep; });
	for (size_t lo = 0, hi; lo < g_il.order.size(); lo = hi) {
		for (hi = lo; hi < g_il.order.size() && g_il.order[hi].rep == g_il.order[lo].rep;
		     hi++)
			;
		for (size_t i = hi - lo; i > 1; i--)
			std::swap(g_il.order[lo + i - 1],
				  g_il.order[lo + ab_rng_next(&rng) % (uint64_t)i]);
	}
}

/*
 * The interleaved order into g_il and its registrations: @sel's instances
 * that the filter selects, named and indexed as in a run without
 * interleaving (the library lists that registration: all, then filtered),
 * each repeated as that run would (the benchmark's own repetitions win over
 * opts->repetitions, as in the library), shuffled. Returns the number of
 * instances, or -1.
 */
int plan_interleave(const std::vector<std::string> &args, const std::vector<ab_bench *> &sel,
		    const ab_run_opts *opts)
{
	int instances = 0, family = 0;
	size_t pos = 0, want = 0;

	if (sel.empty())
		return 0;
	for (ab_bench *b : sel) {
		register_plain(b, opts->iterations);
		want += ninstances(b);
	}
	std::vector<std::string> all = list_names(args, nullptr);
	if (all.size() != want) {
		ab_warn("interleave: the library lists %zu benchmarks, the shim expected %zu",
			all.size(), want);
		return -1;
	}
	std::vector<std::string> chosen = list_names(args, opts->filter);
	std::set<std::string> keep(chosen.begin(), chosen.end());
	for (ab_bench *b : sel) {
		int reps = b->reps_set ? b->reps : opts->repetitions > 0 ? opts->repetitions : 1;
		int fi = 0;

		for (size_t i = 0; i < ninstances(b); i++, pos++) {
			if (!keep.count(all[pos]))
				continue;
			for (int r = 0; r < reps; r++)
				g_il.order.push_back({b, i, all[pos], 0, reps, family, fi});
			fi++;
		}
		family += fi > 0;
		instances += fi;
	}
	shuffle_order();
	benchmark::ClearRegisteredBenchmarks();
	for (size_t k = 0; k < g_il.order.size(); k++)
		register_rep(g_il.order[k], k, opts->iterations);
	return instances;
}

/* What one ab_run() starts from: nothing registered with the library, nothing recorded. */
void reset_run()
{
	static bool platform_added;

	/* Re-entrant: each call hands the recorded benchmarks over afresh. */
	benchmark::ClearRegisteredBenchmarks();
	if (!platform_added) {
		/* where the numbers come from: the answer page's trust level */
		benchmark::AddCustomContext("platform", ab_platform());
		platform_added = true;
	}
	std::lock_guard<std::mutex> g(g_lock);
	g_counters.clear();
	g_cdf.clear();
	g_pending_cdf.clear();
	g_il = interleave_state();
}

/*
 * Run (or list) what is registered with @args, then the results file from
 * @tmp. @instances: an interleaved run's instance count (the library counts
 * registrations, one per repetition). Returns ab_run()'s value.
 */
int run_registered(std::vector<std::string> &args, const ab_run_opts *opts, int instances,
		   const std::string &tmp)
{
	g_progress = progress_state();
	g_progress.mode = opts->list_only ? AB_PROGRESS_QUIET : opts->progress;
	g_progress.tty = isatty(STDERR_FILENO);
	if (g_progress.mode == AB_PROGRESS_LINE)
		g_progress.total =
		    g_il.on ? (long)g_il.order.size() : count_repetitions(args, opts->repetitions);
	args.push_back(opts->list_only ? "--benchmark_list_tests=true"
				       : "--benchmark_list_tests=false");
	initialize(args);

	ab_console console;
	console.progress = opts->list_only ? AB_PROGRESS_VERBOSE : opts->progress;
	console.SetOutputStream(opts->list_only ? &std::cout : &std::cerr);
	console.SetErrorStream(&std::cerr);
	g_progress.t0 = ab_now_ns();
	/* No benchmark::Shutdown(): it frees the context a later ab_run() prints. */
	size_t n = g_il.on && g_il.order.empty() ? 0 : benchmark::RunSpecifiedBenchmarks(&console);
	if (g_progress.mode == AB_PROGRESS_LINE && g_progress.tty && g_progress.done)
		fputc('\n', stderr);
	int ret = g_il.on && n ? instances : (int)n;
	if (opts->list_only) {
		std::cout.flush();
	} else if (n == 0) {
		ab_warn("no benchmark matches filter '%s'", opts->filter ? opts->filter : "");
		ret = -1;
	} else if (!tmp.empty() && finish_json(tmp.c_str(), opts)) {
		ret = -1;
	}
	return ret;
}

} // namespace

extern "C" {

ab_bench *ab_register(const char *name, ab_bench_fn fn, void *arg)
{
	auto *b = new ab_bench{name, fn, arg, {}, {}, {}, {}, 1, false};

	g_benches.push_back(b);
	return b;
}

void ab_bench_args(ab_bench *b, const int64_t *args, int nargs)
{
	b->args.emplace_back(args, args + nargs);
}

void ab_bench_arg_names(ab_bench *b, const char *const *names, int nnames)
{
	std::vector<std::string> v(names, names + nnames);
	b->arg_names = v;
	b->ops.push_back([v](benchmark::internal::Benchmark *x) { x->ArgNames(v); });
}

void ab_bench_threads(ab_bench *b, int threads)
{
	b->threads.push_back(threads);
}

void ab_bench_manual_time(ab_bench *b)
{
	b->ops.push_back([](benchmark::internal::Benchmark *x) { x->UseManualTime(); });
}

void ab_bench_iterations(ab_bench *b, int64_t iters)
{
	b->ops.push_back([iters](benchmark::internal::Benchmark *x) { x->Iterations(iters); });
}

void ab_bench_repetitions(ab_bench *b, int reps)
{
	b->reps = reps;
	b->reps_set = true;
}

void ab_bench_min_time(ab_bench *b, double seconds)
{
	b->ops.push_back([seconds](benchmark::internal::Benchmark *x) { x->MinTime(seconds); });
}

void ab_bench_unit(ab_bench *b, char unit)
{
	benchmark::TimeUnit u = unit == 'u'   ? benchmark::kMicrosecond
				: unit == 'm' ? benchmark::kMillisecond
				: unit == 's' ? benchmark::kSecond
					      : benchmark::kNanosecond;
	b->ops.push_back([u](benchmark::internal::Benchmark *x) { x->Unit(u); });
}

bool ab_keep_running(ab_state *st)
{
	return st->st->KeepRunning();
}

int64_t ab_range(ab_state *st, int idx)
{
	return st->st->range(idx);
}

int ab_thread_index(ab_state *st)
{
	return st->st->thread_index();
}

int ab_threads(ab_state *st)
{
	return st->st->threads();
}

int64_t ab_iterations(ab_state *st)
{
	return (int64_t)st->st->iterations();
}

void ab_set_iteration_time(ab_state *st, double seconds)
{
	st->st->SetIterationTime(seconds);
}

void ab_pause_timing(ab_state *st)
{
	st->st->PauseTiming();
}

void ab_resume_timing(ab_state *st)
{
	st->st->ResumeTiming();
}

void ab_set_items_processed(ab_state *st, int64_t items)
{
	st->st->SetItemsProcessed(items);
}

void ab_set_label(ab_state *st, const char *label)
{
	st->st->SetLabel(label);
}

void ab_counter(ab_state *st, const char *name, double value, unsigned flags)
{
	int f = benchmark::Counter::kDefaults;

	if (!ab_counter_find(name))
		ab_die(AB_EXIT_FAIL,
		       "counter '%s' is not declared in common/ab_counters.def (unit, direction, "
		       "meaning): declare it there",
		       name);
	{
		std::lock_guard<std::mutex> g(g_lock);
		g_counters.insert(name);
	}
	if (flags & AB_CTR_RATE)
		f |= benchmark::Counter::kIsRate;
	if (flags & AB_CTR_AVG_THREADS)
		f |= benchmark::Counter::kAvgThreads;
	if (flags & AB_CTR_AVG_ITERATIONS)
		f |= benchmark::Counter::kAvgIterations;
	st->st->counters[name] =
	    benchmark::Counter(value, static_cast<benchmark::Counter::Flags>(f));
}

void ab_skip_with_error(ab_state *st, const char *msg)
{
	st->st->SkipWithError(msg);
}

void ab_record_cdf(ab_state *st, const char *metric, const struct ab_hist *hist)
{
	std::lock_guard<std::mutex> g(g_lock);
	auto it = g_pending_cdf.find(metric);

	if (it == g_pending_cdf.end())
		g_pending_cdf[metric] = *hist;
	else
		ab_hist_merge(&it->second, hist);
}

void ab_add_context(const char *key, const char *value)
{
	benchmark::AddCustomContext(key, value);
}

int ab_run(const struct ab_run_opts *opts)
{
	std::vector<std::string> args = {"agebench"};
	std::string tmp;
	int cleanup = -1, instances = 0;

	reset_run();
	/* Interleaved: the shim orders the repetitions (--list: one line per instance). */
	g_il.on = opts->interleave && !opts->list_only;
	if (opts->filter && !g_il.on)
		args.push_back(std::string("--benchmark_filter=") + opts->filter);
	if (opts->repetitions > 0 && !g_il.on) {
		args.push_back("--benchmark_repetitions=" + std::to_string(opts->repetitions));
		args.push_back("--benchmark_display_aggregates_only=true");
	}
	if (opts->json_out && !opts->list_only) {
		tmp = std::string(opts->json_out) + ".gbench." + std::to_string(getpid());
		args.push_back("--benchmark_out=" + tmp);
		args.push_back("--benchmark_out_format=json");
		cleanup = ab_cleanup_push(unlink_tmp, const_cast<char *>(tmp.c_str()));
	}
	std::vector<ab_bench *> sel;
	for (ab_bench *b : g_benches)
		if (walker_selected(b->name, opts->walkers))
			sel.push_back(b);
	if (g_il.on) {
		g_il.seed = opts->seed ? opts->seed : fresh_seed();
		instances = plan_interleave(args, sel, opts);
		args.push_back("--benchmark_filter=."); /* the plan applied the filter */
	} else {
		for (ab_bench *b : sel)
			register_plain(b, opts->iterations);
	}

	int ret = instances < 0 ? -1 : run_registered(args, opts, instances, tmp);
	if (cleanup >= 0)
		ab_cleanup_run(cleanup); /* removes the temporary file */
	return ret;
}

} // extern "C"
