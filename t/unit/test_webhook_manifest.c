/* test_webhook_manifest: load deploy/ manifests (JSON-compatible YAML) and check them against what the code expects. */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "buildid.h"
#include "check_main.h"
#include "proc.h"
#include "settings.h"
#include "test_webhook_apply.h"
#include "test_webhook_manifest.h"
#include "webhook.h"
#include "xalloc.h"

/* Record a problem. */
static void __attribute__((format(printf, 2, 3)))
problem(struct problems *p, const char *fmt, ...)
{
	va_list ap;

	p->v = xreallocarray(p->v, p->n + 1, sizeof *p->v);
	va_start(ap, fmt);
	p->v[p->n++] = xvasprintf(fmt, ap);
	va_end(ap);
}

/* All problems as one text. Caller frees. */
char *
problems_text(const struct problems *p)
{
	char *all = xstrdup("");

	for (size_t i = 0; i < p->n; i++) {
		char *next = xasprintf("%s\n  %s", all, p->v[i]);

		free(all);
		all = next;
	}
	return all;
}

/* Free the problems. */
void
problems_free(struct problems *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->v[i]);
	free(p->v);
	memset(p, 0, sizeof *p);
}

/* Free the documents. */
void
docs_free(struct docs *d)
{
	for (size_t i = 0; i < d->n; i++) {
		free(d->v[i].where);
		json_decref(d->v[i].obj);
	}
	free(d->v);
	memset(d, 0, sizeof *d);
}

/* Add one document's JSON text. Returns 0, or -1 and a cause. */
static int
add_doc(struct docs *d, const char *file, int line, const char *text,
    char **cause)
{
	json_error_t err;
	json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, &err);

	if (j == NULL) {
		*cause = xasprintf("%s:%d: not a JSON document (line %d of it: %s)",
		    file, line, err.line, err.text);
		return -1;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		*cause = xasprintf("%s:%d: a document must be one JSON object", file,
		    line);
		return -1;
	}
	d->v = xreallocarray(d->v, d->n + 1, sizeof *d->v);
	d->v[d->n].where = xasprintf("%s:%d", file, line);
	d->v[d->n++].obj = j;
	return 0;
}

/*
 * Parse text (named file) in the JSON subset of YAML of deploy/README.md:
 * documents split by "---" lines; full-line comments only before a
 * document's JSON; no tabs; one JSON object per document. The first part
 * (before any "---") may hold comments only.
 */
int
parse_manifest(const char *file, const char *text, struct docs *d, char **cause)
{
	char *copy = xstrdup(text), *line, *next, *json = xstrdup("");
	int lineno = 0, start = 0, part = 0, r = 0;
	bool in_json = false;

	for (line = copy; line != NULL && r == 0; line = next) {
		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		else if (*line == '\0')
			break;
		lineno++;
		if (strchr(line, '\t') != NULL) {
			*cause = xasprintf("%s:%d: tab character", file, lineno);
			r = -1;
		} else if (strcmp(line, "---") == 0) {
			if (in_json)
				r = add_doc(d, file, start, json, cause);
			else if (part > 0) {
				*cause = xasprintf("%s:%d: empty document", file, lineno);
				r = -1;
			}
			json[0] = '\0';
			in_json = false;
			part++;
		} else if (line[0] == '#' && !in_json) {
			continue;
		} else if (line[0] == '#') {
			*cause = xasprintf("%s:%d: comment inside a document", file,
			    lineno);
			r = -1;
		} else if (line[strspn(line, " ")] == '\0') {
			continue;
		} else if (part == 0) {
			*cause = xasprintf("%s:%d: content before the first ---", file,
			    lineno);
			r = -1;
		} else {
			char *grown = xasprintf("%s%s\n", json, line);

			if (!in_json)
				start = lineno;
			in_json = true;
			free(json);
			json = grown;
		}
	}
	if (r == 0 && in_json)
		r = add_doc(d, file, start, json, cause);
	else if (r == 0 && part > 0 && !in_json) {
		*cause = xasprintf("%s: ends with an empty document", file);
		r = -1;
	}
	free(json);
	free(copy);
	return r;
}

/* Read a whole file. Caller frees. */
char *
slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	ck_assert_msg(f != NULL, "cannot open %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = xcalloc(1, (size_t)n + 1);
	ck_assert_int_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return buf;
}

/* Sort helper for file names. */
static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Load every *.yaml file of deploy/<rel> in name order. */
void
load_dir(const char *rel, struct docs *d)
{
	char *r = xasprintf("deploy/%s", rel), *dir = proc_srcpath(r);
	DIR *dh = opendir(dir);
	struct dirent *de;
	char **names = NULL;
	size_t n = 0;

	ck_assert_msg(dh != NULL, "no directory %s", dir);
	while ((de = readdir(dh)) != NULL) {
		size_t l = strlen(de->d_name);

		if (l > 5 && strcmp(de->d_name + l - 5, ".yaml") == 0) {
			names = xreallocarray(names, n + 1, sizeof *names);
			names[n++] = xstrdup(de->d_name);
		}
	}
	closedir(dh);
	ck_assert_msg(n > 0, "no manifests in %s", dir);
	qsort(names, n, sizeof *names, cmp_str);
	memset(d, 0, sizeof *d);
	for (size_t i = 0; i < n; i++) {
		char *path = xasprintf("%s/%s", dir, names[i]), *text = slurp(path);
		char *label = xasprintf("deploy/%s/%s", rel, names[i]), *cause = NULL;

		ck_assert_msg(parse_manifest(label, text, d, &cause) == 0, "%s", cause);
		free(label);
		free(text);
		free(path);
		free(names[i]);
	}
	free(names);
	free(dir);
	free(r);
}

