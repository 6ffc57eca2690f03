/*
 * fakeworker: a stand-in for one Temporal worker process in end-to-end
 * tests. Through the Temporal simulator's admin API it keeps versioned
 * pollers of (deployment, build) alive on its task queues and starts pinned
 * workflows; it serves /healthz for the agent's worker probe (503 while the
 * --unhealthy-file exists). Prints {"port":N} on stdout once serving. On
 * SIGTERM it drops its pollers (like a worker shutting down) and exits.
 */
#include "config.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>

#include "opts.h"
#include "proc.h"
#include "xalloc.h"

enum {
	O_ADMIN, O_NAMESPACE, O_DEPLOYMENT, O_BUILD, O_IDENTITY, O_TASK_QUEUE,
	O_ACTIVITY_QUEUE, O_WORKFLOWS, O_REFRESH, O_UNHEALTHY_FILE,
	O_FINISH_AFTER, O_COUNT
};

static const struct opt_spec fw_opts[O_COUNT] = {
	[O_ADMIN] = { "admin", 0, OPT_INT, "PORT", NULL,
	    "admin port of the Temporal simulator", 1, 65535 },
	[O_NAMESPACE] = { "namespace", 0, OPT_STRING, "NS", "default",
	    "Temporal namespace", 0, 0 },
	[O_DEPLOYMENT] = { "deployment", 0, OPT_STRING, "NAME", NULL,
	    "Temporal deployment name (<k8s namespace>/<label>)", 0, 0 },
	[O_BUILD] = { "build", 0, OPT_STRING, "ID", NULL, "build ID", 0, 0 },
	[O_IDENTITY] = { "identity", 0, OPT_STRING, "ID", NULL,
	    "poller identity (default: fakeworker-<pid>)", 0, 0 },
	[O_TASK_QUEUE] = { "task-queue", 0, OPT_STRING, "NAME", "orders",
	    "workflow task queue polled", 0, 0 },
	[O_ACTIVITY_QUEUE] = { "activity-queue", 0, OPT_STRING, "NAME", NULL,
	    "activity task queue polled too", 0, 0 },
	[O_WORKFLOWS] = { "workflows", 0, OPT_INT, "N", "0",
	    "pinned workflows to start once registered", 0, 1000 },
	[O_REFRESH] = { "refresh", 0, OPT_DURATION, "DUR", "1s",
	    "how often the pollers poll again", 10, 600000 },
	[O_UNHEALTHY_FILE] = { "unhealthy-file", 0, OPT_STRING, "PATH", NULL,
	    "answer 503 on /healthz while this file exists", 0, 0 },
	[O_FINISH_AFTER] = { "finish-after", 0, OPT_DURATION, "DUR", NULL,
	    "complete the started workflows after this long", 0, 86400000 },
};

/* The worker's state. */
struct fw {
	struct opt_value	 o[O_COUNT];
	struct event_base	*base;
	char			*identity;
	json_t			*workflows;	/* IDs started */
	bool			 started;
};

/* POST body to the admin API; returns the HTTP status or -1. */
static int
fw_post(struct fw *fw, const char *path, json_t *body)
{
	char *text = json_dumps(body, JSON_COMPACT), *resp = NULL, *cause = NULL;
	int status;

	status = proc_http((int)fw->o[O_ADMIN].num, "POST", path, text, &resp,
	    &cause);
	if (status != 200)
		fprintf(stderr, "fakeworker %s: POST %s: %d %s\n", fw->identity,
		    path, status, status < 0 ? cause : resp != NULL ? resp : "");
	free(text);
	free(resp);
	free(cause);
	return status;
}

/* Poll each task queue once (registers the version, keeps pollers live). */
static bool
fw_poll(struct fw *fw)
{
	const char *queues[2] = { fw->o[O_TASK_QUEUE].str,
	    fw->o[O_ACTIVITY_QUEUE].str };
	bool ok = true;

	for (int i = 0; i < 2; i++) {
		json_t *b;

		if (queues[i] == NULL)
			continue;
		b = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "namespace",
		    fw->o[O_NAMESPACE].str, "taskQueue", queues[i], "type",
		    i == 0 ? "workflow" : "activity", "identity", fw->identity,
		    "deploymentName", fw->o[O_DEPLOYMENT].str, "buildId",
		    fw->o[O_BUILD].str);
		ok &= fw_post(fw, "/pollers", b) == 200;
		json_decref(b);
	}
	return ok;
}

/* Start the pinned workflows once. */
static void
fw_start_workflows(struct fw *fw)
{
	char *resp = NULL, *cause = NULL, *text;
	json_t *b, *r, *w;
	size_t i;
	int status;

	if (fw->started || fw->o[O_WORKFLOWS].num == 0)
		return;
	b = json_pack("{s:s,s:s,s:s,s:s,s:I}", "namespace",
	    fw->o[O_NAMESPACE].str, "deploymentName", fw->o[O_DEPLOYMENT].str,
	    "buildId", fw->o[O_BUILD].str, "taskQueue", fw->o[O_TASK_QUEUE].str,
	    "count", (json_int_t)fw->o[O_WORKFLOWS].num);
	text = json_dumps(b, JSON_COMPACT);
	json_decref(b);
	status = proc_http((int)fw->o[O_ADMIN].num, "POST", "/workflows/start",
	    text, &resp, &cause);
	free(text);
	if (status == 200 && (r = json_loads(resp, 0, NULL)) != NULL) {
		json_array_foreach(json_object_get(r, "workflows"), i, w)
			json_array_append(fw->workflows,
			    json_object_get(w, "workflowId"));
		json_decref(r);
		fw->started = true;
	} else
		fprintf(stderr, "fakeworker %s: cannot start workflows: %d %s\n",
		    fw->identity, status, status < 0 ? cause : resp);
	free(resp);
	free(cause);
}

