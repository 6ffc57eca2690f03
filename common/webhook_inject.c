/* webhook_inject: the JSON Patch that adds the twa agent and TEMPORAL_* env to a pod (pure). */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buildid.h"
#include "jsonpatch.h"
#include "log.h"
#include "parse.h"
#include "settings.h"
#include "webhook.h"
#include "webhook_int.h"
#include "xalloc.h"

/* Where the agent container is. */
enum agent_place { AGENT_NONE, AGENT_CONTAINERS, AGENT_INIT };

/* Everything one injection decides, and the patch it builds. */
struct inject {
	const json_t			*spec, *meta;
	const struct webhook_config	*cfg;
	const char			*ns;
	const char			*name;		/* twa.dev/deployment */
	struct settings			 s;
	bool				 log_level_set;
	char				*build_id;
	const char			*address;
	bool				 tls;		/* TLS client Secret */
	bool				 tls_on;	/* TEMPORAL_TLS=true */
	enum agent_place		 agent;
	json_t				*worker_env;	/* entries to add */
	struct jsonpatch		*p;
};

/* Decimal text of i in buf. */
static const char *
idx(char buf[24], size_t i)
{
	snprintf(buf, 24, "%zu", i);
	return buf;
}

/* One env entry with a literal value. */
static json_t *
env_value(const char *name, const char *value)
{
	return json_pack("{s:s, s:s}", "name", name, "value", value);
}

/* One env entry from a pod field (downward API). */
static json_t *
env_field(const char *name, const char *path)
{
	return json_pack("{s:s, s:{s:{s:s, s:s}}}", "name", name, "valueFrom",
	    "fieldRef", "apiVersion", "v1", "fieldPath", path);
}

/*
 * Check that list (containers or initContainers) of spec is absent (when
 * not required) or an array of container objects with names, env and
 * volumeMounts of the right types. Returns 0, or -1 and a cause.
 */
static int
check_containers(const json_t *spec, const char *list, bool required,
    char **cause)
{
	const json_t *arr = json_object_get(spec, list), *c;
	size_t i;

	if (arr == NULL && !required)
		return 0;
	if (!json_is_array(arr) || (required && json_array_size(arr) == 0)) {
		*cause = xasprintf("spec.%s: expected a%s array of containers",
		    list, required ? " non-empty" : "n");
		return -1;
	}
	json_array_foreach(arr, i, c) {
		static const char *const lists[] = { "env", "volumeMounts" };
		const char *name = webhook_jstr(c, "name");

		if (!json_is_object(c) || name == NULL || *name == '\0') {
			*cause = xasprintf("spec.%s[%zu]: expected a container "
			    "object with a name", list, i);
			return -1;
		}
		for (size_t l = 0; l < 2; l++) {
			const json_t *a = json_object_get(c, lists[l]), *e;
			size_t j;

			if (a == NULL)
				continue;
			if (!json_is_array(a)) {
				*cause = xasprintf("spec.%s[%zu].%s: expected an "
				    "array", list, i, lists[l]);
				return -1;
			}
			json_array_foreach(a, j, e) {
				if (webhook_jstr(e, "name") == NULL || (l == 1 &&
				    webhook_jstr(e, "mountPath") == NULL)) {
					*cause = xasprintf("spec.%s[%zu].%s[%zu]: "
					    "expected an object with a name%s", list,
					    i, lists[l], j, l == 1 ?
					    " and a mountPath" : "");
					return -1;
				}
			}
		}
	}
	return 0;
}

/* Check spec.volumes: absent, or an array of objects with names. */
static int
check_volumes(const json_t *spec, char **cause)
{
	const json_t *arr = json_object_get(spec, "volumes"), *v;
	size_t i;

	if (arr == NULL)
		return 0;
	if (!json_is_array(arr)) {
		*cause = xstrdup("spec.volumes: expected an array");
		return -1;
	}
	json_array_foreach(arr, i, v) {
		if (webhook_jstr(v, "name") == NULL) {
			*cause = xasprintf("spec.volumes[%zu]: expected an object "
			    "with a name", i);
			return -1;
		}
	}
	return 0;
}

