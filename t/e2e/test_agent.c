/*
 * End-to-end tests of `twa agent` against the Kubernetes API simulator:
 * the health entry on the Lease and its refresh, the HTTP endpoints, live
 * configuration (an invalid annotation keeps the last good value and makes
 * exactly one Warning Event; a fixed one applies), the worker probe, the
 * election between two agents, and SIGTERM (release, final report, exit 0).
 *
 * Built twice: test_agent runs everything; test_agent_valgrind (with
 * TWA_AGENT_VALGRIND) runs the lifecycle scenario with the agent under
 * `valgrind --leak-check=full --error-exitcode=1` and checks its exit
 * status; it skips (77) when valgrind is missing or the build uses
 * sanitizers.
 */
#include "config.h"

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "check_main.h"
#include "proc.h"
#include "test_kube_simlib.h"
#include "timefmt.h"
#include "xalloc.h"

#ifdef TWA_AGENT_VALGRIND
#define AGENT_SLOW 10		/* valgrind runs the agent ~10x slower */
#define AGENT_LEASE "15s"	/* request timeouts are half the renew deadline */
#define AGENT_RENEW "10s"
#define AGENT_RETRY "2s"
#else
#define AGENT_SLOW 1
#define AGENT_LEASE "3s"
#define AGENT_RENEW "2s"
#define AGENT_RETRY "500ms"
#endif

static struct ksim *ks;		/* one simulator per test case */
static char basedir[64];	/* every file of this test process */

/* Agents running in this test process, stopped at exit if a test fails. */
#define MAX_AGENTS 8
static struct agent *running[MAX_AGENTS];
static struct proc *hworker;	/* the health worker of the probe test */

/* One agent process and its files. */
struct agent {
	struct proc	*p;
	char		*pod, *dep, *dir, *ann, *lab, *log;
	int		 http;
};

/* At exit of a failed test: stop the agents it left running. */
static void
agents_reap(void)
{
	for (size_t i = 0; i < MAX_AGENTS; i++) {
		if (running[i] != NULL) {
			proc_kill(running[i]->p, SIGKILL);
			proc_stop(running[i]->p);
			running[i] = NULL;
		}
	}
	if (hworker != NULL) {
		proc_stop(hworker);
		hworker = NULL;
	}
}

/* Remember a running agent (and arrange the reaping once). */
static void
agents_track(struct agent *a, bool add)
{
	static pid_t registered;

	if (registered != getpid()) {
		registered = getpid();
		atexit(agents_reap);
	}
	for (size_t i = 0; i < MAX_AGENTS; i++) {
		if (add && running[i] == NULL) {
			running[i] = a;
			return;
		}
		if (!add && running[i] == a) {
			running[i] = NULL;
			return;
		}
	}
	ck_assert_msg(!add, "too many agents");
}

/* Start the simulator for a test case (unchecked fixture). */
static void
sim_setup(void)
{
	char *cause = NULL;

	snprintf(basedir, sizeof basedir, "/tmp/twa-e2e-agent-XXXXXX");
	if (mkdtemp(basedir) == NULL) {
		perror("mkdtemp");
		exit(1);
	}
	setenv("TMPDIR", basedir, 1);	/* the simulator's files go here too */
	ks = ksim_start(&cause);
	if (ks == NULL) {
		fprintf(stderr, "cannot start the Kubernetes simulator: %s\n",
		    cause);
		exit(1);
	}
}