/* Poll timer. */
static void
fw_refresh_cb(evutil_socket_t fd, short what, void *arg)
{
	struct fw *fw = arg;

	if (fw_poll(fw))
		fw_start_workflows(fw);
}

/* Complete every workflow this worker started. */
static void
fw_finish_cb(evutil_socket_t fd, short what, void *arg)
{
	struct fw *fw = arg;
	json_t *id;
	size_t i;

	json_array_foreach(fw->workflows, i, id) {
		json_t *b = json_pack("{s:s,s:O,s:s}", "namespace",
		    fw->o[O_NAMESPACE].str, "workflowId", id, "status",
		    "completed");

		fw_post(fw, "/workflows/finish", b);
		json_decref(b);
	}
}

/* /healthz. */
static void
fw_health_cb(struct evhttp_request *req, void *arg)
{
	struct fw *fw = arg;
	struct evbuffer *b = evbuffer_new();
	bool sick = fw->o[O_UNHEALTHY_FILE].str != NULL &&
	    access(fw->o[O_UNHEALTHY_FILE].str, F_OK) == 0;

	evbuffer_add_printf(b, "%s\n", sick ? "unhealthy" : "ok");
	evhttp_send_reply(req, sick ? 503 : 200, sick ? "Service Unavailable" :
	    "OK", b);
	evbuffer_free(b);
}

/* SIGTERM/SIGINT: drop the pollers and stop. */
static void
fw_signal_cb(evutil_socket_t fd, short what, void *arg)
{
	struct fw *fw = arg;
	json_t *b = json_pack("{s:s,s:s}", "namespace", fw->o[O_NAMESPACE].str,
	    "identity", fw->identity);

	fw_post(fw, "/pollers/expire", b);
	json_decref(b);
	event_base_loopbreak(fw->base);
}

int
main(int argc, char **argv)
{
	struct fw fw;
	struct evhttp *http;
	struct evhttp_bound_socket *sock;
	struct event *refresh, *finish = NULL, *sigterm, *sigint;
	struct timeval tv;
	char *cause = NULL;
	int next, r, port;

	memset(&fw, 0, sizeof fw);
	r = opts_parse(fw_opts, O_COUNT, argc, argv, 1, fw.o, &next, &cause);
	if (r == 1) {
		opts_usage(stdout, "fakeworker [OPTIONS]", "A fake Temporal "
		    "worker for end-to-end tests.", fw_opts, O_COUNT);
		return 0;
	}
	if (r < 0 || next != argc || !fw.o[O_ADMIN].set ||
	    !fw.o[O_DEPLOYMENT].set || !fw.o[O_BUILD].set) {
		fprintf(stderr, "fakeworker: %s\n", r < 0 ? cause :
		    "--admin, --deployment and --build are required");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	fw.identity = fw.o[O_IDENTITY].set ? xstrdup(fw.o[O_IDENTITY].str) :
	    xasprintf("fakeworker-%d", (int)getpid());
	fw.workflows = json_array();
	fw.base = event_base_new();
	http = evhttp_new(fw.base);
	evhttp_set_cb(http, "/healthz", fw_health_cb, &fw);
	sock = evhttp_bind_socket_with_handle(http, "127.0.0.1", 0);
	if (sock == NULL) {
		fprintf(stderr, "fakeworker: cannot listen on 127.0.0.1\n");
		return 1;
	}
	{
		struct sockaddr_storage ss;
		socklen_t len = sizeof ss;

		getsockname(evhttp_bound_socket_get_fd(sock),
		    (struct sockaddr *)&ss, &len);
		port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	}
	if (fw_poll(&fw))
		fw_start_workflows(&fw);
	refresh = event_new(fw.base, -1, EV_PERSIST, fw_refresh_cb, &fw);
	tv.tv_sec = fw.o[O_REFRESH].num / 1000;
	tv.tv_usec = (fw.o[O_REFRESH].num % 1000) * 1000;
	event_add(refresh, &tv);
	if (fw.o[O_FINISH_AFTER].set) {
		finish = evtimer_new(fw.base, fw_finish_cb, &fw);
		tv.tv_sec = fw.o[O_FINISH_AFTER].num / 1000;
		tv.tv_usec = (fw.o[O_FINISH_AFTER].num % 1000) * 1000;
		evtimer_add(finish, &tv);
	}
	sigterm = evsignal_new(fw.base, SIGTERM, fw_signal_cb, &fw);
	sigint = evsignal_new(fw.base, SIGINT, fw_signal_cb, &fw);
	event_add(sigterm, NULL);
	event_add(sigint, NULL);
	printf("{\"port\":%d}\n", port);
	fflush(stdout);
	event_base_dispatch(fw.base);
	event_free(refresh);
	if (finish != NULL)
		event_free(finish);
	event_free(sigterm);
	event_free(sigint);
	evhttp_free(http);
	event_base_free(fw.base);
	json_decref(fw.workflows);
	free(fw.identity);
	return 0;
}