/* Whether container c is the agent. */
static bool
is_agent(const json_t *c)
{
	const char *name = webhook_jstr(c, "name");

	return name != NULL && strcmp(name, SETTINGS_AGENT_CONTAINER) == 0;
}

/* The agent container of list, or NULL. */
static const json_t *
find_agent(const json_t *spec, const char *list)
{
	const json_t *c;
	size_t i;

	json_array_foreach(json_object_get(spec, list), i, c)
		if (is_agent(c))
			return c;
	return NULL;
}

/* Whether array arr has an element whose key member equals value. */
static bool
has_named(const json_t *arr, const char *key, const char *value)
{
	const json_t *e;
	size_t i;

	json_array_foreach(arr, i, e) {
		const char *s = webhook_jstr(e, key);

		if (s != NULL && strcmp(s, value) == 0)
			return true;
	}
	return false;
}

/* Whether volume v is the token volume the ServiceAccount plugin added. */
static bool
auto_token_volume(const json_t *v)
{
	const char *name = webhook_jstr(v, "name");
	const json_t *src;
	size_t i;

	if (name == NULL || strncmp(name, WEBHOOK_AUTO_TOKEN_PREFIX,
	    strlen(WEBHOOK_AUTO_TOKEN_PREFIX)) != 0)
		return false;
	json_array_foreach(json_object_get(json_object_get(v, "projected"),
	    "sources"), i, src)
		if (json_object_get(src, "serviceAccountToken") != NULL)
			return true;
	return false;
}

/* Whether any container of list other than the agent mounts volume name. */
static bool
mounted_by_agent(const json_t *spec, const char *name)
{
	static const char *const lists[] = { "initContainers", "containers" };

	for (size_t l = 0; l < 2; l++) {
		const json_t *agent = find_agent(spec, lists[l]);

		if (agent != NULL &&
		    has_named(json_object_get(agent, "volumeMounts"), "name", name))
			return true;
	}
	return false;
}

/*
 * Take the automatic service-account token away from every container but
 * the agent unless the pod asked for it (automountServiceAccountToken:
 * true): remove the mounts and the volume, and set the field false so the
 * ServiceAccount plugin adds nothing when admission runs again. Index
 * removals come first and run from the highest index down.
 */
static int
strip_token(struct inject *in, char **cause)
{
	static const char *const lists[] = { "initContainers", "containers" };
	const json_t *am = json_object_get(in->spec, "automountServiceAccountToken");
	const json_t *vols = json_object_get(in->spec, "volumes");
	char a[24], b[24];

	if (am != NULL && !json_is_boolean(am)) {
		*cause = xstrdup("spec.automountServiceAccountToken: expected true "
		    "or false");
		return -1;
	}
	if (json_is_true(am))
		return 0;	/* the pod asked: its containers keep the token */
	for (size_t l = 0; l < 2; l++) {
		const json_t *arr = json_object_get(in->spec, lists[l]), *c;
		size_t i;

		json_array_foreach(arr, i, c) {
			const json_t *mounts = json_object_get(c, "volumeMounts");

			if (is_agent(c))
				continue;
			for (size_t j = json_array_size(mounts); j-- > 0;) {
				const char *vn = webhook_jstr(json_array_get(mounts,
				    j), "name");
				size_t k;
				const json_t *v;

				json_array_foreach(vols, k, v) {
					if (strcmp(webhook_jstr(v, "name"), vn) == 0 &&
					    auto_token_volume(v)) {
						jsonpatch_remove(in->p, "spec",
						    lists[l], idx(a, i),
						    "volumeMounts", idx(b, j), NULL);
						break;
					}
				}
			}
		}
	}
	for (size_t k = json_array_size(vols); k-- > 0;) {
		const json_t *v = json_array_get(vols, k);

		if (auto_token_volume(v) &&
		    !mounted_by_agent(in->spec, webhook_jstr(v, "name")))
			jsonpatch_remove(in->p, "spec", "volumes", idx(a, k), NULL);
	}
	if (am == NULL)
		jsonpatch_add(in->p, json_false(), "spec",
		    "automountServiceAccountToken", NULL);
	return 0;
}

