/*
 * bench_promote: measured on the simulators with real `twa agent`
 * processes (default timings: lease 15 s, renew 10 s, retry 2 s, report
 * interval 15 s):
 *  - the time from a new version turning healthy to SetCurrent (AllAtOnce,
 *    no gate): from the Lease write that first shows every pod of the
 *    version ready (write log time) to the server's current-version change
 *    time; and from the agents' own state change (which adds the health
 *    board's write debounce);
 *  - the leader's and a follower's anonymous memory (RssAnon) and RSS,
 *    then the leader's with 50, 100 and 300 extra health entries on the
 *    Lease (written by this program in one patch, kept fresh).
 * Usage: bench_promote [ROLLOUTS] (default 5). Prints a report; exit 0.
 */
#include "config.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "e2e.h"
#include "parse.h"
#include "proc.h"
#include "timefmt.h"
#include "xalloc.h"

/* Milliseconds of an RFC 3339 time, or -1. */
static long long
ms_of(const char *t)
{
	char *cause = NULL;
	int64_t us;

	if (t == NULL || timefmt_parse(t, &us, &cause) != 0) {
		free(cause);
		return -1;
	}
	return us / 1000;
}

/* A /proc/PID/status field in kB, or -1. */
static long
proc_kb(pid_t pid, const char *field)
{
	char path[64], line[256];
	long kb = -1;
	size_t n = strlen(field);
	FILE *f;

	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof line, f) != NULL)
		if (strncmp(line, field, n) == 0 && line[n] == ':')
			kb = strtol(line + n + 1, NULL, 10);
	fclose(f);
	return kb;
}

/*
 * If every health entry of build (want of them) is ready in the Lease,
 * return its resourceVersion (caller frees) and the latest "changed" time
 * in *changed; else NULL.
 */
static char *
all_ready(struct e2e *w, const char *build, int want, long long *changed)
{
	json_t *l = e2e_lease(w), *v, *e;
	const char *k, *rv;
	int n = 0;
	char *r = NULL;

	*changed = 0;
	json_object_foreach(json_object_get(json_object_get(l, "metadata"),
	    "annotations"), k, v) {
		if (strncmp(k, "agents.twa.dev/", 15) != 0)
			continue;
		e = json_loads(json_string_value(v), 0, NULL);
		if (e != NULL && strcmp(json_string_value(json_object_get(e,
		    "build")) != NULL ? json_string_value(json_object_get(e,
		    "build")) : "", build) == 0 && json_string_value(
		    json_object_get(e, "state")) != NULL && strcmp(
		    json_string_value(json_object_get(e, "state")), "ready") == 0) {
			long long c = ms_of(json_string_value(json_object_get(e,
			    "changed")));

			n++;
			if (c > *changed)
				*changed = c;
		}
		json_decref(e);
	}
	rv = json_string_value(json_object_get(json_object_get(l, "metadata"),
	    "resourceVersion"));
	if (n >= want && rv != NULL)
		r = xstrdup(rv);
	json_decref(l);
	return r;
}

/* Time of the write that left the Lease at resourceVersion rv, or -1. */
static long long
write_time(struct e2e *w, const char *rv)
{
	json_t *out = NULL, *item;
	long long t = -1;
	size_t i;

	if (e2e_kadmin(w, "GET", "/writes?resource=leases&name=twa-" E2E_LABEL,
	    NULL, &out) != 200)
		return -1;
	json_array_foreach(json_object_get(out, "writes"), i, item) {
		const char *r = json_string_value(json_object_get(item,
		    "resourceVersion"));

		if (r != NULL && strcmp(r, rv) == 0)
			t = json_integer_value(json_object_get(item, "time"));
	}
	json_decref(out);
	return t;
}

/* Order longs. */
static int
cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

