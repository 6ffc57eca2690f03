/*
 * bench_agent: the resource use of idle `twa agent` processes on the
 * Kubernetes API simulator (DESIGN §9): anonymous memory (RssAnon) and
 * RSS (VmRSS) from /proc/PID/status, and CPU (utime + stime from
 * /proc/PID/stat) over a window, for one follower and the leader, with the
 * production timings (15 s lease, 2 s retry, 15 s report interval) and
 * the "none" worker probe. Also the API requests each agent sent in the
 * window, from the simulator's request log.
 *
 *   make bench-agent            (TWA_BENCH_SECONDS=60 by default)
 *
 * Prints one line per figure; exits 1 if the agents cannot be started.
 */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "parse.h"
#include "proc.h"
#include "test_kube_simlib.h"
#include "xalloc.h"

/* One agent under measurement. */
struct ag {
	const char	*pod;
	char		*dir, *log;
	struct proc	*p;
	int		 http;
};

/* Memory and CPU of one process at one moment. */
struct sample {
	long	rss_anon_kb, vm_rss_kb;
	long	ticks;		/* utime + stime */
};

static struct ksim *ks;
static char base[64];

/* Read RssAnon, VmRSS and utime+stime of pid. */
static int
sample_read(pid_t pid, struct sample *s)
{
	char path[64], line[256], *buf = NULL, *p;
	size_t cap = 0;
	FILE *f;
	long ut = 0, st = 0;

	memset(s, 0, sizeof *s);
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof line, f) != NULL) {
		sscanf(line, "RssAnon: %ld kB", &s->rss_anon_kb);
		sscanf(line, "VmRSS: %ld kB", &s->vm_rss_kb);
	}
	fclose(f);
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	if (getline(&buf, &cap, f) < 0) {
		fclose(f);
		free(buf);
		return -1;
	}
	fclose(f);
	/* fields after the parenthesised command: state is field 3 */
	p = strrchr(buf, ')');
	if (p == NULL || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u "
	    "%*u %*u %ld %ld", &ut, &st) != 2) {
		free(buf);
		return -1;
	}
	free(buf);
	s->ticks = ut + st;
	return 0;
}

/* Start one agent with production timings. */
static int
ag_start(struct ag *a, const char *pod)
{
	char *twa = proc_buildpath("twa"), *ann, *lab, *cause = NULL;
	char *argv[40];
	size_t n = 0;

	a->pod = pod;
	a->dir = xasprintf("%s/%s", base, pod);
	mkdir(a->dir, 0700);
	ann = xasprintf("%s/annotations", a->dir);
	lab = xasprintf("%s/labels", a->dir);
	a->log = xasprintf("%s/agent.log", a->dir);
	ksim_write_file(ann, "twa.dev/build-id=\"bench-v1\"");
	ksim_write_file(lab, "twa.dev/deployment=\"bench\"");
	argv[n++] = twa;
	argv[n++] = (char *)"agent";
	argv[n++] = (char *)"--pod-name";
	argv[n++] = (char *)pod;
	argv[n++] = (char *)"--pod-uid";
	argv[n++] = (char *)"bench-uid";
	argv[n++] = (char *)"--kube-namespace";
	argv[n++] = (char *)"work";
	argv[n++] = (char *)"--kube-server";
	argv[n++] = ks->server;
	argv[n++] = (char *)"--kube-ca";
	argv[n++] = ks->ca;
	argv[n++] = (char *)"--kube-token-file";
	argv[n++] = ks->token_file;
	argv[n++] = (char *)"--annotations";
	argv[n++] = ann;
	argv[n++] = (char *)"--labels";
	argv[n++] = lab;
	argv[n++] = (char *)"--listen";
	argv[n++] = (char *)"127.0.0.1:0";
	argv[n] = NULL;
	a->p = proc_start(argv, a->log, 20000, &cause);
	free(twa);
	free(ann);
	free(lab);
	if (a->p == NULL) {
		fprintf(stderr, "bench: cannot start agent %s: %s\n", pod, cause);
		free(cause);
		return -1;
	}
	a->http = proc_port(a->p, "http");
	return 0;
}

/* The agent's /metrics value of an un-labelled metric, or -1. */
static double
ag_metric(struct ag *a, const char *name)
{
	char *body = NULL, *cause = NULL, *line, *save = NULL;
	size_t n = strlen(name);
	double v = -1;

	if (proc_http(a->http, "GET", "/metrics", NULL, &body, &cause) != 200) {
		free(cause);
		free(body);
		return -1;
	}
	for (line = strtok_r(body, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save))
		if (strncmp(line, name, n) == 0 && line[n] == ' ')
			v = strtod(line + n + 1, NULL);
	free(body);
	return v;
}

#define NAGENTS 4

/* Condition: all agents ready, one leads, two standbys poll. */
static bool
cond_settled(void *arg)
{
	struct ag *a = arg;
	double leaders = 0, polling = 0;

	for (int i = 0; i < NAGENTS; i++) {
		double l = ag_metric(&a[i], "twa_agent_leader");

		if (ag_metric(&a[i], "twa_agent_ready") != 1)
			return false;
		leaders += l;
		if (l == 0)
			polling += ag_metric(&a[i], "twa_agent_lease_polling");
	}
	return leaders == 1 && polling == 2;
}