/* The env entries every worker container gets where absent. */
static json_t *
worker_env(const struct inject *in)
{
	json_t *env = json_array();
	char *dep = xasprintf("%s/%s", in->ns, in->name);

	json_array_append_new(env, env_value("TEMPORAL_ADDRESS", in->address));
	json_array_append_new(env, env_value("TEMPORAL_NAMESPACE",
	    in->s.temporal_namespace));
	json_array_append_new(env, env_value("TEMPORAL_DEPLOYMENT_NAME", dep));
	json_array_append_new(env, env_value("TEMPORAL_WORKER_BUILD_ID",
	    in->build_id));
	if (in->tls_on)
		json_array_append_new(env, env_value("TEMPORAL_TLS", "true"));
	if (in->tls) {
		json_array_append_new(env, env_value(
		    "TEMPORAL_TLS_CLIENT_CERT_PATH", WEBHOOK_TLS_DIR "/tls.crt"));
		json_array_append_new(env, env_value(
		    "TEMPORAL_TLS_CLIENT_KEY_PATH", WEBHOOK_TLS_DIR "/tls.key"));
	}
	if (in->s.tls_server_name != NULL)
		json_array_append_new(env, env_value("TEMPORAL_TLS_SERVER_NAME",
		    in->s.tls_server_name));
	if (in->s.api_key_secret.name != NULL)
		json_array_append_new(env, json_pack("{s:s, s:{s:{s:s, s:s}}}",
		    "name", "TEMPORAL_API_KEY", "valueFrom", "secretKeyRef",
		    "name", in->s.api_key_secret.name, "key",
		    in->s.api_key_secret.key));
	free(dep);
	return env;
}

/* The volume mount of the Temporal TLS Secret. */
static json_t *
tls_mount(void)
{
	return json_pack("{s:s, s:s, s:b}", "name", WEBHOOK_TLS_VOLUME,
	    "mountPath", WEBHOOK_TLS_DIR, "readOnly", 1);
}

/* An httpGet probe on the agent port. */
static json_t *
agent_probe(int port, int period, int failures)
{
	return json_pack("{s:{s:s, s:i}, s:i, s:i, s:i}", "httpGet", "path",
	    "/healthz", "port", port, "periodSeconds", period,
	    "failureThreshold", failures, "timeoutSeconds", 1);
}