/* Stop the simulator. */
static void
sim_teardown(void)
{
	char *cmd = xasprintf("rm -rf '%s'", basedir);

	ksim_stop(ks);
	ks = NULL;
	if (getenv("TWA_KEEP_LOGS") == NULL && system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", basedir);
	free(cmd);
}

/* Write the annotations file of a (atomically: a new inode, like ..data). */
static void
agent_annotate(struct agent *a, const char *text)
{
	ck_assert_int_eq(ksim_write_file(a->ann, text), 0);
}

/*
 * Start an agent for pod in deployment dep with annotations (the
 * downward-API text); extra options follow (NULL-terminated).
 */
static struct agent *
agent_start(const char *pod, const char *dep, const char *annotations,
    const char *const *extra)
{
	struct agent *a = xcalloc(1, sizeof *a);
	char *argv[64], *twa = proc_buildpath("twa"), *cause = NULL, *labels;
	size_t n = 0;

	a->pod = xstrdup(pod);
	a->dep = xstrdup(dep);
	a->dir = xasprintf("%s/agent-%s", basedir, pod);
	ck_assert_int_eq(mkdir(a->dir, 0700), 0);
	a->ann = xasprintf("%s/annotations", a->dir);
	a->lab = xasprintf("%s/labels", a->dir);
	a->log = xasprintf("%s/agent.log", a->dir);
	labels = xasprintf("app=\"worker\"\ntwa.dev/deployment=\"%s\"\n"
	    "twa.dev/inject=\"true\"", dep);
	ck_assert_int_eq(ksim_write_file(a->lab, labels), 0);
	free(labels);
	agent_annotate(a, annotations);
#ifdef TWA_AGENT_VALGRIND
	argv[n++] = getenv("VALGRIND");
	argv[n++] = (char *)"--leak-check=full";
	argv[n++] = (char *)"--error-exitcode=1";
	argv[n++] = (char *)"--quiet";
#endif
	argv[n++] = twa;
	argv[n++] = (char *)"agent";
	argv[n++] = (char *)"--pod-name";
	argv[n++] = a->pod;
	argv[n++] = (char *)"--pod-uid";
	argv[n++] = (char *)"0f6a2c1e-uid";
	argv[n++] = (char *)"--kube-namespace";
	argv[n++] = (char *)"work";
	argv[n++] = (char *)"--kube-server";
	argv[n++] = ks->server;
	argv[n++] = (char *)"--kube-ca";
	argv[n++] = ks->ca;
	argv[n++] = (char *)"--kube-token-file";
	argv[n++] = ks->token_file;
	argv[n++] = (char *)"--annotations";
	argv[n++] = a->ann;
	argv[n++] = (char *)"--labels";
	argv[n++] = a->lab;
	argv[n++] = (char *)"--listen";
	argv[n++] = (char *)"127.0.0.1:0";
	argv[n++] = (char *)"--lease-duration";
	argv[n++] = (char *)AGENT_LEASE;
	argv[n++] = (char *)"--renew-deadline";
	argv[n++] = (char *)AGENT_RENEW;
	argv[n++] = (char *)"--retry-period";
	argv[n++] = (char *)AGENT_RETRY;
	argv[n++] = (char *)"--reload-interval";
	argv[n++] = (char *)"100ms";
	argv[n++] = (char *)"--probe-interval";
	argv[n++] = (char *)"200ms";
	argv[n++] = (char *)"--probe-timeout";
	argv[n++] = (char *)"500ms";
	for (size_t i = 0; extra != NULL && extra[i] != NULL; i++)
		argv[n++] = (char *)extra[i];
	argv[n] = NULL;
	a->p = proc_start(argv, a->log, 30000, &cause);
	ck_assert_msg(a->p != NULL, "cannot start the agent: %s (log %s)",
	    cause, a->log);
	agents_track(a, true);
	a->http = proc_port(a->p, "http");
	ck_assert_int_gt(a->http, 0);
	ck_assert_str_eq(json_string_value(json_object_get(proc_ready(a->p),
	    "pod")), pod);
	free(twa);
	return a;
}

/* Stop (if running) and free an agent; keep its files when the test failed. */
static void
agent_free(struct agent *a)
{
	char *cmd;

	if (a == NULL)
		return;
	agents_track(a, false);
	proc_stop(a->p);
	cmd = xasprintf("rm -rf '%s'", a->dir);
	if (getenv("TWA_KEEP_LOGS") == NULL && system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", a->dir);
	free(cmd);
	free(a->pod);
	free(a->dep);
	free(a->dir);
	free(a->ann);
	free(a->lab);
	free(a->log);
	free(a);
}

/* GET path from the agent; returns the status and the body (caller frees). */
static int
agent_get(struct agent *a, const char *path, char **body)
{
	char *cause = NULL, *resp = NULL;
	int st = proc_http(a->http, "GET", path, NULL, &resp, &cause);

	ck_assert_msg(st > 0, "GET %s: %s", path, cause);
	if (body != NULL)
		*body = resp != NULL ? resp : xstrdup("");
	else
		free(resp);
	return st;
}

/* The agent's /status, parsed. Caller decrefs. */
static json_t *
agent_status(struct agent *a)
{
	char *body;
	json_t *j;

	ck_assert_int_eq(agent_get(a, "/status", &body), 200);
	j = json_loads(body, 0, NULL);
	ck_assert_msg(j != NULL, "/status is not JSON: %s", body);
	free(body);
	return j;
}

/* The value of one un-labelled metric in /metrics, or -1 if absent. */
static double
agent_metric(struct agent *a, const char *name)
{
	char *body, *line, *save = NULL;
	double v = -1;
	size_t n = strlen(name);

	ck_assert_int_eq(agent_get(a, "/metrics", &body), 200);
	for (line = strtok_r(body, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save))
		if (strncmp(line, name, n) == 0 && line[n] == ' ')
			v = strtod(line + n + 1, NULL);
	free(body);
	return v;
}

/* The Lease twa-<dep>, or NULL. Caller decrefs. */
static json_t *
lease_get(const char *dep)
{
	char *path = xasprintf("/objects/leases/work/twa-%s", dep);
	json_t *o = NULL;
	int st = ksim_admin(ks, "GET", path, NULL, &o);

	free(path);
	if (st != 200) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* The health entry of pod on the Lease of dep, parsed, or NULL. */
static json_t *
entry_get(const char *dep, const char *pod)
{
	json_t *l = lease_get(dep), *e = NULL;
	char *key = xasprintf("agents.twa.dev/%s", pod);
	const char *v = json_string_value(json_object_get(json_object_get(
	    json_object_get(l, "metadata"), "annotations"), key));

	if (v != NULL)
		e = json_loads(v, 0, NULL);
	free(key);
	json_decref(l);
	return e;
}

/* The holder of the Lease of dep ("" when none; NULL when no Lease). */
static char *
holder_get(const char *dep)
{
	json_t *l = lease_get(dep);
	const char *h;
	char *out = NULL;

	if (l != NULL) {
		h = json_string_value(json_object_get(json_object_get(l,
		    "spec"), "holderIdentity"));
		out = xstrdup(h != NULL ? h : "");
	}
	json_decref(l);
	return out;
}

/* InvalidAnnotation Warning Events regarding pod. */
static int
warning_events(const char *pod)
{
	json_t *o = NULL, *it;
	size_t i;
	int n = 0;

	ck_assert_int_eq(ksim_admin(ks, "GET", "/objects/events?namespace=work",
	    NULL, &o), 200);
	json_array_foreach(json_object_get(o, "items"), i, it) {
		json_t *reg = json_object_get(it, "regarding");

		if (strcmp(json_string_value(json_object_get(it, "reason")) ?
		    json_string_value(json_object_get(it, "reason")) : "",
		    "InvalidAnnotation") == 0 &&
		    json_string_value(json_object_get(reg, "name")) != NULL &&
		    strcmp(json_string_value(json_object_get(reg, "name")),
		    pod) == 0) {
			ck_assert_str_eq(json_string_value(json_object_get(it,
			    "type")), "Warning");
			ck_assert_str_eq(json_string_value(json_object_get(reg,
			    "kind")), "Pod");
			n++;
		}
	}
	json_decref(o);
	return n;
}

/* Whether the agent's log holds text. */
static bool __attribute__((unused))
log_has(struct agent *a, const char *text)
{
	FILE *f = fopen(a->log, "r");
	char *buf = NULL;
	size_t cap = 0;
	bool found = false;

	ck_assert_ptr_nonnull(f);
	while (!found && getline(&buf, &cap, f) > 0)
		found = strstr(buf, text) != NULL;
	free(buf);
	fclose(f);
	return found;
}

/* Condition argument: wait for the entry's written time to move. */
struct want_written {
	const char	*dep, *pod;
	int64_t		 after_us;	/* written strictly after this */
	int64_t		 got_us;
};

/* Condition: the entry was written after w->after_us. */
static bool
cond_written(void *arg)
{
	struct want_written *w = arg;
	json_t *e = entry_get(w->dep, w->pod);
	const char *wr = json_string_value(json_object_get(e, "written"));
	char *cause = NULL;
	int64_t us = 0;
	bool ok = false;

	if (wr != NULL && timefmt_parse(wr, &us, &cause) == 0)
		ok = us > w->after_us;
	free(cause);
	if (ok)
		w->got_us = us;
	json_decref(e);
	return ok;
}

/* The time between two successive health writes of pod, in ms. */
static int64_t __attribute__((unused))
entry_gap_ms(const char *dep, const char *pod)
{
	struct want_written w = { dep, pod, 0, 0 };
	int64_t first;

	ck_assert(proc_wait_until(cond_written, &w, 10000));
	w.after_us = w.got_us;
	ck_assert(proc_wait_until(cond_written, &w, 10000));
	first = w.got_us;
	w.after_us = first;
	ck_assert(proc_wait_until(cond_written, &w, 10000));
	return (w.got_us - first) / 1000;
}

/* ------------------------------------------------------------ conditions */

/* Condition: /readyz answers 200. */
static bool
cond_ready(void *arg)
{
	return agent_get(arg, "/readyz", NULL) == 200;
}

/* Condition argument: a pod's entry in a state. */
struct want_entry {
	const char	*dep, *pod, *state;
	char		 written[64];	/* must differ from this, if set */
};

/* Condition: the entry exists in the state (and was rewritten). */
static bool
cond_entry(void *arg)
{
	struct want_entry *w = arg;
	json_t *e = entry_get(w->dep, w->pod);
	const char *st = json_string_value(json_object_get(e, "state"));
	const char *wr = json_string_value(json_object_get(e, "written"));
	bool ok = st != NULL && strcmp(st, w->state) == 0 && wr != NULL &&
	    strcmp(wr, w->written) != 0;

	json_decref(e);
	return ok;
}

/* Condition argument: a path into /status and the text it must hold. */
struct want_status {
	struct agent	*a;
	const char	*section, *key, *value;
};

/* Condition: /status[section][key] == value (section NULL: top level). */
static bool
cond_status(void *arg)
{
	struct want_status *w = arg;
	json_t *s = agent_status(w->a), *o;
	const char *v;
	bool ok;

	o = w->section != NULL ? json_object_get(s, w->section) : s;
	v = json_string_value(json_object_get(o, w->key));
	ok = v != NULL && strcmp(v, w->value) == 0;
	json_decref(s);
	return ok;
}

/* Condition: /status lists arg as an invalid annotation. */
static bool __attribute__((unused))
cond_invalid(void *arg)
{
	struct want_status *w = arg;
	json_t *s = agent_status(w->a), *it;
	size_t i;
	bool found = false;

	json_array_foreach(json_object_get(s, "invalid_annotations"), i, it)
		if (strcmp(json_string_value(it), w->key) == 0)
			found = true;
	json_decref(s);
	return found;
}

/* Condition: exactly one InvalidAnnotation Event about the pod exists. */
static bool __attribute__((unused))
cond_one_warning(void *arg)
{
	return warning_events(arg) >= 1;
}

/* Condition argument: a metric of an agent at least a value. */
struct want_metric {
	struct agent	*a;
	const char	*name;
	double		 value;
};

/* Condition: the metric reached the value. */
static bool __attribute__((unused))
cond_metric_ge(void *arg)
{
	struct want_metric *w = arg;

	return agent_metric(w->a, w->name) >= w->value;
}

/* Condition argument: the Lease of dep held by someone (not "" / NULL). */
static bool __attribute__((unused))
cond_held(void *arg)
{
	char *h = holder_get(arg);
	bool ok = h != NULL && *h != '\0';

	free(h);
	return ok;
}

/* Wait for an agent to exit; returns its exit status, -1 on a signal or timeout. */
static int
agent_exit_status(struct agent *a, int timeout_ms)
{
	int st = 0;

	if (!proc_wait(a->p, timeout_ms, &st))
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* ------------------------------------------------------------ tests */

/*
 * One agent: ready, entry refreshed every report interval, endpoints,
 * leadership, then SIGTERM: released Lease, terminating entry, exit 0.
 */
START_TEST(test_agent_lifecycle)
{
	static const char *ann = "twa.dev/build-id=\"v1\"\n"
	    "twa.dev/report-interval=\"1s\"";
	struct agent *a = agent_start("solo-0", "solo", ann, NULL);
	struct want_entry we = { "solo", "solo-0", "ready", "" };
	struct want_status ws = { a, NULL, "role", "leader" };
	json_t *e, *s, *l;
	char *body, *h;
	long long t0;

	ck_assert_int_eq(agent_get(a, "/healthz", &body), 200);
	ck_assert_str_eq(body, "ok\n");
	free(body);
	ck_assert_int_eq(agent_get(a, "/nope", NULL), 404);
	ck_assert_msg(proc_wait_until(cond_ready, a, 10000 * AGENT_SLOW),
	    "agent never ready (log %s)", a->log);
	ck_assert(proc_wait_until(cond_entry, &we, 5000 * AGENT_SLOW));

	/* the entry is rewritten every report interval (1s) */
	e = entry_get("solo", "solo-0");
	ck_assert_str_eq(json_string_value(json_object_get(e, "build")), "v1");
	ck_assert_str_eq(json_string_value(json_object_get(e, "pod")), "solo-0");
	ck_assert_ptr_nonnull(json_string_value(json_object_get(e, "changed")));
	snprintf(we.written, sizeof we.written, "%s",
	    json_string_value(json_object_get(e, "written")));
	json_decref(e);
	t0 = proc_now_ms();
	ck_assert(proc_wait_until(cond_entry, &we, 5000 * AGENT_SLOW));
	e = entry_get("solo", "solo-0");
	snprintf(we.written, sizeof we.written, "%s",
	    json_string_value(json_object_get(e, "written")));
	json_decref(e);
	ck_assert(proc_wait_until(cond_entry, &we, 5000 * AGENT_SLOW));
	/* two refreshes need about two intervals, not a burst */
	ck_assert_int_ge(proc_now_ms() - t0, 900);

	/* the only agent leads */
	ck_assert(proc_wait_until(cond_status, &ws, 10000 * AGENT_SLOW));
	h = holder_get("solo");
	ck_assert_str_eq(h, "solo-0");
	free(h);
	ck_assert(agent_metric(a, "twa_agent_leader") == 1);
	ck_assert(agent_metric(a, "twa_agent_ready") == 1);
	ck_assert(agent_metric(a, "twa_agent_health_writes_total") >= 3);
	ck_assert(agent_metric(a, "twa_agent_health_write_failures_total") == 0);
	ck_assert(agent_metric(a, "twa_agent_lease_renew_latency_seconds") >= 0);

	/* /metrics is Prometheus text: every sample line "name[{..}] value" */
	ck_assert_int_eq(agent_get(a, "/metrics", &body), 200);
	{
		char *line, *save = NULL;
		int samples = 0;

		for (line = strtok_r(body, "\n", &save); line != NULL;
		    line = strtok_r(NULL, "\n", &save)) {
			char *sp;

			if (line[0] == '#') {
				ck_assert(strncmp(line, "# HELP ", 7) == 0 ||
				    strncmp(line, "# TYPE ", 7) == 0);
				continue;
			}
			sp = strrchr(line, ' ');
			ck_assert_msg(sp != NULL, "bad sample: %s", line);
			ck_assert_msg(strncmp(line, "twa_", 4) == 0,
			    "bad name: %s", line);
			strtod(sp + 1, &sp);
			ck_assert_msg(*sp == '\0', "bad value: %s", line);
			samples++;
		}
		ck_assert_int_gt(samples, 20);
	}
	free(body);

	/* /status */
	s = agent_status(a);
	ck_assert_str_eq(json_string_value(json_object_get(s, "pod")), "solo-0");
	ck_assert_str_eq(json_string_value(json_object_get(s, "build")), "v1");
	ck_assert_str_eq(json_string_value(json_object_get(s, "deployment")),
	    "solo");
	ck_assert(json_is_true(json_object_get(s, "ready")));
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(s,
	    "health"), "state")), "ready");
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(s,
	    "lease"), "name")), "twa-solo");
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(s,
	    "settings"), "twa.dev/report-interval")), "1s");
	ck_assert(json_is_object(json_object_get(s, "leader")));
	ck_assert(json_is_null(json_object_get(s, "last_error")));
	json_decref(s);

	/* SIGTERM: release, terminating, exit 0 within the bound */
	t0 = proc_now_ms();
	proc_kill(a->p, SIGTERM);
	ck_assert_int_eq(agent_exit_status(a, 8000 * AGENT_SLOW), 0);
	ck_assert_int_lt(proc_now_ms() - t0, 5500 * AGENT_SLOW);
	l = lease_get("solo");
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(l,
	    "spec"), "holderIdentity")), "");
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(l,
	    "spec"), "leaseDurationSeconds")), 1);
	json_decref(l);
	e = entry_get("solo", "solo-0");
	ck_assert_str_eq(json_string_value(json_object_get(e, "state")),
	    "terminating");
	json_decref(e);
	agent_free(a);
}
END_TEST

