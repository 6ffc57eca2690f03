/* e2e: simulators, Deployments, pods as processes, and assertions on state. */
#include "config.h"

#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buildid.h"
#include "e2e_int.h"
#include "proc.h"
#include "xalloc.h"

/* Whether failures exit the process instead of failing a Check test. */
static bool e2e_is_standalone;
/* The world of this process until e2e_stop (killed at exit otherwise). */
static struct e2e *e2e_live;

/*
 * At exit without e2e_stop (a failed assertion ends the test process):
 * kill every process of the world so nothing outlives the test.
 */
static void
e2e_atexit(void)
{
	struct e2e *w = e2e_live;

	if (w == NULL)
		return;
	e2e_live = NULL;
	for (size_t i = 0; i < w->npods; i++) {
		if (w->pods[i].agent > 0)
			kill(w->pods[i].agent, SIGKILL);
		if (w->pods[i].worker != NULL)
			proc_kill(w->pods[i].worker, SIGKILL);
	}
	if (w->ksim != NULL)
		proc_kill(w->ksim, SIGKILL);
	if (w->tsim != NULL)
		proc_kill(w->tsim, SIGKILL);
	fprintf(stderr, "e2e: stopped the world at exit; logs in %s\n", w->dir);
}

/* Make failures print and exit(1) (programs outside Check). */
void
e2e_standalone(void)
{
	e2e_is_standalone = true;
}

/* Fail the test (or the program) with a message. */
void
e2e_die(const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	if (e2e_is_standalone) {
		fprintf(stderr, "%s\n", msg);
		exit(1);
	}
	ck_abort_msg("%s", msg);
	abort();	/* not reached */
}

/* Milliseconds since the world started. */
long long
e2e_elapsed(const struct e2e *w)
{
	return proc_now_ms() - w->t0;
}

/* Scenario directory. */
const char *
e2e_dir(const struct e2e *w)
{
	return w->dir;
}

/* Print one timeline line. */
void
e2e_note(struct e2e *w, const char *fmt, ...)
{
	va_list ap;
	long long t = e2e_elapsed(w);

	if (w->o.quiet)
		return;
	printf("[%4lld.%llds] ", t / 1000, (t % 1000) / 100);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

/* A timeline line about pods (left out of a brief timeline). */
static void __attribute__((format(printf, 2, 3)))
e2e_detail(struct e2e *w, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	if (w->o.brief || w->o.quiet)
		return;
	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	e2e_note(w, "%s", msg);
	free(msg);
}

/* Send an admin request to port; returns the status and *out the body. */
static int
e2e_admin(int port, const char *method, const char *path, const char *body,
    json_t **out)
{
	char *resp = NULL, *cause = NULL;
	int status;

	if (out != NULL)
		*out = NULL;
	status = proc_http(port, method, path, body, &resp, &cause);
	if (status < 0) {
		fprintf(stderr, "e2e: admin %s %s: %s\n", method, path, cause);
		free(cause);
		return -1;
	}
	if (out != NULL && resp != NULL)
		*out = json_loads(resp, 0, NULL);
	free(resp);
	return status;
}

/* Kubernetes simulator admin request. */
int
e2e_kadmin(struct e2e *w, const char *method, const char *path,
    const char *body, json_t **out)
{
	return e2e_admin(w->kadmin, method, path, body, out);
}

/* Temporal simulator admin request. */
int
e2e_tadmin(struct e2e *w, const char *method, const char *path,
    const char *body, json_t **out)
{
	return e2e_admin(w->tadmin, method, path, body, out);
}

/* API server port. */
int
e2e_kube_port(const struct e2e *w)
{
	return w->kport;
}

/* CA of the API server. */
const char *
e2e_kube_ca(const struct e2e *w)
{
	return w->ca;
}

/* Token file for the API server. */
const char *
e2e_kube_token_file(const struct e2e *w)
{
	return w->token;
}

/* Temporal frontend address. */
const char *
e2e_temporal_address(const struct e2e *w)
{
	return w->taddr;
}

/* Temporal admin port. */
int
e2e_temporal_admin_port(const struct e2e *w)
{
	return w->tadmin;
}

/* Write text to path; aborts on failure. */
static void
e2e_write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		e2e_die("e2e: cannot write %s: %s", path, strerror(errno));
	fputs(text, f);
	fclose(f);
}