/* The agent container. */
static json_t *
agent_container(const struct inject *in)
{
	const struct webhook_config *cfg = in->cfg;
	const char *cpu = in->s.agent_cpu != NULL ? in->s.agent_cpu : cfg->agent_cpu;
	const char *mem = in->s.agent_memory != NULL ? in->s.agent_memory :
	    cfg->agent_memory;
	const char *level = in->log_level_set ?
	    log_level_name((enum log_level)in->s.agent_log_level) :
	    cfg->agent_log_level;
	char *listen = xasprintf(":%d", cfg->agent_port);
	json_t *env = json_array(), *mounts, *c, *e;
	size_t i;

	json_array_append_new(env, env_field("POD_NAME", "metadata.name"));
	json_array_append_new(env, env_field("POD_NAMESPACE", "metadata.namespace"));
	json_array_append_new(env, env_field("POD_UID", "metadata.uid"));
	json_array_foreach(in->worker_env, i, e)
		json_array_append(env, e);
	json_array_append_new(env, env_value(WEBHOOK_ENV_DEPLOYMENT, in->name));
	json_array_append_new(env, env_value(WEBHOOK_ENV_PODINFO,
	    WEBHOOK_PODINFO_DIR));
	json_array_append_new(env, env_value(WEBHOOK_ENV_LOG_LEVEL, level));
	json_array_append_new(env, env_value(WEBHOOK_ENV_LISTEN, listen));
	mounts = json_pack("[{s:s, s:s, s:b}, {s:s, s:s, s:b}]",
	    "name", WEBHOOK_PODINFO_VOLUME, "mountPath", WEBHOOK_PODINFO_DIR,
	    "readOnly", 1, "name", WEBHOOK_TOKEN_VOLUME, "mountPath",
	    WEBHOOK_TOKEN_DIR, "readOnly", 1);
	if (in->tls)
		json_array_append_new(mounts, tls_mount());
	c = json_pack("{s:s, s:s, s:s, s:[s], s:o, s:[{s:s, s:i, s:s}], "
	    "s:{s:{s:s, s:s}, s:{s:s, s:s}}, s:o, s:o, s:o, s:s, "
	    "s:{s:b, s:I, s:I, s:b, s:b, s:{s:[s]}, s:{s:s}}}",
	    "name", SETTINGS_AGENT_CONTAINER,
	    "image", in->s.agent_image != NULL ? in->s.agent_image :
	    cfg->agent_image,
	    "imagePullPolicy", "IfNotPresent",
	    "args", "agent",
	    "env", env,
	    "ports", "name", "twa-agent", "containerPort", cfg->agent_port,
	    "protocol", "TCP",
	    "resources", "requests", "cpu", cpu, "memory", mem,
	    "limits", "cpu", cpu, "memory", mem,
	    "volumeMounts", mounts,
	    "startupProbe", agent_probe(cfg->agent_port, 1, 120),
	    "livenessProbe", agent_probe(cfg->agent_port, 10, 3),
	    "terminationMessagePolicy", "FallbackToLogsOnError",
	    "securityContext", "runAsNonRoot", 1, "runAsUser", (json_int_t)65532,
	    "runAsGroup", (json_int_t)65532, "readOnlyRootFilesystem", 1,
	    "allowPrivilegeEscalation", 0, "capabilities", "drop", "ALL",
	    "seccompProfile", "type", "RuntimeDefault");
	if (c == NULL)
		abort();
	if (webhook_native_sidecar(cfg))
		json_object_set_new(c, "restartPolicy", json_string("Always"));
	free(listen);
	return c;
}

/* The volumes the agent needs that the pod does not have yet. */
static json_t *
agent_volumes(const struct inject *in)
{
	const json_t *vols = json_object_get(in->spec, "volumes");
	json_t *add = json_array();

	if (!has_named(vols, "name", WEBHOOK_PODINFO_VOLUME))
		json_array_append_new(add, json_pack("{s:s, s:{s:i, s:[{s:s, "
		    "s:{s:s, s:s}}, {s:s, s:{s:s, s:s}}]}}",
		    "name", WEBHOOK_PODINFO_VOLUME, "downwardAPI", "defaultMode",
		    0444, "items", "path", "annotations", "fieldRef", "apiVersion",
		    "v1", "fieldPath", "metadata.annotations", "path", "labels",
		    "fieldRef", "apiVersion", "v1", "fieldPath", "metadata.labels"));
	if (!has_named(vols, "name", WEBHOOK_TOKEN_VOLUME))
		json_array_append_new(add, json_pack("{s:s, s:{s:i, s:["
		    "{s:{s:I, s:s}}, {s:{s:s, s:[{s:s, s:s}]}}, "
		    "{s:{s:[{s:s, s:{s:s, s:s}}]}}]}}",
		    "name", WEBHOOK_TOKEN_VOLUME, "projected", "defaultMode", 0444,
		    "sources", "serviceAccountToken", "expirationSeconds",
		    (json_int_t)WEBHOOK_TOKEN_SECONDS, "path", "token",
		    "configMap", "name", "kube-root-ca.crt", "items", "key",
		    "ca.crt", "path", "ca.crt",
		    "downwardAPI", "items", "path", "namespace", "fieldRef",
		    "apiVersion", "v1", "fieldPath", "metadata.namespace"));
	if (in->tls && !has_named(vols, "name", WEBHOOK_TLS_VOLUME))
		json_array_append_new(add, json_pack("{s:s, s:{s:s, s:i}}",
		    "name", WEBHOOK_TLS_VOLUME, "secret", "secretName",
		    in->s.tls_secret.name, "defaultMode", 0444));
	return add;
}

