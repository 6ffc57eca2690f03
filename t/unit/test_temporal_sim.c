/* test_temporal_sim: helpers of the Temporal client tests. */
#include "config.h"

#include <sys/stat.h>

#include <check.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proc.h"
#include "test_temporal_sim.h"
#include "xalloc.h"

/*
 * Simulators still running. A failed assertion ends a forked test with
 * exit() before its teardown: the atexit handler then stops them, so no
 * simulator outlives its test.
 */
#define TSIM_MAX 8
static struct tsim *tsim_live[TSIM_MAX];
static unsigned tsim_seq;	/* numbers the log files of one process */
static pid_t tsim_owner[TSIM_MAX];

/* atexit: kill every simulator this process started and still holds. */
static void
tsim_atexit(void)
{
	for (size_t i = 0; i < TSIM_MAX; i++) {
		/* A forked test inherits its parent's shared simulator. */
		if (tsim_live[i] != NULL && tsim_owner[i] == getpid()) {
			fprintf(stderr, "simulator log kept: %s\n",
			    tsim_live[i]->log);
			proc_stop(tsim_live[i]->proc);
			tsim_live[i] = NULL;
		}
	}
}

/* Add s to (add) or drop it from the live set. */
static void
tsim_track(struct tsim *s, bool add)
{
	static bool registered;

	if (!registered) {
		atexit(tsim_atexit);
		registered = true;
	}
	for (size_t i = 0; i < TSIM_MAX; i++) {
		if (add && tsim_live[i] == NULL) {
			tsim_live[i] = s;
			tsim_owner[i] = getpid();
			return;
		}
		if (!add && tsim_live[i] == s) {
			tsim_live[i] = NULL;
			return;
		}
	}
}

/* Start the simulator; aborts the test on failure. */
struct tsim *
tsim_start(const char *const *args, int grpc_port)
{
	const char *node = getenv("NODE");
	char *argv[32], *script, *cause = NULL, port[16];
	struct tsim *s;
	size_t n = 0;

	s = xcalloc(1, sizeof *s);
	script = proc_srcpath("t/sim/temporal/server.js");
	argv[n++] = (char *)(node != NULL && *node != '\0' ? node : "node");
	argv[n++] = script;
	if (grpc_port > 0) {
		snprintf(port, sizeof port, "%d", grpc_port);
		argv[n++] = (char *)"--grpc-port";
		argv[n++] = port;
	}
	for (size_t i = 0; args != NULL && args[i] != NULL && n < 30; i++)
		argv[n++] = (char *)args[i];
	argv[n] = NULL;
	s->log = xasprintf("%s/temporal-sim-%d-%u.log",
	    getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp", (int)getpid(),
	    ++tsim_seq);
	s->proc = proc_start(argv, s->log, 45000, &cause);
	free(script);
	if (s->proc == NULL) {
		static char why[512];

		snprintf(why, sizeof why, "%s", cause);
		free(cause);
		free(s->log);
		free(s);
		ck_abort_msg("cannot start the Temporal simulator: %s", why);
	}
	tsim_track(s, true);
	s->grpc = proc_port(s->proc, "grpc");
	s->admin = proc_port(s->proc, "admin");
	ck_assert_int_gt(s->grpc, 0);
	ck_assert_int_gt(s->admin, 0);
	snprintf(s->addr, sizeof s->addr, "127.0.0.1:%d", s->grpc);
	return s;
}

/* Check for unknown fields, then stop the simulator. */
void
tsim_stop(struct tsim *s)
{
	if (s == NULL)
		return;
	ck_assert_int_eq(tsim_state_int(s, "counters.unknownFieldRequests"), 0);
	tsim_track(s, false);
	proc_stop(s->proc);
	unlink(s->log);
	free(s->log);
	free(s);
}

/* Kill the simulator without checks. */
void
tsim_kill(struct tsim *s)
{
	tsim_track(s, false);
	proc_kill(s->proc, SIGKILL);
	ck_assert(proc_wait(s->proc, 5000, NULL));
	proc_stop(s->proc);
	unlink(s->log);
	free(s->log);
	free(s);
}

/* Send an admin request. */
int
tsim_admin(struct tsim *s, const char *method, const char *path,
    const char *body, json_t **out)
{
	char *resp = NULL, *cause = NULL;
	json_error_t jerr;
	int status;

	status = proc_http(s->admin, method, path, body, &resp, &cause);
	if (status < 0)
		ck_abort_msg("admin %s %s: %s", method, path, cause);
	if (out != NULL) {
		*out = resp != NULL ? json_loads(resp, 0, &jerr) : NULL;
		if (*out == NULL)
			ck_abort_msg("admin %s %s: reply is not JSON: %s", method,
			    path, resp != NULL ? resp : "(none)");
	}
	free(resp);
	return status;
}

/* Register a versioned workflow poller. */
void
tsim_poller(struct tsim *s, const char *tq, const char *deployment,
    const char *build)
{
	char *body;
	int status;

	body = xasprintf("{\"taskQueue\":\"%s\",\"deploymentName\":\"%s\","
	    "\"buildId\":\"%s\",\"identity\":\"worker-%s\"}", tq, deployment,
	    build, build);
	status = tsim_admin(s, "POST", "/pollers", body, NULL);
	ck_assert_msg(status == 200, "POST /pollers %s: status %d", body, status);
	free(body);
}

