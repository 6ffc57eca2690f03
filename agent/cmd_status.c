/*
 * cmd_status: `twa status NAME`: read the Lease twa-NAME and print what the
 * leader published there (versions, routing, ramp step, pods, leader, last
 * action and error) as a table, or the raw JSON with --json.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <jansson.h>

#include "cmd.h"
#include "kube.h"
#include "kubeconfig.h"
#include "opts.h"
#include "parse.h"
#include "settings.h"
#include "timefmt.h"
#include "xalloc.h"

enum {
	O_NAMESPACE,
	O_JSON,
	O_KUBE_SERVER,
	O_KUBE_CA,
	O_KUBE_TOKEN,
	O_TIMEOUT,
	O_COUNT
};

static const struct opt_spec status_opts[O_COUNT] = {
	[O_NAMESPACE] = { "namespace", 'n', OPT_STRING, "NS", NULL,
	    "namespace of the workers (default: the pod's, else \"default\")",
	    0, 0 },
	[O_JSON] = { "json", 0, OPT_FLAG, NULL, NULL,
	    "print the Lease's status, election and health entries as JSON",
	    0, 0 },
	[O_KUBE_SERVER] = { "kube-server", 0, OPT_STRING, "URL", NULL,
	    "API server URL (default: in-cluster configuration)", 0, 0 },
	[O_KUBE_CA] = { "kube-ca", 0, OPT_STRING, "FILE", NULL,
	    "CA bundle of --kube-server", 0, 0 },
	[O_KUBE_TOKEN] = { "kube-token-file", 0, OPT_STRING, "FILE", NULL,
	    "bearer token file for --kube-server", 0, 0 },
	[O_TIMEOUT] = { "timeout", 0, OPT_DURATION, "DUR", "10s",
	    "how long to wait for the API server", 100, 600000 },
};

/* What the one GET left behind. */
struct status_get {
	struct event_base	*base;
	json_t			*obj;
	char			*error;
	long			 http;
};

/* The GET of the Lease answered. */
static void
status_get_cb(json_t *obj, const struct kube_error *err, void *arg)
{
	struct status_get *g = arg;

	if (err != NULL) {
		g->error = kube_error_string(err);
		g->http = err->kind == KUBE_ERR_HTTP ? err->status : 0;
	} else
		g->obj = json_incref(obj);
	event_base_loopbreak(g->base);
}

/* Milliseconds of an RFC 3339 string, or 0. */
static int64_t
status_time(const char *s)
{
	char *cause = NULL;
	int64_t us;

	if (s == NULL || timefmt_parse(s, &us, &cause) != 0) {
		free(cause);
		return 0;
	}
	return us / 1000;
}

/* "3s ago" / "in 4s" for t (RFC 3339) against now, into out; "-" if none. */
static const char *
status_rel(const char *t, int64_t now, char *out, size_t len)
{
	char d[PARSE_DURATION_LEN];
	int64_t ms = status_time(t), diff;

	if (ms == 0) {
		snprintf(out, len, "-");
		return out;
	}
	diff = ms - now;
	parse_duration_format((diff < 0 ? -diff : diff) / 1000 * 1000, d);
	if (diff >= -999 && diff <= 999)
		snprintf(out, len, "now");
	else if (diff < 0)
		snprintf(out, len, "%s ago", d);
	else
		snprintf(out, len, "in %s", d);
	return out;
}

/* A string member, or dflt. */
static const char *
status_str(json_t *o, const char *key, const char *dflt)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : dflt;
}

/* Parse the health entries of the Lease annotations into an array. */
static json_t *
status_pods(json_t *ann)
{
	json_t *pods = json_array(), *v, *e;
	const char *key;

	json_object_foreach(ann, key, v) {
		if (strncmp(key, "agents.twa.dev/", 15) != 0 ||
		    !json_is_string(v))
			continue;
		e = json_loads(json_string_value(v), 0, NULL);
		if (!json_is_object(e)) {
			json_decref(e);
			e = json_pack("{s:s,s:s}", "pod", key + 15, "state",
			    "invalid entry");
		}
		if (json_object_get(e, "pod") == NULL)
			json_object_set_new(e, "pod", json_string(key + 15));
		json_array_append_new(pods, e);
	}
	return pods;
}