/* Append each element of items (stolen) to spec.<key>, or add the array. */
static void
add_all(struct jsonpatch *p, json_t *items, const char *const *prefix,
    size_t nprefix, const json_t *existing)
{
	const char *segs[8];
	json_t *e;
	size_t i;

	memcpy(segs, prefix, nprefix * sizeof *segs);
	if (json_array_size(items) == 0) {
		json_decref(items);
		return;
	}
	if (existing == NULL) {
		jsonpatch_op(p, "add", segs, nprefix, items, NULL);
		return;
	}
	segs[nprefix] = "-";
	json_array_foreach(items, i, e)
		jsonpatch_op(p, "add", segs, nprefix + 1, json_incref(e), NULL);
	json_decref(items);
}

/* Add the missing env and the TLS mount to one worker container. */
static void
patch_worker(struct inject *in, const json_t *c, size_t i, bool tls_volume)
{
	const json_t *env = json_object_get(c, "env");
	const json_t *mounts = json_object_get(c, "volumeMounts");
	json_t *missing = json_array(), *e;
	char a[24];
	const char *prefix[4] = { "spec", "containers", idx(a, i), "env" };
	size_t k;

	json_array_foreach(in->worker_env, k, e)
		if (!has_named(env, "name", webhook_jstr(e, "name")))
			json_array_append(missing, e);
	add_all(in->p, missing, prefix, 4, env);
	if (tls_volume && !has_named(mounts, "name", WEBHOOK_TLS_VOLUME) &&
	    !has_named(mounts, "mountPath", WEBHOOK_TLS_DIR)) {
		prefix[3] = "volumeMounts";
		add_all(in->p, json_pack("[o]", tls_mount()), prefix, 4, mounts);
	}
}

/* Read and check what the pod says about itself. Returns 0 or -1 and cause. */
static int
inject_read(struct inject *in, const json_t *pod, char **cause)
{
	const json_t *labels = NULL, *agent, *ann = NULL;
	const char *v;
	char *inner = NULL;

	if (webhook_jobject(pod, "metadata", "", &in->meta, cause) != 0 ||
	    webhook_jobject(in->meta, "labels", "metadata.", &labels, cause) != 0 ||
	    webhook_jobject(in->meta, "annotations", "metadata.", &ann, cause) != 0 ||
	    webhook_jobject(pod, "spec", "", &in->spec, cause) != 0)
		return -1;
	v = webhook_jstr(labels, SETTINGS_LABEL_INJECT);
	if (v == NULL || strcmp(v, "true") != 0)
		return 1;	/* not for us */
	if (in->spec == NULL) {
		*cause = xstrdup("spec: missing; expected the pod spec");
		return -1;
	}
	if (check_containers(in->spec, "containers", true, cause) != 0 ||
	    check_containers(in->spec, "initContainers", false, cause) != 0 ||
	    check_volumes(in->spec, cause) != 0)
		return -1;
	if (in->ns == NULL || *in->ns == '\0') {
		*cause = xstrdup("the request names no namespace; expected "
		    "request.namespace (needed for TEMPORAL_DEPLOYMENT_NAME)");
		return -1;
	}
	in->name = webhook_jstr(labels, SETTINGS_LABEL_DEPLOYMENT);
	if (in->name == NULL) {
		*cause = xstrdup("label " SETTINGS_LABEL_DEPLOYMENT " is missing; "
		    "expected the worker deployment name on every pod labelled "
		    SETTINGS_LABEL_INJECT "=true");
		return -1;
	}
	if (settings_check_deployment_label(in->name, cause) != 0)
		return -1;
	if (webhook_settings(in->meta, "metadata.", &in->s, cause) != 0)
		return -1;
	in->log_level_set = json_object_get(ann, "twa.dev/agent-log-level") != NULL;
	in->address = in->s.temporal_address != NULL ? in->s.temporal_address :
	    in->cfg->temporal_address;
	if (in->address == NULL) {
		*cause = xstrdup("no Temporal address: set annotation "
		    "twa.dev/temporal-address (or start the webhook with "
		    "--temporal-address)");
		return -1;
	}
	in->tls = in->s.tls_secret.name != NULL;
	in->tls_on = in->tls || in->s.api_key_secret.name != NULL ||
	    in->s.tls_server_name != NULL;
	if ((agent = find_agent(in->spec, "initContainers")) != NULL)
		in->agent = AGENT_INIT;
	else if ((agent = find_agent(in->spec, "containers")) != NULL)
		in->agent = AGENT_CONTAINERS;
	if (agent != NULL) {
		const json_t *e;
		size_t i;

		/* Admission runs again: keep the build ID given the first time. */
		json_array_foreach(json_object_get(agent, "env"), i, e) {
			const char *n = webhook_jstr(e, "name");

			if (strcmp(n, "TEMPORAL_WORKER_BUILD_ID") == 0 &&
			    (v = webhook_jstr(e, "value")) != NULL)
				in->build_id = xstrdup(v);
		}
	}
	if (in->build_id == NULL &&
	    (in->build_id = buildid_for_pod(pod, &inner)) == NULL) {
		*cause = xasprintf("no build ID: %s", inner);
		free(inner);
		return -1;
	}
	return 0;
}

