/*
 * bench_lease: API requests per agent per minute at steady state.
 *
 * Runs N agents (each its own client, elector and health board, as in
 * `twa agent`) on one event loop against the Kubernetes API simulator,
 * with every period divided by --scale (default 5: 3 s lease, 2 s renew
 * deadline, 400 ms retry, 3 s report interval). After a warm-up it counts
 * the requests each agent sends during the measuring window, checks the
 * total against the simulator's request log, and prints the rate per
 * agent per minute scaled back to the real periods (15 s / 10 s / 2 s,
 * report every 15 s), by role: leader, standbys, followers, and overall.
 *
 *   t/bench/bench_lease [--agents N] [--scale S] [--seconds W]
 *
 * Needs TWA_SRCDIR (for the simulator) like the tests; `make bench` sets it.
 */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "board.h"
#include "kube.h"
#include "lease.h"
#include "log.h"
#include "opts.h"
#include "test_kube_simlib.h"
#include "xalloc.h"

enum { O_AGENTS, O_SCALE, O_SECONDS, O_WARMUP, O_COUNT };

static const struct opt_spec specs[] = {
	[O_AGENTS] = { "agents", 'n', OPT_INT, "N", "50", "agents", 1, 2000 },
	[O_SCALE] = { "scale", 's', OPT_INT, "S", "5", "divide every period by S", 1, 50 },
	[O_SECONDS] = { "seconds", 'w', OPT_INT, "W", "30", "measuring window (s)", 5, 3600 },
	[O_WARMUP] = { "warmup", 0, OPT_INT, "S", "0", "warm-up (s; 0: 4 report intervals)", 0, 3600 },
};

struct agent {
	char		*pod;
	struct kube	*k;
	struct lease	*l;
	struct board	*b;
	uint64_t	 start;
	uint64_t	 acq0;
};

/* Leadership callback: the leader writes a status. */
static void
leading_cb(bool leading, void *arg)
{
	struct agent *a = arg;

	if (leading) {
		json_t *st = json_pack("{s:s}", "note", "bench");

		board_set_status(a->b, st);
		json_decref(st);
	}
}

/* Run base for ms. */
static void
run_ms(struct event_base *base, int64_t ms)
{
	bool never = false;

	while (ms > 0) {
		int step = ms > 1000 ? 1000 : (int)ms;

		ksim_loop_until(base, &never, step);
		ms -= step;
	}
}

/* Total requests the simulator logged for the bench's user. */
static long long
sim_requests(struct ksim *sim)
{
	json_t *out = NULL;
	long long n = -1;

	if (ksim_admin(sim, "GET", "/requests/summary", NULL, &out) == 200)
		n = json_integer_value(json_object_get(json_object_get(
		    json_object_get(out, "users"), "tester"), "total"));
	json_decref(out);
	return n;
}