/* Start the two simulators. */
struct e2e *
e2e_start(const struct e2e_opts *o)
{
	const char *node = getenv("NODE"), *tmp = getenv("TMPDIR");
	char *argv[40], *cause = NULL, *script, *log, *cmd, *certs, *key, *crt;
	struct e2e *w = xcalloc(1, sizeof *w);
	size_t n = 0;
	json_t *r;

	w->o = *o;
	if (w->o.lease_ms == 0)
		w->o.lease_ms = 3000;
	if (w->o.renew_ms == 0)
		w->o.renew_ms = 2000;
	if (w->o.retry_ms == 0)
		w->o.retry_ms = 500;
	if (w->o.report_interval == NULL)
		w->o.report_interval = "1s";
	if (w->o.restart_delay_ms == 0)
		w->o.restart_delay_ms = 10000;
	if (node == NULL || *node == '\0')
		node = "node";
	w->t0 = proc_now_ms();
	w->valgrind = getenv("TWA_E2E_VALGRIND") != NULL &&
	    strcmp(getenv("TWA_E2E_VALGRIND"), "1") == 0;
	if (w->valgrind) {
		/* agents run ~20 times slower: longer election timings */
		w->o.lease_ms *= 3;
		w->o.renew_ms *= 3;
		w->o.retry_ms *= 3;
	}
	w->dir = xasprintf("%s/twa-e2e-%s-XXXXXX", tmp != NULL ? tmp : "/tmp",
	    o->scenario != NULL ? o->scenario : "world");
	if (mkdtemp(w->dir) == NULL)
		e2e_die("e2e: mkdtemp %s: %s", w->dir, strerror(errno));
	w->twa = proc_buildpath("twa");
	w->fakeworker = proc_buildpath("t/e2e/fakeworker");
	w->tl_events = json_object();
	w->tl_deps = json_object();
	w->tl_versions = json_object();
	w->tl_runs = json_object();
	if (e2e_live == NULL) {
		static bool registered;

		if (!registered && atexit(e2e_atexit) == 0)
			registered = true;
		e2e_live = w;
	}

	/* certificates and token of the API server */
	certs = xasprintf("%s/certs", w->dir);
	script = proc_srcpath("t/sim/kube/mkcerts.sh");
	cmd = xasprintf("sh '%s' '%s'", script, certs);
	if (system(cmd) != 0)
		e2e_die("e2e: %s failed", cmd);
	free(cmd);
	free(script);
	w->ca = xasprintf("%s/ca.crt", certs);
	crt = xasprintf("%s/server.crt", certs);
	key = xasprintf("%s/server.key", certs);
	w->token = xasprintf("%s/token", w->dir);
	e2e_write_file(w->token, "e2e-agent-token\n");

	script = proc_srcpath("t/sim/kube/server.js");
	argv[n++] = (char *)node;
	argv[n++] = script;
	argv[n++] = (char *)"--cert";
	argv[n++] = crt;
	argv[n++] = (char *)"--key";
	argv[n++] = key;
	argv[n++] = (char *)"--token";
	argv[n++] = (char *)"e2e-agent-token,system:serviceaccount:prod:twa";
	argv[n++] = (char *)"--namespace";
	argv[n++] = (char *)E2E_NS;
	argv[n] = NULL;
	log = xasprintf("%s/kube-sim.log", w->dir);
	w->ksim = proc_start(argv, log, 20000, &cause);
	free(log);
	free(script);
	free(crt);
	free(key);
	free(certs);
	if (w->ksim == NULL)
		e2e_die("e2e: cannot start the Kubernetes simulator: %s",
		    cause);
	w->kport = proc_port(w->ksim, "port");
	w->kadmin = proc_port(w->ksim, "admin");
	if (e2e_kadmin(w, "PATCH", "/settings", w->o.no_kubelet ?
	    "{\"autoReconcile\":false}" : "{\"autoReconcile\":true,"
	    "\"reconcileDelayMs\":20,\"podTerminationDelayMs\":200}", NULL) != 200)
		e2e_die("e2e: cannot set up the Kubernetes simulator");

	n = 0;
	script = proc_srcpath("t/sim/temporal/server.js");
	argv[n++] = (char *)node;
	argv[n++] = script;
	argv[n++] = (char *)"--poller-ttl";
	argv[n++] = (char *)"3000";
	argv[n++] = (char *)"--drainage-grace";
	argv[n++] = (char *)"1000";
	argv[n++] = (char *)"--drainage-refresh";
	argv[n++] = (char *)"1000";
	for (size_t i = 0; o->temporal_args != NULL && o->temporal_args[i] !=
	    NULL && n < 36; i++)
		argv[n++] = (char *)o->temporal_args[i];
	argv[n] = NULL;
	log = xasprintf("%s/temporal-sim.log", w->dir);
	w->tsim = proc_start(argv, log, 20000, &cause);
	free(log);
	free(script);
	if (w->tsim == NULL)
		e2e_die("e2e: cannot start the Temporal simulator: %s", cause);
	w->tgrpc = proc_port(w->tsim, "grpc");
	w->tadmin = proc_port(w->tsim, "admin");
	snprintf(w->taddr, sizeof w->taddr, "127.0.0.1:%d", w->tgrpc);
	if (e2e_tadmin(w, "GET", "/healthz", NULL, &r) != 200)
		e2e_die("e2e: the Temporal simulator does not answer");
	json_decref(r);
	e2e_note(w, "simulators up: Kubernetes API https://127.0.0.1:%d, "
	    "Temporal %s (logs in %s)", w->kport, w->taddr, w->dir);
	return w;
}