#ifndef TWA_AGENT_VALGRIND
/*
 * Live configuration: an invalid value keeps the last good one and makes
 * exactly one Warning Event; other changes and the fix apply live.
 */
START_TEST(test_agent_live_config)
{
	static const char *good = "twa.dev/build-id=\"v2\"\n"
	    "twa.dev/report-interval=\"1s\"";
	static const char *bad = "twa.dev/build-id=\"v2\"\n"
	    "twa.dev/report-interval=\"every now and then\"";
	static const char *bad2 = "twa.dev/agent-log-level=\"debug\"\n"
	    "twa.dev/build-id=\"v2\"\n"
	    "twa.dev/report-interval=\"every now and then\"";
	static const char *fixed = "twa.dev/agent-log-level=\"debug\"\n"
	    "twa.dev/build-id=\"v2\"\ntwa.dev/report-interval=\"2s\"";
	struct agent *a = agent_start("cfg-0", "cfg", good, NULL);
	struct want_status inv = { a, NULL, "twa.dev/report-interval", NULL };
	struct want_status lvl = { a, "settings", "twa.dev/agent-log-level",
	    "debug" };
	struct want_status ri = { a, "settings", "twa.dev/report-interval",
	    "2s" };
	struct want_metric wm = { a, "twa_agent_config_reloads_total", 0 };
	json_t *s;

	ck_assert(proc_wait_until(cond_ready, a, 10000));
	ck_assert_int_eq(warning_events("cfg-0"), 0);

	agent_annotate(a, bad);
	ck_assert(proc_wait_until(cond_invalid, &inv, 5000));
	s = agent_status(a);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(s,
	    "settings"), "twa.dev/report-interval")), "1s");
	ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(
	    json_object_get(s, "last_error"), "message")),
	    "twa.dev/report-interval"));
	json_decref(s);
	ck_assert(proc_wait_until(cond_one_warning, (void *)"cfg-0", 5000));

	/* an unrelated change applies; the bad value does not warn again */
	agent_annotate(a, bad2);
	ck_assert(proc_wait_until(cond_status, &lvl, 5000));
	/* a forced reload (SIGHUP) reads the file again: no new warning */
	wm.value = agent_metric(a, "twa_agent_config_reloads_total") + 1;
	kill(proc_pid(a->p), SIGHUP);
	ck_assert(proc_wait_until(cond_metric_ge, &wm, 5000));
	ck_assert(agent_metric(a, "twa_agent_config_errors_total") == 1);
	/* the Event of the first bad value is counted once written */
	wm.name = "twa_agent_events_total";
	wm.value = 1;
	ck_assert(proc_wait_until(cond_metric_ge, &wm, 5000));
	ck_assert(agent_metric(a, "twa_agent_events_total") == 1);
	ck_assert_int_eq(warning_events("cfg-0"), 1);

	/* the log level applied: the forced reload logged at debug level */
	ck_assert(log_has(a, "level=debug"));
	ck_assert(log_has(a, "msg=\"annotation still invalid\""));

	/* the fix applies live, and is logged as applying */
	agent_annotate(a, fixed);
	ck_assert(proc_wait_until(cond_status, &ri, 5000));
	s = agent_status(a);
	ck_assert_uint_eq(json_array_size(json_object_get(s,
	    "invalid_annotations")), 0);
	json_decref(s);
	ck_assert(log_has(a, "annotation fixed; it applies now"));
	/* the health board was remade with the new interval */
	ri.section = "health";
	ri.key = "report_interval";
	ck_assert(proc_wait_until(cond_status, &ri, 2000));
	ck_assert_int_eq(warning_events("cfg-0"), 1);
	ck_assert(agent_metric(a, "twa_agent_config_errors_total") == 1);
	proc_kill(a->p, SIGTERM);
	ck_assert_int_eq(agent_exit_status(a, 8000), 0);
	agent_free(a);
}
END_TEST