/* Order pod entries by build, then pod name. */
static int
status_pod_cmp(const void *a, const void *b)
{
	json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	int r = strcmp(status_str(x, "build", ""), status_str(y, "build", ""));

	return r != 0 ? r : strcmp(status_str(x, "pod", ""),
	    status_str(y, "pod", ""));
}

/* Print the table view. */
static void
status_print(const char *name, const char *ns, json_t *lease, json_t *st,
    json_t *pods, FILE *f)
{
	json_t *spec = json_object_get(lease, "spec"), *v, *o;
	const char *holder = status_str(spec, "holderIdentity", "");
	int64_t now = (timefmt_now_us() / 1000);
	char a[64], b[64], step[32], pods_s[32];
	json_t **pv;
	size_t i, n;

	fprintf(f, "twa status %s (namespace %s)\n", name, ns);
	fprintf(f, "leader:   %s (renewed %s)\n", *holder != '\0' ? holder :
	    "(none)", status_rel(status_str(spec, "renewTime", NULL), now, a,
	    sizeof a));
	if (st == NULL) {
		fprintf(f, "status:   none published yet (no leader has "
		    "planned)\n");
	} else {
		fprintf(f, "temporal: %s", status_str(st, "deployment", "?"));
		if ((o = json_object_get(st, "temporal")) != NULL)
			fprintf(f, " at %s, namespace %s",
			    status_str(o, "address", "?"),
			    status_str(o, "namespace", "?"));
		fprintf(f, "\n");
		fprintf(f, "target:   %s (rollout %s)\n",
		    status_str(st, "target", "(none)"),
		    status_str(st, "rollout", "?"));
		if ((o = json_object_get(st, "standbys")) != NULL &&
		    json_array_size(o) > 0) {
			fprintf(f, "standbys:");
			json_array_foreach(o, i, v)
				fprintf(f, " %s", json_string_value(v));
			fprintf(f, "\n");
		}
		fprintf(f, "decision: %s\n", status_str(st, "summary", "-"));
		if (json_object_get(st, "blocked") != NULL)
			fprintf(f, "blocked:  %s\n", status_str(st, "blocked", ""));
		fprintf(f, "\n%-26s %-14s %-7s %-6s %-12s %-12s %-12s %s\n",
		    "VERSION", "STATE", "PODS", "STEP", "NEXT STEP", "SCALE DOWN",
		    "DELETE", "NOTE");
		json_array_foreach(json_object_get(st, "versions"), i, v) {
			char next[32], sd[32], del[32], build[64];

			if (json_object_get(v, "step") != NULL)
				snprintf(step, sizeof step, "%lld/%lld",
				    (long long)json_integer_value(
				    json_object_get(v, "step")),
				    (long long)json_integer_value(
				    json_object_get(v, "steps")));
			else
				snprintf(step, sizeof step, "-");
			snprintf(pods_s, sizeof pods_s, "%lld/%lld",
			    (long long)json_integer_value(json_object_get(v,
			    "healthy")), (long long)json_integer_value(
			    json_object_get(v, "total")));
			snprintf(build, sizeof build, "%s%s",
			    status_str(v, "build", "?"),
			    json_is_true(json_object_get(v, "target")) ?
			    " *" : "");
			fprintf(f, "%-26s %-14s %-7s %-6s %-12s %-12s %-12s %s\n",
			    build, status_str(v, "state", "?"), pods_s, step,
			    status_rel(status_str(v, "nextStepAt", NULL), now,
			    next, sizeof next),
			    status_rel(status_str(v, "scaleDownAt", NULL), now,
			    sd, sizeof sd),
			    status_rel(status_str(v, "deleteAt", NULL), now, del,
			    sizeof del), status_str(v, "blocked", ""));
		}
		fprintf(f, "(* = target)\n");
	}
	n = json_array_size(pods);
	fprintf(f, "\n%-34s %-26s %-18s %-12s %s\n", "POD", "BUILD", "STATE",
	    "WRITTEN", "REASON");
	pv = xcalloc(n + 1, sizeof *pv);
	for (i = 0; i < n; i++)
		pv[i] = json_array_get(pods, i);
	qsort(pv, n, sizeof *pv, status_pod_cmp);
	for (i = 0; i < n; i++) {
		const char *pod = status_str(pv[i], "pod", "?");
		char state[48];

		snprintf(state, sizeof state, "%s%s", status_str(pv[i], "state",
		    "?"), strcmp(pod, holder) == 0 ? " (leader)" : "");
		fprintf(f, "%-34s %-26s %-18s %-12s %s\n", pod,
		    status_str(pv[i], "build", "?"), state,
		    status_rel(status_str(pv[i], "written", NULL), now, a,
		    sizeof a), status_str(pv[i], "reason", ""));
	}
	free(pv);
	if (n == 0)
		fprintf(f, "(no health entries)\n");
	if (st == NULL)
		return;
	fprintf(f, "\n");
	if ((o = json_object_get(st, "lastAction")) != NULL)
		fprintf(f, "last action: %s: %s (%s): %s\n",
		    status_rel(status_str(o, "at", NULL), now, a, sizeof a),
		    status_str(o, "action", "?"), status_str(o, "outcome", "?"),
		    status_str(o, "reason", ""));
	else
		fprintf(f, "last action: none\n");
	if ((o = json_object_get(st, "lastError")) != NULL)
		fprintf(f, "last error:  %s: %s\n", status_rel(status_str(o, "at",
		    NULL), now, a, sizeof a), status_str(o, "message", "?"));
	else
		fprintf(f, "last error:  none\n");
	fprintf(f, "next wake:   %s", status_rel(status_str(st, "nextWakeAt",
	    NULL), now, a, sizeof a));
	if (json_object_get(st, "writtenAt") != NULL)
		fprintf(f, "; status written %s", status_rel(status_str(st,
		    "writtenAt", NULL), now, b, sizeof b));
	fprintf(f, "\n");
}