/* Member of o by a path of ':'-separated keys and array indices. */
json_t *
at(const json_t *o, const char *path)
{
	char *copy = xstrdup(path), *p = copy, *part, *save = NULL;
	json_t *cur = (json_t *)o;

	for (; cur != NULL && (part = strtok_r(p, ":", &save)) != NULL; p = NULL) {
		if (json_is_array(cur))
			cur = json_array_get(cur, (size_t)strtoul(part, NULL, 10));
		else
			cur = json_object_get(cur, part);
	}
	free(copy);
	return cur;
}

/* String at path, or "" when absent or not a string. */
static const char *
sat(const json_t *o, const char *path)
{
	const char *s = json_string_value(at(o, path));

	return s != NULL ? s : "";
}

/* The document of kind named name (any namespace when ns is NULL), or NULL. */
json_t *
find(const struct docs *d, const char *kind, const char *name, const char *ns)
{
	for (size_t i = 0; i < d->n; i++) {
		json_t *o = d->v[i].obj;

		if (strcmp(sat(o, "kind"), kind) == 0 &&
		    (name == NULL || strcmp(sat(o, "metadata:name"), name) == 0) &&
		    (ns == NULL || strcmp(sat(o, "metadata:namespace"), ns) == 0))
			return o;
	}
	return NULL;
}

/* Whether array arr holds exactly the strings of want (in any order). */
static bool
same_strings(const json_t *arr, const char *const *want, size_t n)
{
	if (!json_is_array(arr) || json_array_size(arr) != n)
		return false;
	for (size_t i = 0; i < n; i++) {
		bool found = false;
		json_t *e;
		size_t k;

		json_array_foreach(arr, k, e)
			found |= json_is_string(e) && strcmp(json_string_value(e),
			    want[i]) == 0;
		if (!found)
			return false;
	}
	return true;
}

/* Whether array arr contains the string s. */
static bool
has_string(const json_t *arr, const char *s)
{
	json_t *e;
	size_t i;

	json_array_foreach(arr, i, e)
		if (json_is_string(e) && strcmp(json_string_value(e), s) == 0)
			return true;
	return false;
}

/* Every document: apiVersion, kind, name; namespaced kinds name a namespace. */
static void
check_common(const struct docs *d, struct problems *p)
{
	static const struct { const char *kind, *api; bool cluster; } kinds[] = {
		{ "Namespace", "v1", true }, { "ServiceAccount", "v1", false },
		{ "Service", "v1", false }, { "Deployment", "apps/v1", false },
		{ "PodDisruptionBudget", "policy/v1", false },
		{ "Role", "rbac.authorization.k8s.io/v1", false },
		{ "RoleBinding", "rbac.authorization.k8s.io/v1", false },
		{ "ClusterRole", "rbac.authorization.k8s.io/v1", true },
		{ "ClusterRoleBinding", "rbac.authorization.k8s.io/v1", true },
		{ "MutatingWebhookConfiguration", "admissionregistration.k8s.io/v1", true },
		{ "ValidatingWebhookConfiguration", "admissionregistration.k8s.io/v1", true },
		{ "Issuer", "cert-manager.io/v1", false },
		{ "Certificate", "cert-manager.io/v1", false },
	};

	for (size_t i = 0; i < d->n; i++) {
		const json_t *o = d->v[i].obj;
		const char *kind = sat(o, "kind"), *ns = sat(o, "metadata:namespace");
		size_t k;

		for (k = 0; k < N_CASES(kinds); k++)
			if (strcmp(kinds[k].kind, kind) == 0)
				break;
		if (k == N_CASES(kinds)) {
			problem(p, "%s: unexpected kind \"%s\"", d->v[i].where, kind);
			continue;
		}
		if (strcmp(sat(o, "apiVersion"), kinds[k].api) != 0)
			problem(p, "%s: %s has apiVersion \"%s\"; expected %s",
			    d->v[i].where, kind, sat(o, "apiVersion"), kinds[k].api);
		if (*sat(o, "metadata:name") == '\0')
			problem(p, "%s: %s without metadata.name", d->v[i].where, kind);
		if (kinds[k].cluster != (*ns == '\0'))
			problem(p, "%s: %s %s metadata.namespace", d->v[i].where, kind,
			    kinds[k].cluster ? "is cluster-scoped but has" : "needs");
		if (*ns != '\0' && find(d, "Namespace", ns, NULL) == NULL)
			problem(p, "%s: namespace %s is not created by these manifests",
			    d->v[i].where, ns);
	}
}

/* One option of `twa webhook`, from its --help. */
struct flag {
	char	name[64];
	bool	value;
};

/* The options of `twa webhook`, read from its --help output. */
static size_t
webhook_flags(struct flag *out, size_t max)
{
	char *twa = proc_buildpath("twa"), *cmd = xasprintf("'%s' webhook --help", twa);
	FILE *f = popen(cmd, "r");
	char line[1024];
	size_t n = 0;

	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof line, f) != NULL && n < max) {
		char *dd = strstr(line, "--"), *end;

		if (dd == NULL || strncmp(line, "      --", 8) != 0)
			continue;
		end = dd + 2 + strcspn(dd + 2, " \n");
		snprintf(out[n].name, sizeof out[n].name, "%.*s", (int)(end - dd - 2),
		    dd + 2);
		out[n].value = end[0] == ' ' && end[1] >= 'A' && end[1] <= 'Z';
		n++;
	}
	ck_assert_int_eq(pclose(f), 0);
	ck_assert_uint_gt(n, 10);
	free(cmd);
	free(twa);
	return n;
}