/* The worker probe from the annotation: ready, unhealthy, ready again. */
START_TEST(test_agent_worker_probe)
{
	char *tmpl = xasprintf("%s/hw", basedir), *sick, *script, *cause = NULL;
	char *argv[5], *ann;
	struct proc *hw;
	struct agent *a;
	struct want_entry we = { "probe", "probe-0", "ready", "" };
	struct want_status st = { NULL, "health", "state", "unhealthy" };
	json_t *e;
	FILE *f;

	ck_assert_int_eq(mkdir(tmpl, 0700), 0);
	sick = xasprintf("%s/sick", tmpl);
	script = proc_srcpath("t/e2e/healthworker.js");
	argv[0] = getenv("NODE") != NULL ? getenv("NODE") : (char *)"node";
	argv[1] = script;
	argv[2] = (char *)"--sick-file";
	argv[3] = sick;
	argv[4] = NULL;
	hw = hworker = proc_start(argv, NULL, 10000, &cause);
	ck_assert_msg(hw != NULL, "health worker: %s", cause);
	ann = xasprintf("twa.dev/build-id=\"v3\"\ntwa.dev/report-interval=\"1s\"\n"
	    "twa.dev/worker-probe=\"http://127.0.0.1:%d/healthz\"",
	    proc_port(hw, "port"));
	a = agent_start("probe-0", "probe", ann, NULL);
	ck_assert(proc_wait_until(cond_ready, a, 10000));
	ck_assert(proc_wait_until(cond_entry, &we, 5000));

	/* the worker turns sick: unhealthy after 3 failed checks, not ready */
	f = fopen(sick, "w");
	fclose(f);
	we.state = "unhealthy";
	ck_assert(proc_wait_until(cond_entry, &we, 5000));
	e = entry_get("probe", "probe-0");
	ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(e,
	    "reason")), "HTTP 503"));
	json_decref(e);
	st.a = a;
	ck_assert(proc_wait_until(cond_status, &st, 2000));
	ck_assert_int_eq(agent_get(a, "/readyz", NULL), 503);

	/* healthy again: ready at the next check */
	ck_assert_int_eq(unlink(sick), 0);
	we.state = "ready";
	ck_assert(proc_wait_until(cond_entry, &we, 5000));
	ck_assert(proc_wait_until(cond_ready, a, 5000));

	/* the probe can be switched off live */
	free(ann);
	ann = xstrdup("twa.dev/build-id=\"v3\"\ntwa.dev/report-interval=\"1s\"\n"
	    "twa.dev/worker-probe=\"none\"");
	agent_annotate(a, ann);
	st.section = "settings";
	st.key = "twa.dev/worker-probe";
	st.value = "none";
	ck_assert(proc_wait_until(cond_status, &st, 5000));
	proc_kill(a->p, SIGTERM);
	ck_assert_int_eq(agent_exit_status(a, 8000), 0);
	agent_free(a);
	proc_stop(hw);
	hworker = NULL;
	unlink(sick);
	rmdir(tmpl);
	free(tmpl);
	free(sick);
	free(script);
	free(ann);
}
END_TEST

