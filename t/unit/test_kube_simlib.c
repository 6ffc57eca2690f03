/* test_kube_simlib: start the Kubernetes API simulator for the kube, lease and board tests. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kube.h"
#include "proc.h"
#include "test_kube_simlib.h"
#include "xalloc.h"

/* Write text to path through a temporary file and rename. */
int
ksim_write_file(const char *path, const char *text)
{
	char *tmp = xasprintf("%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	int rc = -1;

	if (f != NULL) {
		rc = fputs(text, f) < 0 ? -1 : 0;
		if (fclose(f) != 0)
			rc = -1;
		if (rc == 0 && rename(tmp, path) != 0)
			rc = -1;
	}
	free(tmp);
	return rc;
}

/* Run mkcerts.sh into dir; 0 or -1 with a cause. */
static int
ksim_mkcerts(const char *dir, char **cause)
{
	char *script = proc_srcpath("t/sim/kube/mkcerts.sh");
	char *argv[] = { (char *)"sh", script, (char *)dir, NULL };
	pid_t pid;
	int st;

	pid = fork();
	if (pid < 0) {
		free(script);
		*cause = xasprintf("fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		execvp("sh", argv);
		_exit(127);
	}
	free(script);
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) ||
	    WEXITSTATUS(st) != 0) {
		*cause = xstrdup("mkcerts.sh failed");
		return -1;
	}
	return 0;
}

/* Start the simulator. */
struct ksim *
ksim_start(char **cause)
{
	const char *node = getenv("NODE"), *tmp = getenv("TMPDIR");
	struct ksim *s = xcalloc(1, sizeof *s);
	char *script, *cert, *key, *argv[16];
	size_t n = 0;

	s->dir = xasprintf("%s/twa-ksim-XXXXXX", tmp != NULL ? tmp : "/tmp");
	if (mkdtemp(s->dir) == NULL) {
		*cause = xasprintf("mkdtemp: %s", strerror(errno));
		free(s->dir);
		free(s);
		return NULL;
	}
	if (ksim_mkcerts(s->dir, cause) != 0) {
		rmdir(s->dir);
		free(s->dir);
		free(s);
		return NULL;
	}
	s->ca = xasprintf("%s/ca.crt", s->dir);
	s->token_file = xasprintf("%s/token", s->dir);
	s->log = xasprintf("%s/sim.log", s->dir);
	ksim_write_file(s->token_file, "tok-tester\n");
	script = proc_srcpath("t/sim/kube/server.js");
	cert = xasprintf("%s/server.crt", s->dir);
	key = xasprintf("%s/server.key", s->dir);
	argv[n++] = (char *)(node != NULL && *node != '\0' ? node : "node");
	argv[n++] = script;
	argv[n++] = (char *)"--cert";
	argv[n++] = cert;
	argv[n++] = (char *)"--key";
	argv[n++] = key;
	argv[n++] = (char *)"--token";
	argv[n++] = (char *)"tok-tester,tester";
	argv[n++] = (char *)"--namespace";
	argv[n++] = (char *)"work";
	argv[n] = NULL;
	s->proc = proc_start(argv, s->log, 20000, cause);
	free(script);
	free(cert);
	free(key);
	if (s->proc == NULL) {
		ksim_stop(s);
		return NULL;
	}
	s->port = proc_port(s->proc, "port");
	s->admin = proc_port(s->proc, "admin");
	s->server = xasprintf("https://127.0.0.1:%d", s->port);
	return s;
}

/* Stop the simulator and remove its files. */
void
ksim_stop(struct ksim *s)
{
	char *cmd;

	if (s == NULL)
		return;
	proc_stop(s->proc);
	if (getenv("TWA_KEEP_LOGS") == NULL) {
		cmd = xasprintf("rm -rf '%s'", s->dir);
		if (system(cmd) != 0)
			fprintf(stderr, "cannot remove %s\n", s->dir);
		free(cmd);
	} else
		fprintf(stderr, "kept simulator files in %s\n", s->dir);
	free(s->dir);
	free(s->ca);
	free(s->token_file);
	free(s->server);
	free(s->log);
	free(s);
}

/* Send an admin request. */
int
ksim_admin(struct ksim *s, const char *method, const char *path,
    const char *body, json_t **out)
{
	char *resp = NULL, *cause = NULL;
	int status;

	if (out != NULL)
		*out = NULL;
	status = proc_http(s->admin, method, path, body, &resp, &cause);
	if (status < 0) {
		fprintf(stderr, "admin %s %s: %s\n", method, path, cause);
		free(cause);
		return -1;
	}
	if (out != NULL && resp != NULL)
		*out = json_loads(resp, 0, NULL);
	free(resp);
	return status;
}

/* Register a token. */
int
ksim_add_token(struct ksim *s, const char *token, const char *user)
{
	char *body = xasprintf("{\"token\":\"%s\",\"user\":\"%s\"}", token, user);
	int st = ksim_admin(s, "POST", "/tokens", body, NULL);

	free(body);
	return st == 201 ? 0 : -1;
}

/* A client for the simulator. */
struct kube *
ksim_kube(struct ksim *s, struct event_base *base, const char *token_file)
{
	struct kube_config c;
	struct kube *k;
	char *cause = NULL;

	if (kube_config_explicit(&c, s->server, s->ca, token_file != NULL ?
	    token_file : s->token_file, "work", &cause) != 0)
		abort();
	k = kube_new(base, &c, &cause);
	kube_config_clear(&c);
	if (k == NULL) {
		fprintf(stderr, "kube_new: %s\n", cause);
		abort();
	}
	return k;
}

/* Timer: stop the loop. */
static void
ksim_timeout_cb(evutil_socket_t fd, short ev, void *arg)
{
	*(bool *)arg = true;
}

/* Run base until *flag or timeout. */
bool
ksim_loop_until(struct event_base *base, const bool *flag, int timeout_ms)
{
	bool expired = false;
	struct event *t = evtimer_new(base, ksim_timeout_cb, &expired);
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };

	evtimer_add(t, &tv);
	while (!*flag && !expired)
		event_base_loop(base, EVLOOP_ONCE);
	event_free(t);
	return *flag;
}