/* The value of --name in args (or def when absent). */
static const char *
arg_value(const json_t *args, const char *name, const char *def)
{
	json_t *e;
	size_t i;

	json_array_foreach(args, i, e) {
		const char *s = json_string_value(e);

		if (s != NULL && strncmp(s, "--", 2) == 0 && strcmp(s + 2, name) == 0)
			return json_string_value(json_array_get(args, i + 1)) != NULL ?
			    json_string_value(json_array_get(args, i + 1)) : "";
	}
	return def;
}

/* Whether --name is among args. */
static bool
arg_has(const json_t *args, const char *name)
{
	return arg_value(args, name, NULL) != NULL;
}

/* The webhook configuration the Deployment's flags give to the injection code. */
static struct webhook_config
config_of(const json_t *args)
{
	struct webhook_config c = {
		.agent_image = arg_value(args, "agent-image", "twa:" PACKAGE_VERSION),
		.agent_cpu = arg_value(args, "agent-cpu", "50m"),
		.agent_memory = arg_value(args, "agent-memory", "64Mi"),
		.agent_log_level = arg_value(args, "agent-log-level", "info"),
		.temporal_address = arg_value(args, "temporal-address", NULL),
		.agent_port = (int)strtol(arg_value(args, "agent-port", "9464"), NULL, 10),
		.server_major = 1, .server_minor = 29,
	};

	return c;
}

/* The flag values that are annotation values too, checked by the same table. */
static void
check_flag_values(const json_t *args, const char *where, struct problems *p)
{
	static const char *const pairs[][2] = {
		{ "temporal-address", "twa.dev/temporal-address" },
		{ "agent-image", "twa.dev/agent-image" },
		{ "agent-cpu", "twa.dev/agent-cpu" },
		{ "agent-memory", "twa.dev/agent-memory" },
		{ "agent-log-level", "twa.dev/agent-log-level" },
	};

	for (size_t i = 0; i < N_CASES(pairs); i++) {
		struct settings_kv kv = { pairs[i][1], arg_value(args, pairs[i][0], NULL) };
		struct settings_errors errs;
		struct settings s;

		if (kv.value == NULL)
			continue;
		if (settings_parse(NULL, &kv, 1, &s, &errs) != 0)
			problem(p, "%s: --%s: %s", where, pairs[i][0], errs.v[0].message);
		settings_errors_free(&errs);
		settings_clear(&s);
	}
}

/* The webhook Deployment and its Service. */
static const json_t *
check_webhook_deployment(const struct docs *d, bool self_signed, struct problems *p)
{
	struct flag flags[64];
	size_t nflags = webhook_flags(flags, 64);
	const json_t *dep = find(d, "Deployment", WH_NAME, WH_NS), *c, *args, *svc;
	const json_t *port, *sc, *tl, *e;
	const char *listen, *colon;
	size_t i;

	if (dep == NULL) {
		problem(p, "no Deployment %s in %s", WH_NAME, WH_NS);
		return NULL;
	}
	if (json_integer_value(at(dep, "spec:replicas")) < 2)
		problem(p, "webhook Deployment: replicas must be at least 2");
	if (json_array_size(at(dep, "spec:template:spec:containers")) != 1)
		problem(p, "webhook Deployment: expected one container");
	c = at(dep, "spec:template:spec:containers:0");
	args = json_object_get(c, "args");
	if (strcmp(sat(args, "0"), "webhook") != 0)
		problem(p, "webhook Deployment: args must start with \"webhook\"");
	json_array_foreach(args, i, e) {
		const char *s = json_string_value(e);
		size_t k;

		if (i == 0 || s == NULL || strncmp(s, "--", 2) != 0)
			continue;
		for (k = 0; k < nflags; k++)
			if (strcmp(flags[k].name, s + 2) == 0)
				break;
		if (k == nflags)
			problem(p, "webhook Deployment: %s is not an option of twa webhook", s);
		else if (flags[k].value && (json_string_value(json_array_get(args,
		    i + 1)) == NULL || strncmp(json_string_value(json_array_get(args,
		    i + 1)), "--", 2) == 0))
			problem(p, "webhook Deployment: %s needs a value", s);
	}
	check_flag_values(args, "webhook Deployment", p);
	if (arg_has(args, "self-signed") != self_signed)
		problem(p, "webhook Deployment: --self-signed %s", self_signed ?
		    "missing" : "must not be given with cert-manager");
	if (!arg_has(args, "temporal-address"))
		problem(p, "webhook Deployment: no --temporal-address default");
	if (strcmp(arg_value(args, "agent-image", ""), sat(c, "image")) != 0)
		problem(p, "webhook Deployment: --agent-image \"%s\" differs from its "
		    "own image \"%s\"", arg_value(args, "agent-image", ""), sat(c, "image"));
	listen = arg_value(args, "listen", ":8443");
	colon = strrchr(listen, ':');
	port = at(c, "ports:0");
	if (colon == NULL || json_integer_value(json_object_get(port, "containerPort")) !=
	    strtol(colon + 1, NULL, 10))
		problem(p, "webhook Deployment: --listen %s is not the container port",
		    listen);
	for (int k = 0; k < 2; k++) {
		const char *probe = k == 0 ? "readinessProbe" : "livenessProbe";
		const char *path = k == 0 ? "/readyz" : "/healthz";
		const json_t *hg = at(c, k == 0 ? "readinessProbe:httpGet" :
		    "livenessProbe:httpGet");

		if (strcmp(sat(hg, "path"), path) != 0 ||
		    strcmp(sat(hg, "scheme"), "HTTPS") != 0 ||
		    (strcmp(sat(hg, "port"), sat(port, "name")) != 0 &&
		    json_integer_value(json_object_get(hg, "port")) !=
		    json_integer_value(json_object_get(port, "containerPort"))))
			problem(p, "webhook Deployment: %s must be GET %s over HTTPS on "
			    "the serving port", probe, path);
	}
	sc = json_object_get(c, "securityContext");
	if (!json_is_true(json_object_get(sc, "runAsNonRoot")))
		problem(p, "webhook Deployment: securityContext.runAsNonRoot must be true");
	if (!json_is_true(json_object_get(sc, "readOnlyRootFilesystem")))
		problem(p, "webhook Deployment: securityContext.readOnlyRootFilesystem "
		    "must be true");
	if (!json_is_false(json_object_get(sc, "allowPrivilegeEscalation")))
		problem(p, "webhook Deployment: allowPrivilegeEscalation must be false");
	if (!has_string(at(sc, "capabilities:drop"), "ALL"))
		problem(p, "webhook Deployment: capabilities must drop ALL");
	tl = at(dep, "spec:template:metadata:labels");
	if (json_object_get(tl, SETTINGS_LABEL_INJECT) != NULL ||
	    json_object_get(tl, SETTINGS_LABEL_DEPLOYMENT) != NULL)
		problem(p, "webhook Deployment: its pods must not carry twa labels "
		    "(inject into itself)");
	if (find(d, "ServiceAccount", sat(dep, "spec:template:spec:serviceAccountName"),
	    WH_NS) == NULL)
		problem(p, "webhook Deployment: service account \"%s\" is not defined",
		    sat(dep, "spec:template:spec:serviceAccountName"));
	svc = find(d, "Service", arg_value(args, "service", WH_NAME), WH_NS);
	if (svc == NULL)
		problem(p, "no Service %s (the --service name)", arg_value(args,
		    "service", WH_NAME));
	else {
		const char *key;
		json_t *v;

		json_object_foreach((json_t *)at(svc, "spec:selector"), key, v)
			if (!json_equal(v, json_object_get(tl, key)))
				problem(p, "Service %s: selector %s does not match the "
				    "webhook pods", WH_NAME, key);
		if (strcmp(sat(svc, "spec:ports:0:targetPort"), sat(port, "name")) != 0 &&
		    json_integer_value(at(svc, "spec:ports:0:targetPort")) !=
		    json_integer_value(json_object_get(port, "containerPort")))
			problem(p, "Service %s: targetPort is not the webhook's port",
			    WH_NAME);
	}
	return dep;
}