/* Integer at a dotted path of the state dump (numbers index arrays). */
long long
tsim_state_int(struct tsim *s, const char *path)
{
	json_t *st, *v;
	char *copy, *tok, *save = NULL;
	long long n;

	ck_assert_int_eq(tsim_admin(s, "GET", "/state", NULL, &st), 200);
	v = st;
	copy = xstrdup(path);
	for (tok = strtok_r(copy, ".", &save); tok != NULL && v != NULL;
	    tok = strtok_r(NULL, ".", &save)) {
		if (json_is_array(v))
			v = json_array_get(v, strtoul(tok, NULL, 10));
		else
			v = json_object_get(v, tok);
	}
	ck_assert_msg(json_is_integer(v), "state %s is not an integer", path);
	n = json_integer_value(v);
	free(copy);
	json_decref(st);
	return n;
}

/* Deadline timer of loop_until. */
static void
loop_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	event_base_loopbreak(arg);
}

/* Run the loop until *flag or the timeout. */
bool
loop_until(struct event_base *base, const bool *flag, int timeout_ms)
{
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
	struct event *ev;

	ev = evtimer_new(base, loop_deadline_cb, base);
	evtimer_add(ev, &tv);
	while (!*flag && evtimer_pending(ev, NULL))
		event_base_loop(base, EVLOOP_ONCE);
	event_free(ev);
	return *flag;
}

/* Temporary directory for a test. */
char *
test_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	char *dir = xasprintf("%s/twa-temporal-XXXXXX",
	    base != NULL ? base : "/tmp");

	ck_assert_ptr_nonnull(mkdtemp(dir));
	return dir;
}

/* Write a file. */
char *
test_write(const char *dir, const char *name, const char *text)
{
	char *path = xasprintf("%s/%s", dir, name), *tmp;
	FILE *f;

	/* Write then rename, as a Secret volume update does. */
	tmp = xasprintf("%s.tmp", path);
	f = fopen(tmp, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_ge(fputs(text, f), 0);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(rename(tmp, path), 0);
	free(tmp);
	return path;
}

/* Remove a directory tree (one level deep is all the tests make). */
void
test_rmdir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char *p;

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		p = xasprintf("%s/%s", dir, e->d_name);
		unlink(p);
		free(p);
	}
	closedir(d);
	rmdir(dir);
}

/* Record an error (or success) into r. */
static void
rec_error(struct rec *r, const struct temporal_error *e)
{
	r->calls++;
	r->done = true;
	if (e == NULL) {
		r->code = 0;
		r->msg[0] = '\0';
		r->local = false;
		return;
	}
	r->code = e->code;
	snprintf(r->msg, sizeof r->msg, "%s", e->message);
	r->local = e->local;
	r->attempts = e->attempts;
	ck_assert_ptr_nonnull(e->message);
}

/* Record a DescribeWorkerDeployment result; r owns it until rec_reset. */
void
rec_deployment_cb(const struct temporal_error *e, struct temporal_deployment *d,
    void *arg)
{
	struct rec *r = arg;

	rec_error(r, e);
	ck_assert((e == NULL) == (d != NULL));
	r->dep = d;
}

/* Record a Set* result (the token is copied). */
void
rec_token_cb(const struct temporal_error *e, const struct temporal_token *t,
    void *arg)
{
	struct rec *r = arg;

	rec_error(r, e);
	ck_assert((e == NULL) == (t != NULL));
	if (t != NULL)
		r->tok = *t;
}

/* Record a DescribeWorkerDeploymentVersion result; r owns it. */
void
rec_version_cb(const struct temporal_error *e, struct temporal_version_info *v,
    void *arg)
{
	struct rec *r = arg;

	rec_error(r, e);
	ck_assert((e == NULL) == (v != NULL));
	r->ver = v;
}

/* Record a result-less call. */
void
rec_done_cb(const struct temporal_error *e, void *arg)
{
	rec_error(arg, e);
}

/* Record a DescribeTaskQueue result; r owns it. */
void
rec_task_queue_cb(const struct temporal_error *e,
    struct temporal_task_queue_info *q, void *arg)
{
	struct rec *r = arg;

	rec_error(r, e);
	ck_assert((e == NULL) == (q != NULL));
	r->tq = q;
}

/* Record a StartWorkflowExecution result; r owns it. */
void
rec_started_cb(const struct temporal_error *e, struct temporal_started *s,
    void *arg)
{
	struct rec *r = arg;

	rec_error(r, e);
	ck_assert((e == NULL) == (s != NULL));
	r->started = s;
}

/* Record a DescribeWorkflowExecution result; r owns it. */
void
rec_workflow_cb(const struct temporal_error *e, struct temporal_workflow *w,
    void *arg)
{
	struct rec *r = arg;

	rec_error(r, e);
	ck_assert((e == NULL) == (w != NULL));
	r->wf = w;
}

/* Record a CountWorkflowExecutions result. */
void
rec_count_cb(const struct temporal_error *e, int64_t n, void *arg)
{
	struct rec *r = arg;

	rec_error(r, e);
	r->count = n;
}

/* Record a GetSystemInfo result; r owns it. */
void
rec_system_info_cb(const struct temporal_error *e,
    struct temporal_system_info *s, void *arg)
{
	struct rec *r = arg;

	rec_error(r, e);
	ck_assert((e == NULL) == (s != NULL));
	r->si = s;
}

/* Free held results and reset r. */
void
rec_reset(struct rec *r)
{
	temporal_deployment_free(r->dep);
	temporal_version_info_free(r->ver);
	temporal_task_queue_info_free(r->tq);
	temporal_started_free(r->started);
	temporal_workflow_free(r->wf);
	temporal_system_info_free(r->si);
	memset(r, 0, sizeof *r);
}

/* Wait for a result. */
void
rec_wait(struct event_base *base, struct rec *r)
{
	ck_assert_msg(loop_until(base, &r->done, 30000),
	    "no completion within 30 s");
	ck_assert_int_eq(r->calls, 1);
}