/* Write n extra ready entries of build (fresh times) in one patch. */
static void
extra_entries(struct e2e *w, const char *build, int n)
{
	json_t *ann = json_object(), *patch;
	char now[TIMEFMT_MICRO_LEN], *text, *key, *val;
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	timefmt_micro((int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000, now);
	for (int i = 0; i < n; i++) {
		key = xasprintf("agents.twa.dev/bench-%s-%03d", build, i);
		val = xasprintf("{\"build\":\"%s\",\"state\":\"ready\",\"reason\":"
		    "\"http://127.0.0.1:8080/healthz: HTTP 200\",\"changed\":"
		    "\"%s\",\"written\":\"%s\",\"pod\":\"bench-%s-%03d\"}", build,
		    now, now, build, i);
		json_object_set_new(ann, key, json_string(val));
		free(key);
		free(val);
	}
	patch = json_pack("{s:{s:o}}", "metadata", "annotations", ann);
	text = json_dumps(patch, JSON_COMPACT);
	if (e2e_kadmin(w, "PATCH", "/objects/leases/" E2E_NS "/twa-" E2E_LABEL,
	    text, NULL) != 200)
		fprintf(stderr, "bench: cannot write %d entries\n", n);
	free(text);
	json_decref(patch);
}

/* Only the 3 pods of build arg run, and one of them leads. */
static bool
cond_settled(struct e2e *w, void *build)
{
	char *leader = e2e_leader(w);
	bool ok = false;

	if (e2e_pods(w, NULL) == 3 && e2e_pods(w, build) == 3)
		for (size_t i = 0; e2e_pod_name(w, i) != NULL; i++)
			ok |= strcmp(e2e_pod_name(w, i), leader) == 0;
	free(leader);
	return ok;
}

/* Print the leader's memory (looked up afresh: leadership may move). */
static void
leader_memory(struct e2e *w, const char *what)
{
	char *leader = e2e_leader(w);
	pid_t pid = e2e_agent_pid(w, leader);

	printf("  leader %-36s %-22s RssAnon %5ld kB  VmRSS %5ld kB  "
	    "VmHWM %5ld kB\n", leader, what, proc_kb(pid, "RssAnon"),
	    proc_kb(pid, "VmRSS"), proc_kb(pid, "VmHWM"));
	free(leader);
}

int
main(int argc, char **argv)
{
	struct e2e_opts o = { .scenario = "bench", .quiet = true,
	    .lease_ms = 15000, .renew_ms = 10000, .retry_ms = 2000,
	    .report_interval = "15s" };
	struct e2e *w;
	long long lat[32], lat2[32], changed, t0, t1;
	int64_t rollouts = 5;
	char *cause = NULL, *rv, build[16], name[32], prev[16], *leader;
	const char *follower = NULL;
	json_t *d;
	pid_t fpid;

	if (argc > 1 && parse_int(argv[1], 1, 30, &rollouts, &cause) != 0) {
		fprintf(stderr, "bench_promote: ROLLOUTS: %s\n", cause);
		return 2;
	}
	e2e_standalone();
	w = e2e_start(&o);
	e2e_deploy(w, "orders-v1", "v1", 3, NULL, 0);
	if (!e2e_wait(w, "v1 current", e2e_cond_current, (void *)"v1", 60000)) {
		e2e_stop(w);
		return 1;
	}
	snprintf(prev, sizeof prev, "v1");
	for (int i = 0; i < rollouts; i++) {
		snprintf(build, sizeof build, "v%d", i + 2);
		snprintf(name, sizeof name, "orders-%s", build);
		e2e_deploy(w, name, build, 3, "{\"twa.dev/scaledown-delay\":"
		    "\"0s\",\"twa.dev/delete-delay\":\"0s\"}", 0);
		rv = NULL;
		for (long long until = proc_now_ms() + 60000; rv == NULL &&
		    proc_now_ms() < until;) {
			e2e_sync(w);
			rv = all_ready(w, build, 3, &changed);
			if (rv == NULL)
				poll(NULL, 0, 2);
		}
		if (rv == NULL || !e2e_wait(w, "the new version current",
		    e2e_cond_current, build, 30000)) {
			fprintf(stderr, "bench: %s never became current\n", build);
			e2e_stop(w);
			return 1;
		}
		t0 = write_time(w, rv);
		d = e2e_tdep(w);
		t1 = ms_of(json_string_value(json_object_get(json_object_get(d,
		    "routing"), "currentVersionChangedTime")));
		json_decref(d);
		lat[i] = t1 - t0;
		lat2[i] = t1 - changed;
		printf("rollout %s: ready on the Lease -> SetCurrent %lld ms; "
		    "last pod ready -> SetCurrent %lld ms\n", build, lat[i],
		    lat2[i]);
		free(rv);
		snprintf(prev, sizeof prev, "%s", build);
		/* let the old version drain and go before the next one */
		e2e_run_for(w, 3000);
	}
	qsort(lat, (size_t)rollouts, sizeof lat[0], cmp_ll);
	qsort(lat2, (size_t)rollouts, sizeof lat2[0], cmp_ll);
	printf("\nnew version healthy -> SetCurrent (AllAtOnce, no gate, 3 "
	    "pods, %lld rollouts):\n  from the Lease write showing all pods "
	    "ready: min %lld ms, median %lld ms, max %lld ms (budget < 1 s)\n"
	    "  from the last pod's own state change:    min %lld ms, median "
	    "%lld ms, max %lld ms\n", (long long)rollouts, lat[0],
	    lat[rollouts / 2], lat[rollouts - 1], lat2[0], lat2[rollouts / 2],
	    lat2[rollouts - 1]);

	if (!e2e_wait(w, "the old versions gone", cond_settled, prev, 60000)) {
		e2e_stop(w);
		return 1;
	}
	leader = e2e_leader(w);
	for (size_t i = 0; e2e_pod_name(w, i) != NULL; i++)
		if (strcmp(e2e_pod_name(w, i), leader) != 0)
			follower = e2e_pod_name(w, i);
	fpid = follower != NULL ? e2e_agent_pid(w, follower) : -1;
	printf("\nmemory with 3 agents (the pods of %s):\n", prev);
	leader_memory(w, "(3 health entries)");
	if (fpid > 0)
		printf("  follower %-34s %-22s RssAnon %5ld kB  VmRSS %5ld kB\n",
		    follower, "", proc_kb(fpid, "RssAnon"),
		    proc_kb(fpid, "VmRSS"));
	for (int k = 0; k < 3; k++) {
		static const int extra[] = { 50, 100, 300 };
		char what[32];

		for (int j = 0; j < 4; j++) {	/* 12 s, kept fresh */
			extra_entries(w, prev, extra[k]);
			e2e_run_for(w, 3000);
		}
		snprintf(what, sizeof what, "(%d health entries)", extra[k] + 3);
		leader_memory(w, what);
	}
	free(leader);
	e2e_stop(w);
	return 0;
}