/* One webhook configuration against what the server serves. */
static void
check_config(const struct docs *d, const char *kind, const json_t *args,
    struct problems *p)
{
	static const char *const v1[] = { "v1" };
	bool mutating = kind[0] == 'M';
	const json_t *cfg = find(d, kind, arg_value(args, "webhook-config", "twa"), NULL);
	const json_t *svc = find(d, "Service", arg_value(args, "service", WH_NAME), WH_NS);
	const json_t *w, *rule, *sel, *nsel, *e;
	const char *path = mutating ? "/mutate" : "/validate";
	bool excl_self = false, excl_kube = false;
	size_t i;

	if (cfg == NULL) {
		problem(p, "no %s named %s", kind, arg_value(args, "webhook-config", "twa"));
		return;
	}
	if (json_array_size(json_object_get(cfg, "webhooks")) != 1)
		problem(p, "%s: expected one webhook", kind);
	w = at(cfg, "webhooks:0");
	if (strchr(sat(w, "name"), '.') == NULL)
		problem(p, "%s: webhook name must be fully qualified", kind);
	if (strcmp(sat(w, "clientConfig:service:namespace"), WH_NS) != 0 ||
	    strcmp(sat(w, "clientConfig:service:name"), sat(svc, "metadata:name")) != 0 ||
	    json_integer_value(at(w, "clientConfig:service:port")) !=
	    json_integer_value(at(svc, "spec:ports:0:port")))
		problem(p, "%s: clientConfig.service must be the webhook Service and port",
		    kind);
	if (strcmp(sat(w, "clientConfig:service:path"), path) != 0)
		problem(p, "%s: clientConfig.service.path is \"%s\"; expected %s", kind,
		    sat(w, "clientConfig:service:path"), path);
	if (strcmp(sat(w, "failurePolicy"), "Fail") != 0)
		problem(p, "%s: failurePolicy must be Fail", kind);
	if (strcmp(sat(w, "sideEffects"), "None") != 0)
		problem(p, "%s: sideEffects must be None", kind);
	if (json_integer_value(json_object_get(w, "timeoutSeconds")) != 5)
		problem(p, "%s: timeoutSeconds must be 5", kind);
	if (!same_strings(json_object_get(w, "admissionReviewVersions"), v1, 1))
		problem(p, "%s: admissionReviewVersions must be [v1]", kind);
	if (mutating && strcmp(sat(w, "reinvocationPolicy"), "IfNeeded") != 0)
		problem(p, "%s: reinvocationPolicy must be IfNeeded", kind);
	if (!mutating && json_object_get(w, "reinvocationPolicy") != NULL)
		problem(p, "%s: reinvocationPolicy is not a field of validating webhooks",
		    kind);
	if (json_array_size(json_object_get(w, "rules")) != 1)
		problem(p, "%s: expected one rule", kind);
	rule = at(w, "rules:0");
	{
		static const char *const create[] = { "CREATE" };
		static const char *const cu[] = { "CREATE", "UPDATE" };
		static const char *const core[] = { "" }, *const apps[] = { "apps" };
		static const char *const pods[] = { "pods" }, *const deps[] = { "deployments" };

		if (!same_strings(json_object_get(rule, "operations"), mutating ?
		    create : cu, mutating ? 1 : 2) ||
		    !same_strings(json_object_get(rule, "apiGroups"), mutating ?
		    core : apps, 1) ||
		    !same_strings(json_object_get(rule, "apiVersions"), v1, 1) ||
		    !same_strings(json_object_get(rule, "resources"), mutating ?
		    pods : deps, 1))
			problem(p, "%s: rules must be %s", kind, mutating ?
			    "pods CREATE (core v1)" : "deployments CREATE, UPDATE (apps/v1)");
	}
	sel = json_object_get(w, "objectSelector");
	if (mutating) {
		const json_t *v = at(sel, "matchLabels");

		if (json_object_size(v) != 1 || json_object_get(sel, "matchExpressions") != NULL)
			problem(p, "%s: objectSelector must be exactly matchLabels "
			    SETTINGS_LABEL_INJECT, kind);
		else if (!json_is_string(json_object_get(v, SETTINGS_LABEL_INJECT)))
			problem(p, "%s: objectSelector label " SETTINGS_LABEL_INJECT
			    " missing or not a string (quote \"true\")", kind);
		else if (strcmp(json_string_value(json_object_get(v,
		    SETTINGS_LABEL_INJECT)), "true") != 0)
			problem(p, "%s: objectSelector must select " SETTINGS_LABEL_INJECT
			    "=true", kind);
	} else if (json_array_size(json_object_get(sel, "matchExpressions")) != 1 ||
	    strcmp(sat(sel, "matchExpressions:0:key"), SETTINGS_LABEL_DEPLOYMENT) != 0 ||
	    strcmp(sat(sel, "matchExpressions:0:operator"), "Exists") != 0 ||
	    json_object_get(sel, "matchLabels") != NULL)
		problem(p, "%s: objectSelector must be " SETTINGS_LABEL_DEPLOYMENT
		    " Exists", kind);
	nsel = json_object_get(w, "namespaceSelector");
	json_array_foreach(json_object_get(nsel, "matchExpressions"), i, e) {
		if (strcmp(sat(e, "key"), "kubernetes.io/metadata.name") == 0 &&
		    strcmp(sat(e, "operator"), "NotIn") == 0) {
			excl_self |= has_string(json_object_get(e, "values"), WH_NS);
			excl_kube |= has_string(json_object_get(e, "values"), "kube-system");
		}
	}
	if (!excl_self || !excl_kube)
		problem(p, "%s: namespaceSelector must exclude %s and kube-system", kind,
		    WH_NS);
}