/* Invalid values already there at start-up: one Event each, defaults used. */
START_TEST(test_agent_invalid_at_start)
{
	static const char *ann = "twa.dev/build-id=\"v4\"\n"
	    "twa.dev/max-versions=\"1\"\ntwa.dev/report-interval=\"1s\"";
	struct agent *a = agent_start("early-0", "early", ann, NULL);
	json_t *s;

	ck_assert(proc_wait_until(cond_ready, a, 10000));
	ck_assert(proc_wait_until(cond_one_warning, (void *)"early-0", 5000));
	s = agent_status(a);
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(s,
	    "settings"), "twa.dev/max-versions")), 20);
	ck_assert_uint_eq(json_array_size(json_object_get(s,
	    "invalid_annotations")), 1);
	json_decref(s);
	proc_kill(a->p, SIGTERM);
	ck_assert_int_eq(agent_exit_status(a, 8000), 0);
	ck_assert_int_eq(warning_events("early-0"), 1);
	agent_free(a);
}
END_TEST

/* The notifications a test socket received so far. */
struct notify {
	int	 fd;
	char	 seen[4096];
	size_t	 len;
};

/* Condition: the notify socket received a datagram holding arg text. */
static bool
notify_has(struct notify *n, const char *text)
{
	struct pollfd p = { n->fd, POLLIN, 0 };
	char buf[512];
	ssize_t r;

	while (poll(&p, 1, 0) == 1) {
		r = recv(n->fd, buf, sizeof buf - 1, 0);
		if (r <= 0)
			break;
		buf[r] = '\n';
		if (n->len + (size_t)r + 1 < sizeof n->seen) {
			memcpy(n->seen + n->len, buf, (size_t)r + 1);
			n->len += (size_t)r + 1;
			n->seen[n->len] = '\0';
		}
	}
	return strstr(n->seen, text) != NULL;
}