/* Quote s as a Go string literal (the downward API file format). */
static void
e2e_quote(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c < 0x20 || c == 0x7f)
			fprintf(f, "\\x%02x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

/* Order keys for the downward files. */
static int
e2e_strcmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * Write obj (string map) as a downward-API file. A twa.dev/worker-probe
 * of the form http://:PORT/PATH is pointed at this pod's fake worker: on
 * one machine the pods share the loopback, in a cluster each has its own.
 */
static void
e2e_write_downward(const char *path, json_t *obj, int worker_port)
{
	const char **keys = xcalloc(json_object_size(obj) + 1, sizeof *keys);
	char *tmp = xasprintf("%s.tmp", path);
	const char *k;
	json_t *v;
	size_t n = 0;
	FILE *f;

	json_object_foreach(obj, k, v)
		if (json_is_string(v))
			keys[n++] = k;
	qsort(keys, n, sizeof *keys, e2e_strcmp);
	f = fopen(tmp, "w");
	if (f == NULL)
		e2e_die("e2e: cannot write %s", tmp);
	for (size_t i = 0; i < n; i++) {
		const char *val = json_string_value(json_object_get(obj, keys[i]));
		char *rewritten = NULL;

		if (strcmp(keys[i], "twa.dev/worker-probe") == 0 &&
		    strncmp(val, "http://:", 8) == 0) {
			const char *slash = strchr(val + 8, '/');

			rewritten = xasprintf("http://127.0.0.1:%d%s", worker_port,
			    slash != NULL ? slash : "/healthz");
			val = rewritten;
		}
		fprintf(f, "%s%s=", i > 0 ? "\n" : "", keys[i]);
		e2e_quote(f, val);
		free(rewritten);
	}
	fclose(f);
	if (rename(tmp, path) != 0)
		e2e_die("e2e: rename %s: %s", tmp, strerror(errno));
	free(tmp);
	free(keys);
}

/* Spawn the agent of pod p. */
static void
e2e_spawn_agent(struct e2e *w, struct e2e_pod *p)
{
	char *log = xasprintf("%s/%s.agent.log", w->dir, p->name);
	char *vglog = xasprintf("--log-file=%s/%s.valgrind.%%p.log", w->dir,
	    p->name);
	char *server = xasprintf("https://127.0.0.1:%d", w->kport);
	char *ann = xasprintf("%s/annotations", p->dir);
	char *labels = xasprintf("%s/labels", p->dir);
	char lease[32], renew[32], retry[32];
	char *argv[48];
	size_t n = 0;
	pid_t pid;
	int fd;

	snprintf(lease, sizeof lease, "%dms", w->o.lease_ms);
	snprintf(renew, sizeof renew, "%dms", w->o.renew_ms);
	snprintf(retry, sizeof retry, "%dms", w->o.retry_ms);
	if (w->valgrind) {
		const char *vg = getenv("VALGRIND");

		argv[n++] = (char *)(vg != NULL && *vg != '\0' ? vg : "valgrind");
		argv[n++] = (char *)"--error-exitcode=1";
		argv[n++] = (char *)"--num-callers=30";
		argv[n++] = (char *)"--leak-check=full";
		argv[n++] = (char *)"--errors-for-leak-kinds=definite";
		argv[n++] = (char *)"--quiet";
		argv[n++] = vglog;
	}
	argv[n++] = w->twa;
	argv[n++] = (char *)"agent";
	argv[n++] = (char *)"--kube-server";
	argv[n++] = server;
	argv[n++] = (char *)"--kube-ca";
	argv[n++] = w->ca;
	argv[n++] = (char *)"--kube-token-file";
	argv[n++] = w->token;
	/* what the webhook injects: the build ID computed at admission */
	argv[n++] = (char *)"--build-id";
	argv[n++] = p->build;
	argv[n++] = (char *)"--annotations";
	argv[n++] = ann;
	argv[n++] = (char *)"--labels";
	argv[n++] = labels;
	argv[n++] = (char *)"--listen";
	argv[n++] = (char *)"127.0.0.1:0";
	argv[n++] = (char *)"--lease-duration";
	argv[n++] = lease;
	argv[n++] = (char *)"--renew-deadline";
	argv[n++] = renew;
	argv[n++] = (char *)"--retry-period";
	argv[n++] = retry;
	argv[n++] = (char *)"--probe-interval";
	argv[n++] = (char *)"250ms";
	argv[n++] = (char *)"--probe-timeout";
	argv[n++] = (char *)"200ms";
	argv[n++] = (char *)"--reload-interval";
	argv[n++] = (char *)"200ms";
	argv[n++] = (char *)"--shutdown-timeout";
	argv[n++] = (char *)"3s";
	argv[n] = NULL;
	pid = fork();
	if (pid < 0)
		e2e_die("e2e: fork: %s", strerror(errno));
	if (pid == 0) {
		/* a killed test (timeout) takes its agents with it */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		setenv("POD_NAME", p->name, 1);
		setenv("POD_NAMESPACE", E2E_NS, 1);
		setenv("POD_UID", p->uid, 1);
		setenv("TEMPORAL_WORKER_BUILD_ID", p->build, 1);
		setenv("TEMPORAL_DEPLOYMENT_NAME", E2E_TDEPLOYMENT, 1);
		setenv("TWA_DEPLOYMENT", E2E_LABEL, 1);
		fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd >= 0) {
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
			close(fd);
		}
		fd = open("/dev/null", O_RDONLY);
		if (fd >= 0) {
			dup2(fd, STDIN_FILENO);
			close(fd);
		}
		execvp(argv[0], argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	p->agent = pid;
	p->killed = false;
	free(log);
	free(vglog);
	free(server);
	free(ann);
	free(labels);
}

/* Start the pod for Pod object obj. */
static void
e2e_pod_start(struct e2e *w, json_t *obj)
{
	json_t *meta = json_object_get(obj, "metadata"), *ann, *labels, *owner;
	const char *name = json_string_value(json_object_get(meta, "name"));
	const char *rs;
	struct e2e_pod *p;
	struct e2e_dep *d = NULL;
	char *argv[32], *cause = NULL, *log, *path, *unhealthy, *tdep, *wf;
	char admin[16];
	size_t n = 0;

	owner = json_array_get(json_object_get(meta, "ownerReferences"), 0);
	rs = json_string_value(json_object_get(owner, "name"));
	for (size_t i = 0; rs != NULL && i < w->ndeps; i++) {
		size_t len = strlen(w->deps[i].name);

		if (strncmp(rs, w->deps[i].name, len) == 0 && rs[len] == '-')
			d = &w->deps[i];
	}
	if (d == NULL)
		return;	/* not one of ours */
	w->pods = xreallocarray(w->pods, w->npods + 1, sizeof *w->pods);
	p = &w->pods[w->npods++];
	memset(p, 0, sizeof *p);
	p->name = xstrdup(name);
	p->uid = xstrdup(json_string_value(json_object_get(meta, "uid")));
	p->deployment = xstrdup(d->name);
	p->build = xstrdup(d->build);
	p->agent = -1;
	p->dir = xasprintf("%s/pods/%s", w->dir, name);
	path = xasprintf("%s/pods", w->dir);
	mkdir(path, 0755);
	free(path);
	mkdir(p->dir, 0755);

	snprintf(admin, sizeof admin, "%d", w->tadmin);
	tdep = xstrdup(E2E_TDEPLOYMENT);
	unhealthy = xasprintf("%s/unhealthy-%s", w->dir, p->build);
	wf = xasprintf("%d", d->workflows);
	argv[n++] = w->fakeworker;
	argv[n++] = (char *)"--admin";
	argv[n++] = admin;
	argv[n++] = (char *)"--deployment";
	argv[n++] = tdep;
	argv[n++] = (char *)"--build";
	argv[n++] = p->build;
	argv[n++] = (char *)"--identity";
	argv[n++] = p->name;
	argv[n++] = (char *)"--task-queue";
	argv[n++] = (char *)E2E_TQ;
	argv[n++] = (char *)"--activity-queue";
	argv[n++] = (char *)E2E_TQ;
	argv[n++] = (char *)"--workflows";
	argv[n++] = wf;
	argv[n++] = (char *)"--refresh";
	argv[n++] = (char *)"500ms";
	argv[n++] = (char *)"--unhealthy-file";
	argv[n++] = unhealthy;
	argv[n] = NULL;
	log = xasprintf("%s/%s.worker.log", w->dir, p->name);
	p->worker = proc_start(argv, log, 10000, &cause);
	free(log);
	free(tdep);
	free(unhealthy);
	free(wf);
	if (p->worker == NULL)
		e2e_die("e2e: cannot start the fake worker of %s: %s", name,
		    cause);
	p->worker_port = proc_port(p->worker, "port");

	ann = json_object_get(meta, "annotations");
	labels = json_object_get(meta, "labels");
	path = xasprintf("%s/annotations", p->dir);
	e2e_write_downward(path, json_is_object(ann) ? ann : json_object(),
	    p->worker_port);
	free(path);
	path = xasprintf("%s/labels", p->dir);
	e2e_write_downward(path, labels, 0);
	free(path);
	e2e_spawn_agent(w, p);
	e2e_detail(w, "pod %s started (build %s, agent pid %d)", p->name,
	    p->build, (int)p->agent);
}

/* The pod called name, or NULL. */
static struct e2e_pod *
e2e_pod_find(struct e2e *w, const char *name)
{
	for (size_t i = 0; i < w->npods; i++)
		if (strcmp(w->pods[i].name, name) == 0)
			return &w->pods[i];
	return NULL;
}

/* Whether an agent exit status counts as a failure. */
static bool
e2e_exit_failed(int st, bool killed)
{
	if (WIFEXITED(st))
		return WEXITSTATUS(st) != 0;
	return !(killed && WIFSIGNALED(st));
}

/* Note a failure (kept for e2e_stop). */
static void __attribute__((format(printf, 2, 3)))
e2e_fail(struct e2e *w, const char *fmt, ...)
{
	va_list ap;
	char *msg, *all;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	fprintf(stderr, "e2e: %s\n", msg);
	all = w->failures == NULL ? xstrdup(msg) : xasprintf("%s; %s",
	    w->failures, msg);
	free(w->failures);
	free(msg);
	w->failures = all;
}

/* Reap the processes of p; restart its agent while the pod lives. */
static void
e2e_pod_reap(struct e2e *w, struct e2e_pod *p)
{
	int st;

	if (p->agent > 0 && waitpid(p->agent, &st, WNOHANG) == p->agent) {
		p->agent = -1;
		p->agent_status = st;
		if (e2e_exit_failed(st, p->killed || p->terminating)) {
			w->agent_failures++;
			e2e_fail(w, "agent of %s exited badly (%s %d); see %s/%s.*",
			    p->name, WIFEXITED(st) ? "status" : "signal",
			    WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st),
			    w->dir, p->name);
		}
		if (!p->terminating) {
			/* like the kubelet's restart back-off */
			p->restart_at = proc_now_ms() + w->o.restart_delay_ms;
			e2e_detail(w, "agent of pod %s exited; restart in %d ms",
			    p->name, w->o.restart_delay_ms);
		}
	}
	if (p->agent < 0 && p->restart_at != 0 && !p->terminating &&
	    proc_now_ms() >= p->restart_at) {
		p->restart_at = 0;
		p->restarts++;
		w->restarts++;
		e2e_spawn_agent(w, p);
		e2e_detail(w, "agent of pod %s restarted (pid %d)", p->name,
		    (int)p->agent);
	}
	if (p->terminating && p->agent < 0 && p->worker != NULL &&
	    proc_wait(p->worker, 0, NULL)) {
		proc_stop(p->worker);
		p->worker = NULL;
	}
	if (p->terminating && p->agent < 0 && p->worker == NULL)
		p->gone = true;
	/* a pod that does not stop within 20 s is killed */
	if (p->terminating && !p->gone && proc_now_ms() - p->term_at > 20000) {
		if (p->agent > 0) {
			e2e_fail(w, "agent of %s ignored SIGTERM for 20 s", p->name);
			kill(p->agent, SIGKILL);
		}
		if (p->worker != NULL)
			proc_kill(p->worker, SIGKILL);
	}
}

/* Stop pod p (SIGTERM to both processes). */
static void
e2e_pod_term(struct e2e *w, struct e2e_pod *p)
{
	if (p->terminating)
		return;
	p->terminating = true;
	p->term_at = proc_now_ms();
	if (p->agent > 0)
		kill(p->agent, SIGTERM);
	if (p->worker != NULL)
		proc_kill(p->worker, SIGTERM);
	e2e_detail(w, "pod %s terminating", p->name);
}

/* Keep the pod processes in step with the Pod objects. */
static void
e2e_kubelet(struct e2e *w)
{
	json_t *list = NULL, *item;
	size_t i;

	if (e2e_kadmin(w, "GET", "/objects/pods?namespace=" E2E_NS, NULL,
	    &list) != 200 || list == NULL) {
		json_decref(list);
		return;
	}
	json_array_foreach(json_object_get(list, "items"), i, item) {
		json_t *meta = json_object_get(item, "metadata");
		const char *name = json_string_value(json_object_get(meta,
		    "name"));

		if (name == NULL || json_object_get(meta, "deletionTimestamp") !=
		    NULL || e2e_pod_find(w, name) != NULL)
			continue;
		e2e_pod_start(w, item);
	}
	for (size_t j = 0; j < w->npods; j++) {
		struct e2e_pod *p = &w->pods[j];
		bool live = false;

		json_array_foreach(json_object_get(list, "items"), i, item) {
			json_t *meta = json_object_get(item, "metadata");

			if (strcmp(json_string_value(json_object_get(meta,
			    "name")), p->name) == 0 && json_object_get(meta,
			    "deletionTimestamp") == NULL)
				live = true;
		}
		if (!live)
			e2e_pod_term(w, p);
	}
	json_decref(list);
}

/* Keep pods in step (and print the timeline every 200 ms). */
void
e2e_sync(struct e2e *w)
{
	for (size_t i = 0; i < w->npods; i++)
		e2e_pod_reap(w, &w->pods[i]);
	if (!w->o.no_kubelet)
		e2e_kubelet(w);
	if (proc_now_ms() - w->last_observe >= 100) {
		w->last_observe = proc_now_ms();
		e2e_observe(w);
	}
}

/* Wait for a condition. */
bool
e2e_wait(struct e2e *w, const char *what, bool (*cond)(struct e2e *, void *),
    void *arg, int timeout_ms)
{
	long long deadline;

	if (w->valgrind)
		timeout_ms *= 4;
	deadline = proc_now_ms() + timeout_ms;

	for (;;) {
		e2e_sync(w);
		if (cond(w, arg))
			return true;
		if (proc_now_ms() >= deadline)
			break;
		poll(NULL, 0, 50);
	}
	fprintf(stderr, "e2e: timed out after %d ms waiting for %s\n",
	    timeout_ms, what);
	e2e_dump(w);
	return false;
}

/* Let the world run. */
void
e2e_run_for(struct e2e *w, int ms)
{
	long long until = proc_now_ms() + ms;

	while (proc_now_ms() < until) {
		e2e_sync(w);
		poll(NULL, 0, 50);
	}
}

/*
 * Create a Deployment whose worker image is registry.example/orders:TAG;
 * build NULL: no twa.dev/build-id, the build ID is computed from the pod
 * template as the leader and the webhook do. Returns the build ID.
 */
static char *
e2e_deploy_any(struct e2e *w, const char *name, const char *build,
    const char *tag, int replicas, const char *annotations, int workflows)
{
	json_t *ann, *obj, *out = NULL, *tmpl;
	json_error_t jerr;
	char *text, *id, *cause = NULL;
	int status;

	ann = annotations != NULL ? json_loads(annotations, 0, &jerr) :
	    json_object();
	if (!json_is_object(ann))
		e2e_die("e2e: annotations are not a JSON object: %s",
		    annotations);
	if (build != NULL && json_object_get(ann, "twa.dev/build-id") == NULL)
		json_object_set_new(ann, "twa.dev/build-id", json_string(build));
	if (json_object_get(ann, "twa.dev/temporal-address") == NULL)
		json_object_set_new(ann, "twa.dev/temporal-address",
		    json_string(w->taddr));
	if (json_object_get(ann, "twa.dev/report-interval") == NULL)
		json_object_set_new(ann, "twa.dev/report-interval",
		    json_string(w->o.report_interval));
	if (json_object_get(ann, "twa.dev/worker-probe") == NULL)
		json_object_set_new(ann, "twa.dev/worker-probe",
		    json_string("http://:8080/healthz"));
	obj = json_pack("{s:s,s:s,s:{s:s,s:s,s:{s:s}},s:{s:i,s:{s:{s:s}},"
	    "s:{s:{s:{s:s,s:s,s:s},s:o},s:{s:[{s:s,s:o,s:[{s:s,s:s}]}]}}}}",
	    "apiVersion", "apps/v1", "kind", "Deployment",
	    "metadata", "name", name, "namespace", E2E_NS, "labels",
	    "twa.dev/deployment", E2E_LABEL,
	    "spec", "replicas", replicas, "selector", "matchLabels", "app", name,
	    "template", "metadata", "labels", "app", name, "twa.dev/deployment",
	    E2E_LABEL, "twa.dev/inject", "true", "annotations", ann,
	    "spec", "containers", "name", "worker", "image",
	    json_sprintf("registry.example/orders:%s", tag), "env", "name",
	    "ORDERS_QUEUE", "value", E2E_TQ);
	if (obj == NULL)
		e2e_die("e2e: cannot build Deployment %s", name);
	tmpl = json_object_get(json_object_get(obj, "spec"), "template");
	id = buildid_for_pod(tmpl, &cause);
	if (id == NULL)
		e2e_die("e2e: build ID of %s: %s", name, cause);
	text = json_dumps(obj, JSON_COMPACT);
	json_decref(obj);
	w->deps = xreallocarray(w->deps, w->ndeps + 1, sizeof *w->deps);
	w->deps[w->ndeps].name = xstrdup(name);
	w->deps[w->ndeps].build = xstrdup(id);
	w->deps[w->ndeps].workflows = workflows;
	w->ndeps++;
	status = e2e_kadmin(w, "POST", "/objects/deployments?namespace=" E2E_NS,
	    text, &out);
	if (status != 201) {
		char *o = out != NULL ? json_dumps(out, 0) : xstrdup("");

		e2e_die("e2e: create Deployment %s: HTTP %d %s", name, status,
		    o);
	}
	json_decref(out);
	free(text);
	e2e_note(w, "kubectl apply: Deployment %s (image orders:%s, build %s, "
	    "%d replicas)", name, tag, id, replicas);
	return id;
}

/* Create a Deployment of an explicit build. */
void
e2e_deploy(struct e2e *w, const char *name, const char *build, int replicas,
    const char *annotations, int workflows)
{
	free(e2e_deploy_any(w, name, build, build, replicas, annotations,
	    workflows));
}

/* Create a Deployment whose build ID is computed. */
char *
e2e_deploy_image(struct e2e *w, const char *name, const char *tag,
    int replicas, const char *annotations, int workflows)
{
	return e2e_deploy_any(w, name, NULL, tag, replicas, annotations,
	    workflows);
}

/* Change one pod template annotation. */
void
e2e_annotate(struct e2e *w, const char *name, const char *key,
    const char *value)
{
	json_t *patch = json_pack("{s:{s:{s:{s:{s:s}}}}}", "spec", "template",
	    "metadata", "annotations", key, value);
	char *text = json_dumps(patch, JSON_COMPACT);
	char *path = xasprintf("/objects/deployments/%s/%s", E2E_NS, name);
	int status = e2e_kadmin(w, "PATCH", path, text, NULL);

	if (status != 200)
		e2e_die("e2e: annotate %s: HTTP %d", name, status);
	json_decref(patch);
	free(text);
	free(path);
	e2e_note(w, "kubectl annotate: Deployment %s %s=%s", name, key, value);
}

/* Toggle the health of build's workers. */
void
e2e_set_unhealthy(struct e2e *w, const char *build, bool sick)
{
	char *path = xasprintf("%s/unhealthy-%s", w->dir, build);

	if (sick)
		e2e_write_file(path, "sick\n");
	else
		unlink(path);
	free(path);
	e2e_note(w, "workers of %s now %s", build, sick ? "UNHEALTHY" :
	    "healthy");
}

/* Running pods. */
int
e2e_pods(struct e2e *w, const char *build)
{
	int n = 0;

	for (size_t i = 0; i < w->npods; i++)
		if (!w->pods[i].terminating && w->pods[i].agent > 0 &&
		    (build == NULL || strcmp(w->pods[i].build, build) == 0))
			n++;
	return n;
}

/* The i-th running pod. */
const char *
e2e_pod_name(struct e2e *w, size_t i)
{
	for (size_t j = 0; j < w->npods; j++) {
		if (w->pods[j].terminating || w->pods[j].agent <= 0)
			continue;
		if (i-- == 0)
			return w->pods[j].name;
	}
	return NULL;
}

/* Signal an agent. */
void
e2e_kill_agent(struct e2e *w, const char *pod, int sig)
{
	struct e2e_pod *p = e2e_pod_find(w, pod);

	if (p == NULL || p->agent <= 0)
		e2e_die("e2e: no running agent in pod %s", pod);
	p->killed = true;
	kill(p->agent, sig);
	e2e_note(w, "kill -%d agent of pod %s (pid %d)", sig, pod, (int)p->agent);
}

/* Restarts so far. */
int
e2e_restarts(const struct e2e *w)
{
	return w->restarts;
}

/* Agent pid. */
pid_t
e2e_agent_pid(struct e2e *w, const char *pod)
{
	struct e2e_pod *p = e2e_pod_find(w, pod);

	return p != NULL ? p->agent : -1;
}

/* Stop everything. */
void
e2e_stop(struct e2e *w)
{
	long long deadline;
	bool keep;

	if (e2e_live == w)
		e2e_live = NULL;
	for (size_t i = 0; i < w->npods; i++)
		e2e_pod_term(w, &w->pods[i]);
	deadline = proc_now_ms() + 25000;
	for (;;) {
		bool all = true;

		for (size_t i = 0; i < w->npods; i++) {
			e2e_pod_reap(w, &w->pods[i]);
			all &= w->pods[i].gone;
		}
		if (all || proc_now_ms() > deadline)
			break;
		poll(NULL, 0, 20);
	}
	for (size_t i = 0; i < w->npods; i++) {
		struct e2e_pod *p = &w->pods[i];

		if (p->agent > 0) {
			kill(p->agent, SIGKILL);
			waitpid(p->agent, NULL, 0);
		}
		proc_stop(p->worker);
		free(p->name);
		free(p->uid);
		free(p->deployment);
		free(p->build);
		free(p->dir);
	}
	free(w->pods);
	proc_stop(w->ksim);
	proc_stop(w->tsim);
	keep = w->failures != NULL || (getenv("TWA_E2E_KEEP") != NULL &&
	    strcmp(getenv("TWA_E2E_KEEP"), "1") == 0);
	if (!keep) {
		char *cmd = xasprintf("rm -rf '%s'", w->dir);

		if (system(cmd) != 0)
			fprintf(stderr, "e2e: cannot remove %s\n", w->dir);
		free(cmd);
	} else
		fprintf(stderr, "e2e: logs kept in %s\n", w->dir);
	for (size_t i = 0; i < w->ndeps; i++) {
		free(w->deps[i].name);
		free(w->deps[i].build);
	}
	free(w->deps);
	free(w->tl_current);
	free(w->tl_ramp);
	free(w->tl_leader);
	free(w->routes);
	json_decref(w->tl_events);
	json_decref(w->tl_deps);
	json_decref(w->tl_versions);
	json_decref(w->tl_runs);
	if (w->failures != NULL) {
		char *f = w->failures;

		free(w->dir);
		free(w->twa);
		free(w->fakeworker);
		free(w->ca);
		free(w->token);
		free(w);
		e2e_die("e2e: %s", f);
	}
	free(w->dir);
	free(w->twa);
	free(w->fakeworker);
	free(w->ca);
	free(w->token);
	free(w);
}