/* Append "scope group/resource verb name" grants of one rule to out. */
static void
expand_rule(const json_t *rule, const char *scope, json_t *out, const char *where,
    struct problems *p)
{
	const json_t *g, *r, *v, *n;
	const json_t *names = json_object_get(rule, "resourceNames");
	size_t a, b, c, k;

	json_array_foreach(json_object_get(rule, "apiGroups"), a, g)
	json_array_foreach(json_object_get(rule, "resources"), b, r)
	json_array_foreach(json_object_get(rule, "verbs"), c, v) {
		if (strcmp(json_string_value(g), "*") == 0 ||
		    strcmp(json_string_value(r), "*") == 0 ||
		    strcmp(json_string_value(v), "*") == 0)
			problem(p, "%s: wildcard in a rule", where);
		if (json_array_size(names) == 0)
			json_array_append_new(out, json_sprintf("%s %s/%s %s *", scope,
			    json_string_value(g), json_string_value(r),
			    json_string_value(v)));
		json_array_foreach(names, k, n)
			json_array_append_new(out, json_sprintf("%s %s/%s %s %s", scope,
			    json_string_value(g), json_string_value(r),
			    json_string_value(v), json_string_value(n)));
	}
}

/* Every grant of service account ns/sa through the bindings in d. */
static json_t *
grants_of(const struct docs *d, const char *ns, const char *sa, struct problems *p)
{
	json_t *out = json_array();

	for (size_t i = 0; i < d->n; i++) {
		const json_t *b = d->v[i].obj, *s, *role, *rule;
		const char *kind = sat(b, "kind"), *bns = sat(b, "metadata:namespace");
		bool bound = false;
		size_t k;

		if (strcmp(kind, "RoleBinding") != 0 && strcmp(kind, "ClusterRoleBinding") != 0)
			continue;
		json_array_foreach(json_object_get(b, "subjects"), k, s)
			bound |= strcmp(sat(s, "kind"), "ServiceAccount") == 0 &&
			    strcmp(sat(s, "name"), sa) == 0 &&
			    strcmp(*sat(s, "namespace") != '\0' ? sat(s, "namespace") :
			    bns, ns) == 0;
		if (!bound)
			continue;
		role = find(d, sat(b, "roleRef:kind"), sat(b, "roleRef:name"),
		    strcmp(sat(b, "roleRef:kind"), "Role") == 0 ? bns : NULL);
		if (role == NULL) {
			problem(p, "%s: roleRef %s %s does not exist", d->v[i].where,
			    sat(b, "roleRef:kind"), sat(b, "roleRef:name"));
			continue;
		}
		json_array_foreach(json_object_get(role, "rules"), k, rule)
			expand_rule(rule, strcmp(kind, "ClusterRoleBinding") == 0 ?
			    "cluster" : bns, out, d->v[i].where, p);
	}
	return out;
}