static struct notify *notify_cur;

/* proc_wait_until adapter for notify_has. */
static bool
cond_notify(void *arg)
{
	return notify_has(notify_cur, arg);
}

/* sd_notify: READY=1 after the first Lease write, WATCHDOG=1, STOPPING=1. */
START_TEST(test_agent_sd_notify)
{
	static const char *ann = "twa.dev/build-id=\"v5\"\n"
	    "twa.dev/report-interval=\"1s\"";
	struct sockaddr_un sun;
	struct notify n;
	struct agent *a;

	memset(&n, 0, sizeof n);
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof sun.sun_path, "%s/notify", basedir);
	n.fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(n.fd, 0);
	ck_assert_int_eq(bind(n.fd, (struct sockaddr *)&sun, sizeof sun), 0);
	setenv("NOTIFY_SOCKET", sun.sun_path, 1);
	setenv("WATCHDOG_USEC", "400000", 1);
	a = agent_start("notify-0", "notify", ann, NULL);
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	notify_cur = &n;
	ck_assert(proc_wait_until(cond_notify, (void *)"READY=1", 10000));
	ck_assert(proc_wait_until(cond_ready, a, 10000));
	ck_assert(proc_wait_until(cond_notify, (void *)"WATCHDOG=1", 5000));
	ck_assert(strstr(n.seen, "STOPPING=1") == NULL);
	proc_kill(a->p, SIGTERM);
	ck_assert(proc_wait_until(cond_notify, (void *)"STOPPING=1", 5000));
	ck_assert_int_eq(agent_exit_status(a, 8000), 0);
	close(n.fd);
	unlink(sun.sun_path);
	agent_free(a);
}
END_TEST

/* SIGTERM with the API server hanging: exit 0 at the shutdown bound. */
START_TEST(test_agent_bounded_shutdown)
{
	static const char *ann = "twa.dev/build-id=\"v6\"\n"
	    "twa.dev/report-interval=\"1s\"";
	static const char *const extra[] = { "--shutdown-timeout", "1500ms",
	    NULL };
	struct agent *a = agent_start("slow-0", "slow", ann, extra);
	struct want_status ws = { a, NULL, "role", "leader" };
	json_t *fault = NULL;
	long long t0;

	ck_assert(proc_wait_until(cond_ready, a, 10000));
	ck_assert(proc_wait_until(cond_status, &ws, 10000));
	/* every request for this Lease now hangs for 30 s */
	ck_assert_int_eq(ksim_admin(ks, "POST", "/faults", "{\"action\":"
	    "\"delay\",\"delayMs\":30000,\"path\":\"leases/twa-slow\","
	    "\"count\":-1}", &fault), 201);
	t0 = proc_now_ms();
	proc_kill(a->p, SIGTERM);
	ck_assert_int_eq(agent_exit_status(a, 8000), 0);
	ck_assert_int_lt(proc_now_ms() - t0, 3500);
	ck_assert_int_ge(proc_now_ms() - t0, 1400);
	ck_assert(log_has(a, "shutdown did not finish in time"));
	{
		char *path = xasprintf("/faults/%lld", (long long)
		    json_integer_value(json_object_get(fault, "id")));

		ck_assert_int_eq(ksim_admin(ks, "DELETE", path, NULL, NULL),
		    200);
		free(path);
	}
	json_decref(fault);
	agent_free(a);
}
END_TEST