/* Start the simulator and the agents, measure, print the rates. */
int
main(int argc, char *argv[])
{
	struct opt_value v[O_COUNT];
	struct ksim *sim;
	struct event_base *base;
	struct agent *ag;
	char *cause = NULL;
	int next, rc;
	int64_t n, scale, window_s, warm_ms, report_ms;
	long long sim0, sim1;
	uint64_t leader = 0, standby = 0, follower = 0, total = 0;
	int nleader = 0, nstandby = 0, nfollower = 0;
	uint64_t changes = 0;
	int64_t renew_max = 0;
	double per_min;

	memset(v, 0, sizeof v);
	rc = opts_parse(specs, O_COUNT, argc, argv, 1, v, &next, &cause);
	if (rc == 1) {
		opts_usage(stdout, "bench_lease [OPTIONS]", "API requests per "
		    "agent per minute at steady state.", specs, O_COUNT);
		return 0;
	}
	if (rc != 0) {
		fprintf(stderr, "bench_lease: %s\n", cause);
		return 2;
	}
	n = v[O_AGENTS].num;
	scale = v[O_SCALE].num;
	window_s = v[O_SECONDS].num;
	report_ms = 15000 / scale;
	warm_ms = v[O_WARMUP].num > 0 ? v[O_WARMUP].num * 1000 : 4 * report_ms;
	log_init();
	log_set_level(LOG_LEVEL_ERROR);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	signal(SIGPIPE, SIG_IGN);
	if ((sim = ksim_start(&cause)) == NULL) {
		fprintf(stderr, "bench_lease: cannot start the simulator: %s\n",
		    cause);
		return 1;
	}
	base = event_base_new();
	ag = xcalloc((size_t)n, sizeof *ag);
	for (int64_t i = 0; i < n; i++) {
		struct lease_config lc = { "twa-bench", "work", NULL,
		    LEASE_DEFAULT_LEASE_MS / scale, LEASE_DEFAULT_RENEW_MS / scale,
		    LEASE_DEFAULT_RETRY_MS / scale, false };
		struct board_config bc = { "twa-bench", "work", NULL, "bench-1",
		    report_ms, 1000 / scale, 2, NULL };
		struct agent *a = &ag[i];

		a->pod = xasprintf("bench-agent-%04lld", (long long)i);
		lc.identity = bc.pod = a->pod;
		a->k = ksim_kube(sim, base, NULL);
		a->l = lease_new(a->k, &lc, leading_cb, a, &cause);
		a->b = a->l != NULL ? board_new(a->k, a->l, &bc, &cause) : NULL;
		if (a->b == NULL) {
			fprintf(stderr, "bench_lease: %s\n", cause);
			return 1;
		}
		board_set_state(a->b, BOARD_READY, "");
		board_start(a->b);
		lease_start(a->l);
		/* pods start a little apart */
		run_ms(base, report_ms / n > 0 ? report_ms / n : 1);
	}
	run_ms(base, warm_ms);
	for (int64_t i = 0; i < n; i++) {
		struct lease_stats ls;

		lease_get_stats(ag[i].l, &ls);
		ag[i].start = kube_requests_sent(ag[i].k);
		ag[i].acq0 = ls.acquisitions;
	}
	sim0 = sim_requests(sim);
	run_ms(base, window_s * 1000);
	sim1 = sim_requests(sim);
	for (int64_t i = 0; i < n; i++) {
		uint64_t d = kube_requests_sent(ag[i].k) - ag[i].start;
		struct lease_stats ls;

		lease_get_stats(ag[i].l, &ls);
		changes += ls.acquisitions - ag[i].acq0;
		if (ls.renew_max_ms > renew_max)
			renew_max = ls.renew_max_ms;

		total += d;
		if (lease_leading(ag[i].l)) {
			leader += d;
			nleader++;
		} else if (lease_polling(ag[i].l)) {
			standby += d;
			nstandby++;
		} else {
			follower += d;
			nfollower++;
		}
	}
	/* measured per second at scale S = real per second x S */
	per_min = 60.0 / (double)window_s / (double)scale;
	printf("{\"agents\":%lld,\"scale\":%lld,\"window_s\":%lld,"
	    "\"requests\":%llu,\"sim_logged\":%lld,"
	    "\"per_agent_per_min\":%.2f,\"leader_per_min\":%.2f,"
	    "\"standby_per_min\":%.2f,\"follower_per_min\":%.2f,"
	    "\"leaders\":%d,\"standbys\":%d,\"followers\":%d,"
	    "\"leadership_changes\":%llu,\"renew_max_ms\":%lld}\n",
	    (long long)n, (long long)scale, (long long)window_s,
	    (unsigned long long)total, sim1 - sim0,
	    (double)total / (double)n * per_min,
	    nleader ? (double)leader / nleader * per_min : 0.0,
	    nstandby ? (double)standby / nstandby * per_min : 0.0,
	    nfollower ? (double)follower / nfollower * per_min : 0.0,
	    nleader, nstandby, nfollower, (unsigned long long)changes,
	    (long long)renew_max);
	printf("API requests per agent per minute at real timings "
	    "(15s/10s/2s, report 15s), %lld agents: %.2f overall; leader "
	    "%.2f, each of %d standbys %.2f, each follower %.2f\n",
	    (long long)n, (double)total / (double)n * per_min,
	    nleader ? (double)leader / nleader * per_min : 0.0, nstandby,
	    nstandby ? (double)standby / nstandby * per_min : 0.0,
	    nfollower ? (double)follower / nfollower * per_min : 0.0);
	for (int64_t i = 0; i < n; i++) {
		board_free(ag[i].b);
		lease_free(ag[i].l);
		kube_free(ag[i].k);
		free(ag[i].pod);
	}
	free(ag);
	event_base_free(base);
	ksim_stop(sim);
	curl_global_cleanup();
	if (changes > 0)
		printf("warning: leadership changed %llu times during the "
		    "window; the rates by role mix roles (try a smaller "
		    "--scale)\n", (unsigned long long)changes);
	return nleader == 1 && changes == 0 ? 0 : 1;
}