/* Compare grants with exactly the expected ones; name what is missing and extra. */
static void
check_grants(json_t *grants, const char *const *want, size_t n, const char *who,
    struct problems *p)
{
	json_t *g;
	size_t i;

	for (size_t k = 0; k < n; k++)
		if (!has_string(grants, want[k]))
			problem(p, "%s lacks \"%s\"", who, want[k]);
	json_array_foreach(grants, i, g) {
		bool ok = false;

		for (size_t k = 0; k < n; k++)
			ok |= strcmp(json_string_value(g), want[k]) == 0;
		if (!ok)
			problem(p, "%s has more than it needs: \"%s\"", who,
			    json_string_value(g));
	}
}

/* A whole webhook variant. */
void
check_variant(const struct docs *d, bool self_signed, struct problems *p)
{
	const json_t *dep, *args;
	json_t *grants;
	char *secret_get, *secret_update, *cfg_grants[4];
	const char *cfgname;

	check_common(d, p);
	dep = check_webhook_deployment(d, self_signed, p);
	if (dep == NULL)
		return;
	args = at(dep, "spec:template:spec:containers:0:args");
	check_config(d, "MutatingWebhookConfiguration", args, p);
	check_config(d, "ValidatingWebhookConfiguration", args, p);
	grants = grants_of(d, WH_NS, sat(dep, "spec:template:spec:serviceAccountName"), p);
	cfgname = arg_value(args, "webhook-config", "twa");
	cfg_grants[0] = xasprintf("cluster admissionregistration.k8s.io/"
	    "mutatingwebhookconfigurations get %s", cfgname);
	cfg_grants[1] = xasprintf("cluster admissionregistration.k8s.io/"
	    "mutatingwebhookconfigurations patch %s", cfgname);
	cfg_grants[2] = xasprintf("cluster admissionregistration.k8s.io/"
	    "validatingwebhookconfigurations get %s", cfgname);
	cfg_grants[3] = xasprintf("cluster admissionregistration.k8s.io/"
	    "validatingwebhookconfigurations patch %s", cfgname);
	secret_get = xasprintf(WH_NS " /secrets get %s", arg_value(args, "secret",
	    "twa-webhook-tls"));
	secret_update = xasprintf(WH_NS " /secrets update %s", arg_value(args,
	    "secret", "twa-webhook-tls"));
	if (self_signed) {
		const char *want[] = { cfg_grants[0], cfg_grants[1], cfg_grants[2],
		    cfg_grants[3], secret_get, secret_update, WH_NS " /secrets create *" };

		check_grants(grants, want, N_CASES(want), "webhook RBAC", p);
	} else {
		const json_t *cert = NULL, *vol, *e;
		const char *inject = sat(find(d, "MutatingWebhookConfiguration", NULL,
		    NULL), "metadata:annotations:cert-manager.io/inject-ca-from");
		char *svcname = xasprintf("%s.%s.svc", WH_NAME, WH_NS);
		size_t i;

		check_grants(grants, NULL, 0, "webhook RBAC", p);
		if (strcmp(inject, sat(find(d, "ValidatingWebhookConfiguration", NULL,
		    NULL), "metadata:annotations:cert-manager.io/inject-ca-from")) != 0)
			problem(p, "the two configurations inject different CAs");
		if (strncmp(inject, WH_NS "/", strlen(WH_NS) + 1) != 0 ||
		    (cert = find(d, "Certificate", inject + strlen(WH_NS) + 1, WH_NS)) == NULL)
			problem(p, "cert-manager.io/inject-ca-from \"%s\" names no "
			    "Certificate of %s", inject, WH_NS);
		vol = at(dep, "spec:template:spec:volumes:0");
		if (cert != NULL && strcmp(sat(vol, "secret:secretName"),
		    sat(cert, "spec:secretName")) != 0)
			problem(p, "the webhook mounts Secret \"%s\", not the Certificate's "
			    "\"%s\" (inject-ca-from)", sat(vol, "secret:secretName"),
			    sat(cert, "spec:secretName"));
		if (cert != NULL && !has_string(at(cert, "spec:dnsNames"), svcname))
			problem(p, "the Certificate does not cover %s", svcname);
		if (cert != NULL && find(d, sat(cert, "spec:issuerRef:kind"),
		    sat(cert, "spec:issuerRef:name"), WH_NS) == NULL)
			problem(p, "the Certificate's issuer does not exist");
		json_array_foreach(at(dep, "spec:template:spec:containers:0:volumeMounts"),
		    i, e) {
			const char *mp = sat(e, "mountPath");

			if (strncmp(arg_value(args, "cert-file", ""), mp, strlen(mp)) != 0 ||
			    strncmp(arg_value(args, "key-file", ""), mp, strlen(mp)) != 0 ||
			    strcmp(sat(e, "name"), sat(vol, "name")) != 0)
				problem(p, "--cert-file and --key-file must be in the "
				    "mounted Secret");
		}
		free(svcname);
	}
	for (int i = 0; i < 4; i++)
		free(cfg_grants[i]);
	free(secret_get);
	free(secret_update);
	json_decref(grants);
}