/* Condition argument: two agents, exactly one of which leads. */
struct pair {
	struct agent	*a, *b;
};

/* Condition: exactly one of the pair reports leader=1 and holds the Lease. */
static bool
cond_one_leader(void *arg)
{
	struct pair *p = arg;
	double la = agent_metric(p->a, "twa_agent_leader");
	double lb = agent_metric(p->b, "twa_agent_leader");
	char *h = holder_get(p->a->dep);
	bool ok = la + lb == 1 && h != NULL &&
	    strcmp(h, la == 1 ? p->a->pod : p->b->pod) == 0;

	free(h);
	return ok;
}

/* Condition: the agent arg leads (metric) and holds the Lease. */
static bool
cond_leads(void *arg)
{
	struct agent *a = arg;
	char *h = holder_get(a->dep);
	bool ok = h != NULL && strcmp(h, a->pod) == 0 &&
	    agent_metric(a, "twa_agent_leader") == 1;

	free(h);
	return ok;
}

/* Two agents: exactly one leads; SIGTERM on it hands leadership over. */
START_TEST(test_agent_two)
{
	static const char *ann = "twa.dev/build-id=\"v1\"\n"
	    "twa.dev/report-interval=\"1s\"";
	struct pair p;
	struct agent *leader, *other;
	struct want_entry we = { "pair", NULL, "ready", "" };
	struct want_status ri = { NULL, "health", "report_interval", "2s" };
	struct want_metric wm = { NULL, "twa_agent_lease_polling", 1 };
	int64_t gap;
	long long t0;

	p.a = agent_start("pair-a", "pair", ann, NULL);
	p.b = agent_start("pair-b", "pair", ann, NULL);
	ck_assert(proc_wait_until(cond_ready, p.a, 10000));
	ck_assert(proc_wait_until(cond_ready, p.b, 10000));
	we.pod = "pair-a";
	ck_assert(proc_wait_until(cond_entry, &we, 5000));
	we.pod = "pair-b";
	ck_assert(proc_wait_until(cond_entry, &we, 5000));
	ck_assert(proc_wait_until(cond_held, (void *)"pair", 10000));
	ck_assert(proc_wait_until(cond_one_leader, &p, 10000));
	/* still exactly one a few report intervals later */
	t0 = proc_now_ms();
	while (proc_now_ms() - t0 < 2500)
		ck_assert(cond_one_leader(&p));
	leader = agent_metric(p.a, "twa_agent_leader") == 1 ? p.a : p.b;
	other = leader == p.a ? p.b : p.a;

	/* the leader names the other agent a standby: it polls the Lease */
	wm.a = other;
	ck_assert(proc_wait_until(cond_metric_ge, &wm, 10000));
	ck_assert(agent_metric(leader, "twa_agent_lease_polling") == 1);

	/* the follower writes once per report interval, which applies live */
	gap = entry_gap_ms("pair", other->pod);
	ck_assert_msg(gap >= 700 && gap < 1600, "gap %lld ms at 1s",
	    (long long)gap);
	agent_annotate(other, "twa.dev/build-id=\"v1\"\n"
	    "twa.dev/report-interval=\"2s\"");
	ri.a = other;
	ck_assert(proc_wait_until(cond_status, &ri, 5000));
	gap = entry_gap_ms("pair", other->pod);
	ck_assert_msg(gap >= 1700 && gap < 2600, "gap %lld ms at 2s",
	    (long long)gap);

	/* the leader leaves: the other takes over within lease + 2 s */
	t0 = proc_now_ms();
	proc_kill(leader->p, SIGTERM);
	ck_assert_int_eq(agent_exit_status(leader, 8000), 0);
	ck_assert_msg(proc_wait_until(cond_leads, other, 5000),
	    "no takeover (logs %s, %s)", p.a->log, p.b->log);
	ck_assert_int_lt(proc_now_ms() - t0, 3000 + 2000 + 1000);
	ck_assert(agent_metric(other, "twa_agent_lease_transitions_seen_total")
	    >= 1);
	proc_kill(other->p, SIGTERM);
	ck_assert_int_eq(agent_exit_status(other, 8000), 0);
	agent_free(p.a);
	agent_free(p.b);
}
END_TEST

/* Usage errors: what is missing is named; exit status 2. */
struct usage_case {
	const char	*env_pod, *env_ns, *env_uid;
	const char	*arg1, *arg2;
	const char	*want;
};

static const struct usage_case usage_cases[] = {
	{ NULL, NULL, NULL, NULL, NULL, "missing POD_NAME (or --pod-name), "
	  "POD_NAMESPACE (or --kube-namespace), POD_UID (or --pod-uid)" },
	{ "p", NULL, "u", NULL, NULL, "missing POD_NAMESPACE (or "
	  "--kube-namespace): set" },
	{ "p", "ns", NULL, NULL, NULL, "missing POD_UID (or --pod-uid)" },
	{ "p", "ns", "u", "--listen", "nowhere", "--listen: listen address "
	  "\"nowhere\" is invalid" },
	{ "p", "ns", "u", "--listen", ":70000", "port" },
	{ "p", "ns", "u", "--retry-period", "20s", "renew deadline" },
	{ "p", "ns", "u", "--temporal-cert", "/x", "go together" },
	{ "p", "ns", "u", "--lease-duration", "soon", "--lease-duration" },
	{ "p", "ns", "u", "extra", NULL, "unexpected argument \"extra\"" },
};