/* Requests the simulator logged for all agents in the last window_s seconds. */
static long long
sim_requests(int64_t window_s)
{
	json_t *o = NULL, *v;
	const char *user;
	char *path = xasprintf("/requests/summary?windowMs=%lld",
	    (long long)window_s * 1000);
	long long n = 0;

	if (ksim_admin(ks, "GET", path, NULL, &o) != 200) {
		free(path);
		return -1;
	}
	free(path);
	json_object_foreach(json_object_get(o, "users"), user, v)
		n += json_integer_value(json_object_get(v, "total"));
	json_decref(o);
	return n;
}

/* Print the figures of one agent over the window. */
static void
report(const char *role, struct ag *a, const struct sample *s0,
    const struct sample *s1, double seconds, long hz)
{
	double cpu = (double)(s1->ticks - s0->ticks) / (double)hz / seconds *
	    100;

	printf("%-8s pod=%s RssAnon=%ld kB (%.2f MiB) VmRSS=%ld kB (%.2f MiB) "
	    "cpu=%.3f%% of a core over %.0f s (%ld ticks)\n", role, a->pod,
	    s1->rss_anon_kb, s1->rss_anon_kb / 1024.0, s1->vm_rss_kb,
	    s1->vm_rss_kb / 1024.0, cpu, seconds, s1->ticks - s0->ticks);
}

/* Run the benchmark. */
int
main(void)
{
	static const char *const pods[NAGENTS] = { "bench-0", "bench-1",
	    "bench-2", "bench-3" };
	struct ag a[NAGENTS];
	struct sample s0[NAGENTS], s1[NAGENTS];
	const char *secs_env = getenv("TWA_BENCH_SECONDS");
	char *cause = NULL, *cmd;
	int64_t secs = 60;
	long hz = sysconf(_SC_CLK_TCK);
	long long r1, t0;
	int leader = -1, standby = -1, follower = -1, rc = 1;
	double w0, w1;

	if (secs_env != NULL && parse_int(secs_env, 5, 3600, &secs, &cause)) {
		fprintf(stderr, "bench: TWA_BENCH_SECONDS: %s\n", cause);
		return 2;
	}
	snprintf(base, sizeof base, "/tmp/twa-bench-agent-XXXXXX");
	if (mkdtemp(base) == NULL)
		return 1;
	setenv("TMPDIR", base, 1);
	memset(a, 0, sizeof a);
	if ((ks = ksim_start(&cause)) == NULL) {
		fprintf(stderr, "bench: simulator: %s\n", cause);
		return 1;
	}
	for (int i = 0; i < NAGENTS; i++)
		if (ag_start(&a[i], pods[i]) != 0)
			goto out;
	if (!proc_wait_until(cond_settled, a, 90000)) {
		fprintf(stderr, "bench: agents did not settle (logs in %s)\n",
		    base);
		goto out;
	}
	/* let start-up work (first reads, standby naming) finish */
	t0 = proc_now_ms();
	while (proc_now_ms() - t0 < 16000)
		usleep(100000);
	for (int i = 0; i < NAGENTS; i++) {
		if (ag_metric(&a[i], "twa_agent_leader") == 1)
			leader = i;
		else if (ag_metric(&a[i], "twa_agent_lease_polling") == 1)
			standby = i;
		else
			follower = i;
	}
	if (leader < 0 || standby < 0 || follower < 0) {
		fprintf(stderr, "bench: roles changed while settling\n");
		goto out;
	}
	w0 = ag_metric(&a[follower], "twa_agent_health_writes_total");
	for (int i = 0; i < NAGENTS; i++)
		sample_read(proc_pid(a[i].p), &s0[i]);
	t0 = proc_now_ms();
	while (proc_now_ms() - t0 < secs * 1000)
		usleep(200000);
	for (int i = 0; i < NAGENTS; i++)
		sample_read(proc_pid(a[i].p), &s1[i]);
	r1 = sim_requests(secs);
	w1 = ag_metric(&a[follower], "twa_agent_health_writes_total");
	printf("twa agent idle: %d agents, production timings, worker probe "
	    "none, %lld s window, %ld clock ticks/s\n", NAGENTS,
	    (long long)secs, hz);
	report("follower", &a[follower], &s0[follower], &s1[follower],
	    (double)secs, hz);
	report("standby", &a[standby], &s0[standby], &s1[standby],
	    (double)secs, hz);
	report("leader", &a[leader], &s0[leader], &s1[leader], (double)secs,
	    hz);
	printf("follower health writes: %.0f in %lld s (%.1f per minute)\n",
	    w1 - w0, (long long)secs, (w1 - w0) * 60 / (double)secs);
	printf("API requests of all agents: %lld in %lld s (%.1f per minute)\n",
	    r1, (long long)secs, (double)r1 * 60 / (double)secs);
	rc = 0;
out:
	for (int i = 0; i < NAGENTS; i++) {
		proc_stop(a[i].p);
		free(a[i].dir);
		free(a[i].log);
	}
	ksim_stop(ks);
	cmd = xasprintf("rm -rf '%s'", base);
	if (rc == 0 && system(cmd) != 0)
		fprintf(stderr, "bench: cannot remove %s\n", base);
	free(cmd);
	return rc;
}