/* The agent's calls, as grants in namespace ns. */
static void
check_agent_rbac(const struct docs *d, const char *ns, const char *sa,
    struct problems *p)
{
	static const char *const calls[] = {
		/* lease.c, board.c: election, health board, watch */
		"coordination.k8s.io/leases get", "coordination.k8s.io/leases list",
		"coordination.k8s.io/leases watch", "coordination.k8s.io/leases create",
		"coordination.k8s.io/leases update", "coordination.k8s.io/leases patch",
		/* the leader: watch versions, delete drained ones */
		"apps/deployments get", "apps/deployments list", "apps/deployments watch",
		"apps/deployments delete",
		/* the leader: scale drained versions to zero */
		"apps/deployments/scale get", "apps/deployments/scale patch",
		"apps/deployments/scale update",
		/* kubeevent.c */
		"events.k8s.io/events create",
		/* board.c: prune reports of pods that are gone */
		"/pods get", "/pods list",
	};
	char *want[N_CASES(calls)], *who = xasprintf("agent RBAC of %s/%s", ns, sa);
	json_t *grants = grants_of(d, ns, sa, p);

	for (size_t i = 0; i < N_CASES(calls); i++)
		want[i] = xasprintf("%s %s *", ns, calls[i]);
	check_grants(grants, (const char *const *)want, N_CASES(calls), who, p);
	for (size_t i = 0; i < N_CASES(calls); i++)
		free(want[i]);
	json_decref(grants);
	free(who);
}

/* The example workers: valid for the webhook, injectable, RBAC in place. */
void
check_examples(const struct docs *d, const json_t *webhook_args, struct problems *p)
{
	struct webhook_config cfg = config_of(webhook_args);
	char *ids[8];
	size_t nids = 0;

	check_common(d, p);
	for (size_t i = 0; i < d->n; i++) {
		const json_t *dep = d->v[i].obj, *tpl, *key_v;
		const char *ns = sat(dep, "metadata:namespace"), *sa, *key;
		json_t *warnings, *pod, *patch;
		char *cause = NULL, *id;

		if (strcmp(sat(dep, "kind"), "Deployment") != 0)
			continue;
		tpl = at(dep, "spec:template");
		warnings = json_array();
		if (webhook_validate_deployment(dep, &cfg, warnings, &cause) != 0) {
			problem(p, "%s: the validating webhook refuses it: %s",
			    d->v[i].where, cause);
			free(cause);
		}
		if (json_array_size(warnings) > 0)
			problem(p, "%s: warning from the webhook: %s", d->v[i].where,
			    sat(warnings, "0"));
		json_decref(warnings);
		if (json_object_get(at(dep, "metadata:labels"), SETTINGS_LABEL_DEPLOYMENT) == NULL)
			problem(p, "%s: no " SETTINGS_LABEL_DEPLOYMENT " label", d->v[i].where);
		json_object_foreach((json_t *)at(dep, "spec:selector:matchLabels"), key, key_v)
			if (!json_equal(key_v, at(tpl, "metadata:labels") != NULL ?
			    json_object_get(at(tpl, "metadata:labels"), key) : NULL))
				problem(p, "%s: selector %s does not match the template",
				    d->v[i].where, key);
		sa = sat(tpl, "spec:serviceAccountName");
		if (!json_is_false(at(find(d, "ServiceAccount", sa, ns),
		    "automountServiceAccountToken")))
			problem(p, "%s: service account %s should not automount a token "
			    "(the agent gets its own)", d->v[i].where, sa);
		check_agent_rbac(d, ns, sa, p);
		if ((id = buildid_for_pod(tpl, &cause)) == NULL) {
			problem(p, "%s: no build ID: %s", d->v[i].where, cause);
			free(cause);
		} else {
			for (size_t k = 0; k < nids; k++)
				if (strcmp(ids[k], id) == 0)
					problem(p, "%s: build ID %s used twice", d->v[i].where, id);
			if (nids < N_CASES(ids))
				ids[nids++] = id;
			else
				free(id);
		}
		pod = json_pack("{s:o, s:o}", "metadata", json_deep_copy(json_object_get(
		    tpl, "metadata")), "spec", json_deep_copy(json_object_get(tpl, "spec")));
		patch = webhook_mutate_pod(pod, ns, &cfg, &cause);
		if (patch == NULL || json_array_size(patch) == 0) {
			problem(p, "%s: a pod of the template is not injected: %s",
			    d->v[i].where, patch == NULL ? cause : "empty patch");
			free(cause);
		} else if (apply_patch(pod, patch, &cause) != 0) {
			problem(p, "%s: the patch does not apply: %s", d->v[i].where, cause);
			free(cause);
		}
		json_decref(patch);
		json_decref(pod);
	}
	if (nids < 2)
		problem(p, "expected two example versions, found %zu", nids);
	for (size_t k = 0; k < nids; k++)
		free(ids[k]);
}

/*
 * The packages of twa's shared libraries that the runtime stage would not
 * get, one per line ("?lib" when no package owns a library), judged on
 * this Debian machine: a package is there when the stage lists it, when a
 * listed package depends on it (directly or not), or when Debian marks it
 * required (present in every image). "" when nothing is missing; NULL when
 * readelf, dpkg or ldconfig are missing. Caller frees.
 */