/* Read the Lease through the API server. Returns the object or NULL. */
static json_t *
status_fetch(const struct opt_value *o, const char *ns, const char *name,
    char **cause, long *http)
{
	struct kube_config kc;
	struct kube_opts ko = { .timeout_ms = o[O_TIMEOUT].num,
	    .deadline_ms = o[O_TIMEOUT].num };
	struct status_get g = { 0 };
	struct kube *k;
	char *inner = NULL, *path;
	int r;

	if (o[O_KUBE_SERVER].set)
		r = kube_config_explicit(&kc, o[O_KUBE_SERVER].str,
		    o[O_KUBE_CA].str, o[O_KUBE_TOKEN].str, ns, &inner);
	else
		r = kube_config_incluster(&kc, NULL, &inner);
	if (r != 0) {
		*cause = xasprintf("cannot reach the Kubernetes API (%s); run in "
		    "a cluster or pass --kube-server", inner);
		free(inner);
		return NULL;
	}
	g.base = event_base_new();
	k = kube_new(g.base, &kc, cause);
	kube_config_clear(&kc);
	if (k == NULL) {
		event_base_free(g.base);
		return NULL;
	}
	path = xasprintf("/apis/coordination.k8s.io/v1/namespaces/%s/leases/"
	    "twa-%s", ns, name);
	kube_get(k, path, &ko, status_get_cb, &g);
	free(path);
	event_base_dispatch(g.base);
	kube_free(k);
	event_base_free(g.base);
	*http = g.http;
	if (g.obj == NULL)
		*cause = g.error != NULL ? g.error : xstrdup("no answer");
	else
		free(g.error);
	return g.obj;
}

