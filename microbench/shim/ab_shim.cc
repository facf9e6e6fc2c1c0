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
}

#include <benchmark/benchmark.h>
#include <jansson.h>

#include <cerrno>
#include <cstring>
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
};

namespace
{

struct counter_meta {
	std::string unit;
	ab_better better;
};

std::mutex g_lock;
std::vector<ab_bench *> g_benches;
std::map<std::string, counter_meta> g_counters;
/* CDFs recorded since the last report, merged across repetitions. */
std::map<std::string, ab_hist> g_pending_cdf;
/* benchmark name -> metric -> histogram */
std::map<std::string, std::map<std::string, ab_hist>> g_cdf;

/* Console output on stderr; also assigns pending CDFs to the run's name. */
class ab_console : public benchmark::ConsoleReporter
{
      public:
	ab_console() : ConsoleReporter(OO_Tabular)
	{
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
		if (!quiet)
			ConsoleReporter::ReportRuns(reports);
	}
	bool quiet = false;
};

const char *better_str(ab_better b)
{
	switch (b) {
	case AB_BETTER_LOWER:
		return "lower";
	case AB_BETTER_HIGHER:
		return "higher";
	default:
		return "none";
	}
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

/* Add the "agebench" object to the JSON file Google Benchmark wrote. */
int annotate_json(const char *path)
{
	json_error_t err;
	size_t len = 0, clen = 0;
	char *raw = ab_read_file(path, &len);

	if (!raw) {
		ab_warn("%s: %s", path, strerror(errno));
		return -1;
	}
	char *clean = ab_json_sanitize(raw, len, &clen, NULL);
	free(raw);
	json_t *root = json_loadb(clean, clen, 0, &err);
	free(clean);
	if (!root) {
		ab_warn("%s:%d:%d: %s", path, err.line, err.column, err.text);
		return -1;
	}
	json_t *ab = json_object_get(root, "agebench");
	if (!ab) {
		ab = json_object();
		json_object_set_new(root, "agebench", ab);
	}
	char *cj = ab_counters_json();
	json_object_set_new(ab, "counters", json_loads(cj, 0, NULL));
	free(cj);
	json_t *cdf = json_object();
	for (auto &b : g_cdf) {
		json_t *m = json_object();
		for (auto &kv : b.second)
			json_object_set_new(m, kv.first.c_str(), cdf_json(kv.second));
		json_object_set_new(cdf, b.first.c_str(), m);
	}
	json_object_set_new(ab, "cdf", cdf);

	char *text = json_dumps(root, JSON_INDENT(2));
	json_decref(root);
	if (!text)
		return -1;
	int ret = ab_write_atomic(path, text, strlen(text));
	free(text);
	if (ret)
		ab_warn("%s: %s", path, strerror(-ret));
	return ret ? -1 : 0;
}

/* Is the walker (second path element of @name) in the comma list @walkers? */
bool walker_selected(const std::string &name, const char *walkers)
{
	if (!walkers || !*walkers)
		return true;
	size_t a = name.find('/');
	if (a == std::string::npos)
		return false;
	size_t b = name.find('/', a + 1);
	std::string w = name.substr(a + 1, b == std::string::npos ? std::string::npos : b - a - 1);
	std::stringstream ss(walkers);
	std::string item;
	while (std::getline(ss, item, ','))
		if (item == w)
			return true;
	return false;
}

} // namespace

extern "C" {

ab_bench *ab_register(const char *name, ab_bench_fn fn, void *arg)
{
	auto *b = new ab_bench{name, fn, arg, {}};

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

void ab_counter_declare(const char *name, const char *unit, enum ab_better better)
{
	std::lock_guard<std::mutex> g(g_lock);
	g_counters[name] = counter_meta{unit, better};
}

char *ab_counters_json(void)
{
	std::lock_guard<std::mutex> g(g_lock);
	json_t *o = json_object();

	for (auto &kv : g_counters)
		json_object_set_new(o, kv.first.c_str(),
				    json_pack("{s:s, s:s}", "unit", kv.second.unit.c_str(),
					      "better", better_str(kv.second.better)));
	char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	return s;
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

	/* Re-entrant: each call hands the recorded benchmarks over afresh. */
	benchmark::ClearRegisteredBenchmarks();

	if (opts->filter)
		args.push_back(std::string("--benchmark_filter=") + opts->filter);
	if (opts->repetitions > 0) {
		args.push_back("--benchmark_repetitions=" + std::to_string(opts->repetitions));
		args.push_back("--benchmark_display_aggregates_only=true");
	}
	if (opts->json_out) {
		args.push_back(std::string("--benchmark_out=") + opts->json_out);
		args.push_back("--benchmark_out_format=json");
	}
	if (opts->list_only)
		args.push_back("--benchmark_list_tests=true");
	for (ab_bench *b : g_benches) {
		if (!walker_selected(b->name, opts->walkers))
			continue;
		ab_bench_fn fn = b->fn;
		void *arg = b->arg;
		auto *x =
		    benchmark::RegisterBenchmark(b->name.c_str(), [fn, arg](benchmark::State &st) {
			    ab_state s{&st};
			    fn(&s, arg);
		    });
		for (auto &op : b->ops)
			op(x);
		if (opts->iterations > 0)
			x->Iterations(opts->iterations);
	}

	std::vector<char *> argv;
	for (auto &a : args)
		argv.push_back(const_cast<char *>(a.c_str()));
	argv.push_back(nullptr);
	int argc = (int)args.size();
	benchmark::Initialize(&argc, argv.data());

	ab_console console;
	console.quiet = opts->quiet;
	console.SetOutputStream(&std::cerr);
	console.SetErrorStream(&std::cerr);
	size_t n = benchmark::RunSpecifiedBenchmarks(&console);
	benchmark::Shutdown();
	if (opts->list_only)
		return (int)n;
	if (n == 0) {
		ab_warn("no benchmark matches filter '%s'", opts->filter ? opts->filter : "");
		return -1;
	}
	if (opts->json_out && annotate_json(opts->json_out))
		return -1;
	return (int)n;
}

} // extern "C"