char *
missing_packages(const char *listed)
{
	char *twa = proc_buildpath("twa"), *cmd, *out = xcalloc(1, 8192);
	size_t n;
	FILE *f;

	if (system("command -v readelf >/dev/null 2>&1 && command -v dpkg-query "
	    ">/dev/null 2>&1 && command -v ldconfig >/dev/null 2>&1") != 0) {
		free(twa);
		free(out);
		return NULL;
	}
	cmd = xasprintf(
	    "set -f; listed='%s'; seen=' '; todo=\"$listed\"\n"
	    "while [ -n \"$(echo $todo)\" ]; do\n"
	    "  new=''; for p in $todo; do case \"$seen\" in *\" $p \"*) ;; *) seen=\"$seen$p \";"
	    " new=\"$new $p\";; esac; done\n"
	    "  [ -z \"$(echo $new)\" ] && break\n"
	    "  todo=$(dpkg-query -W -f='${Depends},${Pre-Depends},\\n' $new 2>/dev/null |"
	    " tr ',|' '\\n\\n' | sed 's/(.*//; s/:any//; s/^ *//; s/ *$//' | grep -v '^$' | sort -u)\n"
	    "done\n"
	    "cache=$(ldconfig -p)\n"
	    "readelf -d '%s' | sed -n 's/.*NEEDED.*\\[\\(.*\\)\\]/\\1/p' | while read l; do\n"
	    "  case $l in libasan*|libubsan*|liblsan*|ld-linux*) continue;; esac\n"
	    "  f=$(echo \"$cache\" | awk -v l=\"$l\" '$1==l {print $NF; exit}'); r=$(readlink -f \"$f\")\n"
	    "  echo \"$l $f $r $(echo $f $r | sed 's,/usr/lib/,/lib/,g') $(echo $f $r | sed 's,^/lib/,/usr/lib/,; s, /lib/, /usr/lib/,g')\"\n"
	    "done > /tmp/twa-deploy-libs.$$\n"
	    "dpkg -S $(cut -d' ' -f2- /tmp/twa-deploy-libs.$$) 2>/dev/null | sed 's/:[a-z0-9]*: /: /' > /tmp/twa-deploy-own.$$\n"
	    "while read l paths; do p=''\n"
	    "  for x in $paths; do p=$(awk -v x=\"$x\" '$2==x {sub(/:$/, \"\", $1); print $1; exit}' /tmp/twa-deploy-own.$$); [ -n \"$p\" ] && break; done\n"
	    "  [ -z \"$p\" ] && { echo \"?$l\"; continue; }\n"
	    "  case \"$seen\" in *\" $p \"*) continue;; esac\n"
	    "  [ \"$(dpkg-query -W -f='${Priority}' \"$p\" 2>/dev/null)\" = required ] && continue\n"
	    "  echo \"$p\"\n"
	    "done < /tmp/twa-deploy-libs.$$ | sort -u\n"
	    "rm -f /tmp/twa-deploy-libs.$$ /tmp/twa-deploy-own.$$\n", listed, twa);
	f = popen(cmd, "r");
	ck_assert_ptr_nonnull(f);
	n = fread(out, 1, 8191, f);
	out[n] = '\0';
	pclose(f);
	free(cmd);
	free(twa);
	return out;
}

/* The package names the runtime stage installs, space-separated. Caller frees. */
char *
runtime_packages(const char *text)
{
	const char *from = strstr(text, "\nFROM debian:bookworm-slim");
	const char *s = from != NULL ? strstr(from, "--no-install-recommends") : NULL;
	char *out = xstrdup("");

	if (s == NULL)
		return out;
	for (s = strchr(s, '\n'); s != NULL && strncmp(s, "\n      ", 7) == 0;
	    s = strchr(s + 1, '\n')) {
		const char *w = s + 7;
		size_t len = strcspn(w, " \\\n");
		char *next = xasprintf("%s %.*s", out, (int)len, w);

		free(out);
		out = next;
	}
	return out;
}

/* The Dockerfile: multi-stage bookworm, CI's install script, non-root; missing packages as found. */
void
check_dockerfile(const char *text, const char *missing, struct problems *p)
{
	const char *last_from = NULL, *s, *user;
	int froms = 0;

	for (s = text; (s = strstr(s, "\nFROM ")) != NULL; s++) {
		froms++;
		last_from = s + 1;
	}
	if (strncmp(text, "FROM ", 5) == 0)
		froms++;
	if (froms < 2 || last_from == NULL)
		problem(p, "Dockerfile: expected a build stage and a runtime stage");
	if (strstr(text, "FROM debian:bookworm AS build") == NULL)
		problem(p, "Dockerfile: the build stage must be FROM debian:bookworm AS build");
	if (last_from != NULL && strncmp(last_from, "FROM debian:bookworm", 20) != 0)
		problem(p, "Dockerfile: the runtime stage must be Debian bookworm");
	if (strstr(text, "RUN .ci/install-deps") == NULL)
		problem(p, "Dockerfile: must install dependencies with .ci/install-deps");
	user = last_from != NULL ? strstr(last_from, "\nUSER ") : NULL;
	if (user == NULL || strtol(user + 6, NULL, 10) <= 0)
		problem(p, "Dockerfile: the runtime stage must set a numeric non-root USER");
	if (last_from == NULL || strstr(last_from, "ENTRYPOINT [\"/usr/bin/twa\"]") == NULL)
		problem(p, "Dockerfile: ENTRYPOINT must be /usr/bin/twa");
	for (s = missing; s != NULL && *s != '\0';) {
		const char *end = strchr(s, '\n');
		char *pkg = xstrndup(s, end != NULL ? (size_t)(end - s) : strlen(s));

		if (pkg[0] == '?')
			problem(p, "Dockerfile: no Debian package owns %s", pkg + 1);
		else if (*pkg != '\0')
			problem(p, "Dockerfile: the runtime stage does not install %s "
			    "(nor anything that depends on it)", pkg);
		free(pkg);
		s = end != NULL ? end + 1 : NULL;
	}
}