/* Print the usage of twa status; returns 0. */
static int
cmd_status_usage(void)
{
	opts_usage(stdout, "twa status NAME [OPTIONS]", "Print the state of "
	    "worker deployment NAME (the twa.dev/deployment label) as the "
	    "leader published it on the Lease twa-NAME: versions with their "
	    "routing state, ramp step and pods, the leader and its standbys, "
	    "every agent's health entry, the last action and the last error.",
	    status_opts, O_COUNT);
	return 0;
}

/* twa status NAME. */
int
cmd_status(int argc, char **argv)
{
	struct opt_value o[O_COUNT];
	const char *name, *ns, *text;
	char *cause = NULL, *out;
	json_t *lease, *ann, *st = NULL, *pods, *j;
	long http = 0;
	int next, r;

	r = opts_parse(status_opts, O_COUNT, argc, argv, 1, o, &next, &cause);
	if (r == 1)
		return cmd_status_usage();
	if (r == 0 && next < argc) {
		/* options may follow NAME too */
		struct opt_value more[O_COUNT];
		int after;

		r = opts_parse(status_opts, O_COUNT, argc, argv, next + 1, more,
		    &after, &cause);
		for (int i = 0; r == 0 && i < O_COUNT; i++)
			if (more[i].given)
				o[i] = more[i];
		if (r == 0 && after < argc) {
			fprintf(stderr, "twa status: unexpected argument "
			    "\"%.64s\"\n", argv[after]);
			return CMD_EXIT_USAGE;
		}
		if (r == 1)
			return cmd_status_usage();
	}
	if (r < 0) {
		fprintf(stderr, "twa status: %s\n", cause);
		free(cause);
		return CMD_EXIT_USAGE;
	}
	if (argc - next < 1) {
		fprintf(stderr, "twa status: expected exactly one NAME (the "
		    "twa.dev/deployment label value); see twa status --help\n");
		return CMD_EXIT_USAGE;
	}
	name = argv[next];
	if (settings_check_deployment_label(name, &cause) != 0) {
		fprintf(stderr, "twa status: NAME: %s\n", cause);
		free(cause);
		return CMD_EXIT_USAGE;
	}
	ns = o[O_NAMESPACE].set ? o[O_NAMESPACE].str : getenv("POD_NAMESPACE");
	if (ns == NULL || *ns == '\0')
		ns = "default";
	curl_global_init(CURL_GLOBAL_DEFAULT);
	lease = status_fetch(o, ns, name, &cause, &http);
	curl_global_cleanup();
	if (lease == NULL) {
		if (http == 404)
			fprintf(stderr, "twa status: no Lease twa-%s in namespace "
			    "%s: no agent of worker deployment %s is running "
			    "there\n", name, ns, name);
		else
			fprintf(stderr, "twa status: cannot read the Lease "
			    "twa-%s in namespace %s: %s\n", name, ns, cause);
		free(cause);
		return 1;
	}
	ann = json_object_get(json_object_get(lease, "metadata"), "annotations");
	text = json_string_value(json_object_get(ann, "twa.dev/status"));
	if (text != NULL) {
		st = json_loads(text, 0, NULL);
		if (!json_is_object(st)) {
			fprintf(stderr, "twa status: the twa.dev/status annotation "
			    "of Lease twa-%s is not a JSON object\n", name);
			json_decref(st);
			st = NULL;
		}
	}
	pods = status_pods(ann);
	if (o[O_JSON].num) {
		j = json_pack("{s:s,s:s,s:O,s:O,s:O}", "name", name, "namespace",
		    ns, "election", json_object_get(lease, "spec") != NULL ?
		    json_object_get(lease, "spec") : json_null(), "status",
		    st != NULL ? st : json_null(), "pods", pods);
		out = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
		printf("%s\n", out);
		free(out);
		json_decref(j);
	} else
		status_print(name, ns, lease, st, pods, stdout);
	json_decref(pods);
	json_decref(st);
	json_decref(lease);
	return 0;
}
