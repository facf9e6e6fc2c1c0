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

#include <unistd.h>

#include <cerrno>
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
 * sees them (its filter is a single regex and cannot be AND-ed).
 */
struct ab_bench {
	std::string name;
	ab_bench_fn fn;
	void *arg;
	std::vector<std::function<void(benchmark::internal::Benchmark *)>> ops;
	std::vector<std::string> arg_names; /* for the progress line */
	int reps = 1;
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
	void ReportRuns(const std::vector<Run> &reports) override
	{
		{
			std::lock_guard<std::mutex> g(g_lock);
			/* With aggregates-only display, reports may hold no iteration run. */
			if (!reports.empty())
				for (auto &kv : g_pending_cdf)
					g_cdf[reports[0].run_name.str()][kv.first] = kv.second;
			g_pending_cdf.clear();
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

} // namespace

extern "C" {

ab_bench *ab_register(const char *name, ab_bench_fn fn, void *arg)
{
	auto *b = new ab_bench{name, fn, arg, {}, {}, 1};

	g_benches.push_back(b);
	return b;
}

void ab_bench_args(ab_bench *b, const int64_t *args, int nargs)
{
	std::vector<int64_t> v(args, args + nargs);
	b->ops.push_back([v](benchmark::internal::Benchmark *x) { x->Args(v); });
}

void ab_bench_arg_names(ab_bench *b, const char *const *names, int nnames)
{
	std::vector<std::string> v(names, names + nnames);
	b->arg_names = v;
	b->ops.push_back([v](benchmark::internal::Benchmark *x) { x->ArgNames(v); });
}

void ab_bench_threads(ab_bench *b, int threads)
{
	b->ops.push_back([threads](benchmark::internal::Benchmark *x) { x->Threads(threads); });
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
	b->ops.push_back([reps](benchmark::internal::Benchmark *x) { x->Repetitions(reps); });
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
	int cleanup = -1;

	/* Re-entrant: each call hands the recorded benchmarks over afresh. */
	benchmark::ClearRegisteredBenchmarks();
	static bool platform_added;
	if (!platform_added) {
		/* where the numbers come from: the answer page's trust level */
		benchmark::AddCustomContext("platform", ab_platform());
		platform_added = true;
	}
	{
		std::lock_guard<std::mutex> g(g_lock);
		g_counters.clear();
		g_cdf.clear();
		g_pending_cdf.clear();
	}

	if (opts->filter)
		args.push_back(std::string("--benchmark_filter=") + opts->filter);
	if (opts->repetitions > 0) {
		args.push_back("--benchmark_repetitions=" + std::to_string(opts->repetitions));
		args.push_back("--benchmark_display_aggregates_only=true");
	}
	if (opts->interleave)
		args.push_back("--benchmark_enable_random_interleaving=true");
	if (opts->json_out && !opts->list_only) {
		tmp = std::string(opts->json_out) + ".gbench." + std::to_string(getpid());
		args.push_back("--benchmark_out=" + tmp);
		args.push_back("--benchmark_out_format=json");
	}
	for (ab_bench *b : g_benches) {
		if (!walker_selected(b->name, opts->walkers))
			continue;
		auto *x = benchmark::RegisterBenchmark(b->name.c_str(), [b](benchmark::State &st) {
			ab_state s{&st};
			uint64_t t = ab_now_ns();
			b->fn(&s, b->arg);
			progress_step(b, st, t);
		});
		for (auto &op : b->ops)
			op(x);
		if (opts->iterations > 0)
			x->Iterations(opts->iterations);
	}

	g_progress = progress_state();
	g_progress.mode = opts->list_only ? AB_PROGRESS_QUIET : opts->progress;
	g_progress.tty = isatty(STDERR_FILENO);
	if (g_progress.mode == AB_PROGRESS_LINE)
		g_progress.total = count_repetitions(args, opts->repetitions);
	if (opts->list_only)
		args.push_back("--benchmark_list_tests=true");
	else
		args.push_back("--benchmark_list_tests=false");
	initialize(args);

	ab_console console;
	console.progress = opts->list_only ? AB_PROGRESS_VERBOSE : opts->progress;
	console.SetOutputStream(opts->list_only ? &std::cout : &std::cerr);
	console.SetErrorStream(&std::cerr);
	if (!tmp.empty())
		cleanup = ab_cleanup_push(unlink_tmp, const_cast<char *>(tmp.c_str()));
	g_progress.t0 = ab_now_ns();
	/* No benchmark::Shutdown(): it frees the context a later ab_run() prints. */
	size_t n = benchmark::RunSpecifiedBenchmarks(&console);
	if (g_progress.mode == AB_PROGRESS_LINE && g_progress.tty && g_progress.done)
		fputc('\n', stderr);
	int ret = (int)n;
	if (opts->list_only) {
		std::cout.flush();
	} else if (n == 0) {
		ab_warn("no benchmark matches filter '%s'", opts->filter ? opts->filter : "");
		ret = -1;
	} else if (!tmp.empty() && finish_json(tmp.c_str(), opts)) {
		ret = -1;
	}
	if (cleanup >= 0)
		ab_cleanup_run(cleanup); /* removes the temporary file */
	return ret;
}

} // extern "C"