/* The injection patch for pod. */
json_t *
webhook_mutate_pod(const json_t *pod, const char *ns,
    const struct webhook_config *cfg, char **cause)
{
	struct inject in;
	const json_t *c, *ann;
	json_t *out = NULL;
	bool tls_volume;
	size_t i;
	int r;

	memset(&in, 0, sizeof in);
	in.cfg = cfg;
	in.ns = ns;
	in.p = jsonpatch_new();
	if (!json_is_object(pod)) {
		*cause = xstrdup("request.object: expected a Pod object");
		goto done;
	}
	if ((r = inject_read(&in, pod, cause)) < 0)
		goto done;
	if (r > 0) {
		out = json_array();
		goto done;
	}
	in.worker_env = worker_env(&in);
	if (strip_token(&in, cause) != 0)
		goto done;
	tls_volume = in.tls && (in.agent == AGENT_NONE || has_named(
	    json_object_get(in.spec, "volumes"), "name", WEBHOOK_TLS_VOLUME));
	if (in.agent == AGENT_NONE) {
		static const char *const vols[] = { "spec", "volumes" };
		static const char *const init[] = { "spec", "initContainers" };

		add_all(in.p, agent_volumes(&in), vols, 2,
		    json_object_get(in.spec, "volumes"));
		if (!webhook_native_sidecar(cfg))
			jsonpatch_add(in.p, agent_container(&in), "spec",
			    "containers", "-", NULL);
		else if (json_object_get(in.spec, "initContainers") == NULL)
			jsonpatch_op(in.p, "add", init, 2,
			    json_pack("[o]", agent_container(&in)), NULL);
		else
			jsonpatch_add(in.p, agent_container(&in), "spec",
			    "initContainers", "0", NULL);
	}
	json_array_foreach(json_object_get(in.spec, "containers"), i, c)
		if (!is_agent(c))
			patch_worker(&in, c, i, tls_volume);
	if (in.agent == AGENT_NONE) {
		ann = json_object_get(in.meta, "annotations");
		if (!json_is_object(ann))
			jsonpatch_add(in.p, json_pack("{s:s}", WEBHOOK_MARKER,
			    in.build_id), "metadata", "annotations", NULL);
		else
			jsonpatch_add(in.p, json_string(in.build_id), "metadata",
			    "annotations", WEBHOOK_MARKER, NULL);
	}
	out = json_incref(jsonpatch_json(in.p));
done:
	jsonpatch_free(in.p);
	json_decref(in.worker_env);
	settings_clear(&in.s);
	free(in.build_id);
	return out;
}