START_TEST(test_agent_usage)
{
	const struct usage_case *c = &usage_cases[_i];
	char *twa = proc_buildpath("twa"), *cmd, *out = NULL;
	size_t len = 0;
	FILE *p, *o;
	char buf[512];
	int st;

	cmd = xasprintf("env -u POD_NAME -u POD_NAMESPACE -u POD_UID %s%s %s%s "
	    "%s%s '%s' agent %s %s 2>&1", c->env_pod ? "POD_NAME=" : "",
	    c->env_pod ? c->env_pod : "", c->env_ns ? "POD_NAMESPACE=" : "",
	    c->env_ns ? c->env_ns : "", c->env_uid ? "POD_UID=" : "",
	    c->env_uid ? c->env_uid : "", twa, c->arg1 ? c->arg1 : "",
	    c->arg2 ? c->arg2 : "");
	p = popen(cmd, "r");
	o = open_memstream(&out, &len);
	while (fgets(buf, sizeof buf, p) != NULL)
		fputs(buf, o);
	st = pclose(p);
	fclose(o);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 2, "%s: status %d: %s",
	    cmd, st, out);
	ck_assert_msg(strstr(out, c->want) != NULL, "%s: output lacks \"%s\": %s",
	    cmd, c->want, out);
	free(out);
	free(cmd);
	free(twa);
}
END_TEST

/* Start-up failures name what is wrong; exit status 1. */
START_TEST(test_agent_bad_start)
{
	char *tmpl = xasprintf("%s/bad-start", basedir);
	char *twa = proc_buildpath("twa"), *cmd, *out = NULL, *lab, *ann;
	size_t len = 0;
	char buf[512];
	FILE *p, *o;
	int st;

	ck_assert_int_eq(mkdir(tmpl, 0700), 0);
	lab = xasprintf("%s/labels", tmpl);
	ann = xasprintf("%s/annotations", tmpl);
	ck_assert_int_eq(ksim_write_file(lab, "twa.dev/deployment=\"Bad_Name\""),
	    0);
	ck_assert_int_eq(ksim_write_file(ann, ""), 0);
	cmd = xasprintf("POD_NAME=p POD_NAMESPACE=work POD_UID=u '%s' agent "
	    "--labels %s --annotations %s --kube-server https://127.0.0.1:1 "
	    "--listen 127.0.0.1:0 2>&1", twa, lab, ann);
	p = popen(cmd, "r");
	o = open_memstream(&out, &len);
	while (fgets(buf, sizeof buf, p) != NULL)
		fputs(buf, o);
	st = pclose(p);
	fclose(o);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 1, "status %d: %s",
	    st, out);
	ck_assert_msg(strstr(out, "\"Bad_Name\" is invalid; expected a DNS "
	    "label") != NULL, "%s", out);
	free(out);
	free(cmd);
	out = NULL;
	/* no build ID anywhere */
	ck_assert_int_eq(ksim_write_file(lab, "twa.dev/deployment=\"good\""), 0);
	cmd = xasprintf("POD_NAME=p POD_NAMESPACE=work POD_UID=u '%s' agent "
	    "--labels %s --annotations %s --kube-server https://127.0.0.1:1 "
	    "--listen 127.0.0.1:0 2>&1", twa, lab, ann);
	p = popen(cmd, "r");
	o = open_memstream(&out, &len);
	while (fgets(buf, sizeof buf, p) != NULL)
		fputs(buf, o);
	st = pclose(p);
	fclose(o);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 1, "status %d: %s",
	    st, out);
	ck_assert_msg(strstr(out, "no build ID: pass --build-id") != NULL, "%s",
	    out);
	unlink(lab);
	unlink(ann);
	rmdir(tmpl);
	free(tmpl);
	free(out);
	free(cmd);
	free(lab);
	free(ann);
	free(twa);
}
END_TEST
#endif

/* The suite. */
static Suite *
agent_suite(void)
{
	Suite *s = suite_create("agent");
	TCase *tc = tcase_create("agent");

	tcase_add_unchecked_fixture(tc, sim_setup, sim_teardown);
	tcase_set_timeout(tc, 120 * AGENT_SLOW);
	tcase_add_test(tc, test_agent_lifecycle);
#ifndef TWA_AGENT_VALGRIND
	tcase_add_test(tc, test_agent_live_config);
	tcase_add_test(tc, test_agent_worker_probe);
	tcase_add_test(tc, test_agent_invalid_at_start);
	tcase_add_test(tc, test_agent_sd_notify);
	tcase_add_test(tc, test_agent_bounded_shutdown);
	tcase_add_test(tc, test_agent_two);
	tcase_add_loop_test(tc, test_agent_usage, 0, N_CASES(usage_cases));
	tcase_add_test(tc, test_agent_bad_start);
#endif
	suite_add_tcase(s, tc);
	return s;
}

#ifdef TWA_AGENT_VALGRIND
/* Run the lifecycle under valgrind, or skip (77) when it cannot. */
int
main(void)
{
	const char *vg = getenv("VALGRIND");
	SRunner *sr;
	int failed;

	if (vg == NULL || *vg == '\0' || strstr(TWA_BUILD_OPTIONS,
	    "sanitizers=yes") != NULL) {
		printf("skip: valgrind not found or sanitizer build\n");
		return 77;
	}
	sr = srunner_create(agent_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
#else
CHECK_MAIN(agent_suite)
#endif
