/* webhook: AdmissionReview decoding and encoding, and Deployment validation (pure). */
#include "config.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "buildid.h"
#include "parse.h"
#include "settings.h"
#include "webhook.h"
#include "webhook_int.h"
#include "xalloc.h"

/* Longest denial message sent back (the API server shows it to users). */
#define WEBHOOK_MAX_MESSAGE 8192

/* String member key of o, or NULL when absent or not a string. */
const char *
webhook_jstr(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* Whether sub-object key of o is absent or an object; *out gets it or NULL. */
int
webhook_jobject(const json_t *o, const char *key, const char *where,
    const json_t **out, char **cause)
{
	const json_t *v = json_object_get(o, key);

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_object(v)) {
		*cause = xasprintf("%s%s: expected an object", where, key);
		return -1;
	}
	*out = v;
	return 0;
}

/*
 * Collect the string pairs of a labels or annotations map into kv (caller
 * frees the array, not the strings, which stay owned by map). Returns the
 * count, or -1 and an allocated cause when a value is not a string.
 */
ssize_t
webhook_string_map(const json_t *map, const char *where,
    struct settings_kv **kv, char **cause)
{
	const char *key;
	json_t *v;
	size_t n = 0;

	*kv = xcalloc(json_object_size(map) + 1, sizeof **kv);
	json_object_foreach((json_t *)map, key, v) {
		if (!json_is_string(v)) {
			char *q = parse_quote(key);

			*cause = xasprintf("%s %s: value is not a string; expected "
			    "text", where, q);
			free(q);
			free(*kv);
			*kv = NULL;
			return -1;
		}
		(*kv)[n].key = key;
		(*kv)[n].value = json_string_value(v);
		n++;
	}
	return (ssize_t)n;
}

/*
 * Parse the twa annotations of a pod or template metadata object into s
 * (always initialised; release with settings_clear). Returns 0, or -1 and
 * an allocated cause listing every invalid annotation.
 */
int
webhook_settings(const json_t *meta, const char *where, struct settings *s,
    char **cause)
{
	const json_t *ann = NULL;
	struct settings_errors errs;
	struct settings_kv *kv = NULL;
	ssize_t n = 0;

	if (webhook_jobject(meta, "annotations", where, &ann, cause) != 0 ||
	    (ann != NULL && (n = webhook_string_map(ann, "annotation", &kv,
	    cause)) < 0)) {
		settings_defaults(s);
		return -1;
	}
	if (settings_parse(NULL, kv, (size_t)n, s, &errs) != 0) {
		*cause = settings_errors_join(&errs);
		settings_errors_free(&errs);
		free(kv);
		return -1;
	}
	settings_errors_free(&errs);
	free(kv);
	return 0;
}

/* Whether pods get the agent as a native sidecar. */
bool
webhook_native_sidecar(const struct webhook_config *cfg)
{
	return cfg->server_major > 1 || (cfg->server_major == 1 &&
	    cfg->server_minor >= WEBHOOK_NATIVE_MINOR);
}

/* Parse "1.29", "v1.29.3" or "1.30+". */
int
webhook_parse_version(const char *s, int *major, int *minor, char **cause)
{
	const char *p = s;
	long v[2] = { 0, 0 };

	if (*p == 'v')
		p++;
	for (int i = 0; i < 2; i++) {
		int digits = 0;

		while (isdigit((unsigned char)*p) && digits < 4) {
			v[i] = v[i] * 10 + (*p++ - '0');
			digits++;
		}
		if (digits == 0 || isdigit((unsigned char)*p) ||
		    (i == 0 && *p++ != '.')) {
			char *q = parse_quote(s);

			*cause = xasprintf("server version %s is invalid; expected "
			    "MAJOR.MINOR like 1.29", q);
			free(q);
			return -1;
		}
	}
	if (*p != '\0' && *p != '.' && *p != '+' && *p != '-') {
		char *q = parse_quote(s);

		*cause = xasprintf("server version %s has trailing text; expected "
		    "MAJOR.MINOR like 1.29", q);
		free(q);
		return -1;
	}
	if (v[0] < 1) {
		*cause = xasprintf("server version %ld.%ld: expected a major "
		    "version of at least 1", v[0], v[1]);
		return -1;
	}
	*major = (int)v[0];
	*minor = (int)v[1];
	return 0;
}

/* Append a warning string to warnings (if not NULL). */
void
webhook_warn(json_t *warnings, char *text)
{
	if (warnings != NULL)
		json_array_append_new(warnings, json_string(text));
	free(text);
}

/* Append msg to an error list joined by "; ". */
static void
add_error(char **all, char *msg)
{
	char *joined;

	if (*all == NULL) {
		*all = msg;
		return;
	}
	joined = xasprintf("%s; %s", *all, msg);
	free(*all);
	free(msg);
	*all = joined;
}

/* Check a Deployment labelled twa.dev/deployment. */
int
webhook_validate_deployment(const json_t *dep, const struct webhook_config *cfg,
    json_t *warnings, char **cause)
{
	const json_t *meta = NULL, *labels = NULL, *spec = NULL, *tpl = NULL,
	    *tmeta = NULL, *tlabels = NULL, *ann = NULL;
	const char *name, *tdep, *inject, *key;
	char *errs = NULL, *inner = NULL, *id;
	struct settings s;
	json_t *v;

	if (!json_is_object(dep)) {
		*cause = xstrdup("request.object: expected a Deployment object");
		return -1;
	}
	if (webhook_jobject(dep, "metadata", "", &meta, cause) != 0 ||
	    webhook_jobject(meta, "labels", "metadata.", &labels, cause) != 0)
		return -1;
	v = json_object_get(labels, SETTINGS_LABEL_DEPLOYMENT);
	if (v == NULL)
		return 0;	/* not a twa Deployment (label removed) */
	if (!json_is_string(v)) {
		*cause = xstrdup("label " SETTINGS_LABEL_DEPLOYMENT ": value is "
		    "not a string; expected a DNS label");
		return -1;
	}
	name = json_string_value(v);
	if (settings_check_deployment_label(name, cause) != 0)
		return -1;
	if (webhook_jobject(dep, "spec", "", &spec, cause) != 0 ||
	    webhook_jobject(spec, "template", "spec.", &tpl, cause) != 0 ||
	    webhook_jobject(tpl, "metadata", "spec.template.", &tmeta, cause) != 0 ||
	    webhook_jobject(tmeta, "labels", "spec.template.metadata.", &tlabels,
	    cause) != 0 ||
	    webhook_jobject(meta, "annotations", "metadata.", &ann, cause) != 0)
		return -1;
	if (tpl == NULL) {
		*cause = xstrdup("spec.template: missing; expected the pod template");
		return -1;
	}
	inject = webhook_jstr(tlabels, SETTINGS_LABEL_INJECT);
	tdep = webhook_jstr(tlabels, SETTINGS_LABEL_DEPLOYMENT);
	if (inject == NULL || strcmp(inject, "true") != 0)
		webhook_warn(warnings, xstrdup("spec.template.metadata.labels: "
		    SETTINGS_LABEL_INJECT " is not \"true\": pods of this "
		    "Deployment get no twa agent and no TEMPORAL_* environment"));
	if (tdep == NULL) {
		char *msg = xasprintf("spec.template.metadata.labels: "
		    SETTINGS_LABEL_DEPLOYMENT " is missing; expected \"%s\", the "
		    "Deployment's own label", name);

		if (inject != NULL && strcmp(inject, "true") == 0)
			add_error(&errs, msg);
		else
			webhook_warn(warnings, msg);
	} else if (strcmp(tdep, name) != 0) {
		char *q = parse_quote(tdep);

		add_error(&errs, xasprintf("spec.template.metadata.labels: "
		    SETTINGS_LABEL_DEPLOYMENT " is %s; expected \"%s\", the "
		    "Deployment's own label", q, name));
		free(q);
	}
	if (webhook_settings(tmeta, "spec.template.metadata.", &s, &inner) != 0) {
		add_error(&errs, inner);
		inner = NULL;
	}
	if (s.temporal_address == NULL && cfg->temporal_address == NULL)
		add_error(&errs, xstrdup("no Temporal address: set annotation "
		    "twa.dev/temporal-address on the pod template (or start the "
		    "webhook with --temporal-address)"));
	settings_clear(&s);
	if ((id = buildid_for_pod(tpl, &inner)) == NULL) {
		add_error(&errs, xasprintf("spec.template: no build ID: %s", inner));
		free(inner);
	}
	free(id);
	json_object_foreach((json_t *)ann, key, v) {
		if (strncmp(key, SETTINGS_PREFIX, strlen(SETTINGS_PREFIX)) == 0)
			webhook_warn(warnings, xasprintf("metadata.annotations: %s "
			    "on the Deployment itself has no effect; twa reads "
			    "annotations from spec.template.metadata.annotations",
			    key));
	}
	if (errs != NULL) {
		*cause = errs;
		return -1;
	}
	return 0;
}

/* Standard base64 of data[0..n) without newlines. Caller frees. */
static char *
base64(const char *data, size_t n)
{
	char *out = xmalloc(4 * ((n + 2) / 3) + 1);

	EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)data, (int)n);
	return out;
}

/* Name of a result. */
const char *
webhook_result_name(enum webhook_result r)
{
	switch (r) {
	case WEBHOOK_ALLOWED:     return "allowed";
	case WEBHOOK_PATCHED:     return "patched";
	case WEBHOOK_DENIED:      return "denied";
	case WEBHOOK_BAD_REQUEST: return "bad_request";
	}
	return "unknown";
}

/* Reason text of an HTTP status used in Status objects. */
static const char *
status_reason(int code)
{
	switch (code) {
	case 400: return "BadRequest";
	case 404: return "NotFound";
	case 405: return "MethodNotAllowed";
	case 413: return "RequestEntityTooLarge";
	case 503: return "ServiceUnavailable";
	}
	return "InternalError";
}

/* A Status object for an HTTP error. Caller frees. */
char *
webhook_status_json(int code, const char *message)
{
	json_t *st = json_pack("{s:s, s:s, s:s, s:s, s:s, s:i}", "apiVersion",
	    "v1", "kind", "Status", "status", "Failure", "message", message,
	    "reason", status_reason(code), "code", code);
	char *text;

	if (st == NULL || (text = json_dumps(st, JSON_COMPACT)) == NULL)
		abort();
	json_decref(st);
	return text;
}

/* Fill out as an HTTP 400 with a Status body; takes message. */
static void
reply_bad(struct webhook_reply *out, char *message)
{
	out->http_status = 400;
	out->result = WEBHOOK_BAD_REQUEST;
	out->message = message;
	out->body = webhook_status_json(400, message);
	out->len = strlen(out->body);
}

/*
 * Fill out with an AdmissionReview response for uid: allowed with patch
 * (an array, possibly empty; not stolen) when message is NULL, else denied
 * with message (taken). warnings may be NULL or empty.
 */
static void
reply_review(struct webhook_reply *out, const char *uid, const json_t *patch,
    char *message, const json_t *warnings)
{
	json_t *resp, *root;

	resp = json_pack("{s:s, s:b}", "uid", uid, "allowed", message == NULL);
	if (resp == NULL)
		abort();
	if (message != NULL) {
		if (strlen(message) > WEBHOOK_MAX_MESSAGE)
			strcpy(message + WEBHOOK_MAX_MESSAGE - 4, "...");
		json_object_set_new(resp, "status", json_pack("{s:i, s:s, s:s}",
		    "code", 400, "reason", "BadRequest", "message", message));
		out->result = WEBHOOK_DENIED;
		out->message = message;
	} else if (patch != NULL && json_array_size(patch) > 0) {
		char *text = json_dumps(patch, JSON_COMPACT), *b64;

		if (text == NULL)
			abort();
		b64 = base64(text, strlen(text));
		json_object_set_new(resp, "patchType", json_string("JSONPatch"));
		json_object_set_new(resp, "patch", json_string(b64));
		free(b64);
		free(text);
		out->result = WEBHOOK_PATCHED;
		out->nops = json_array_size(patch);
	} else
		out->result = WEBHOOK_ALLOWED;
	if (warnings != NULL && json_array_size(warnings) > 0)
		json_object_set(resp, "warnings", (json_t *)warnings);
	root = json_pack("{s:s, s:s, s:o}", "apiVersion", "admission.k8s.io/v1",
	    "kind", "AdmissionReview", "response", resp);
	if (root == NULL || (out->body = json_dumps(root, JSON_COMPACT)) == NULL)
		abort();
	json_decref(root);
	out->http_status = 200;
	out->len = strlen(out->body);
	out->uid = xstrdup(uid);
}

/* The group/kind of request.kind as "group/Kind" ("Pod" for the core group). */
static char *
request_kind(const json_t *req)
{
	const json_t *k = json_object_get(req, "kind");
	const char *group = webhook_jstr(k, "group"), *kind = webhook_jstr(k, "kind");

	if (kind == NULL)
		return NULL;
	return group == NULL || *group == '\0' ? xstrdup(kind) :
	    xasprintf("%s/%s", group, kind);
}

/* Answer a pod review. */
static void
handle_mutate(const json_t *req, const char *uid, const char *op,
    const struct webhook_config *cfg, struct webhook_reply *out)
{
	const json_t *obj = json_object_get(req, "object");
	const char *ns = webhook_jstr(req, "namespace");
	json_t *warnings = json_array(), *patch;
	char *kind = request_kind(req), *cause = NULL;

	if (kind == NULL || strcmp(kind, "Pod") != 0 ||
	    strcmp(op, "CREATE") != 0) {
		webhook_warn(warnings, xasprintf("twa webhook: /mutate changes "
		    "only Pod CREATE; %s %s left unchanged", op,
		    kind != NULL ? kind : "(no request.kind)"));
		reply_review(out, uid, NULL, NULL, warnings);
		goto done;
	}
	if (!json_is_object(obj)) {
		reply_review(out, uid, NULL, xstrdup("request.object: expected "
		    "the Pod being created"), NULL);
		goto done;
	}
	if (ns == NULL || *ns == '\0')
		ns = webhook_jstr(json_object_get(obj, "metadata"), "namespace");
	if ((patch = webhook_mutate_pod(obj, ns, cfg, &cause)) == NULL) {
		char *msg = xasprintf("twa: pod not injected: %s", cause);

		free(cause);
		reply_review(out, uid, NULL, msg, NULL);
		goto done;
	}
	reply_review(out, uid, patch, NULL, NULL);
	json_decref(patch);
done:
	json_decref(warnings);
	free(kind);
}

/* Answer a Deployment review. */
static void
handle_validate(const json_t *req, const char *uid, const char *op,
    const struct webhook_config *cfg, struct webhook_reply *out)
{
	json_t *warnings = json_array();
	char *kind = request_kind(req), *cause = NULL;

	if (kind == NULL || strcmp(kind, "apps/Deployment") != 0 ||
	    (strcmp(op, "CREATE") != 0 && strcmp(op, "UPDATE") != 0)) {
		webhook_warn(warnings, xasprintf("twa webhook: /validate checks "
		    "only apps/Deployment CREATE and UPDATE; %s %s allowed", op,
		    kind != NULL ? kind : "(no request.kind)"));
		reply_review(out, uid, NULL, NULL, warnings);
	} else if (webhook_validate_deployment(json_object_get(req, "object"),
	    cfg, warnings, &cause) != 0) {
		const char *name = webhook_jstr(json_object_get(json_object_get(
		    req, "object"), "metadata"), "name");
		char *msg = name != NULL ? xasprintf("twa: Deployment %s: %s",
		    name, cause) : xasprintf("twa: %s", cause);

		free(cause);
		reply_review(out, uid, NULL, msg, warnings);
	} else
		reply_review(out, uid, NULL, NULL, warnings);
	json_decref(warnings);
	free(kind);
}

/* Answer one AdmissionReview. */
void
webhook_handle(enum webhook_kind kind, const char *body, size_t len,
    const struct webhook_config *cfg, struct webhook_reply *out)
{
	static const char expect[] = "expected an AdmissionReview of "
	    "admission.k8s.io/v1";
	const char *s, *uid, *op;
	const json_t *req;
	json_error_t err;
	json_t *root;

	memset(out, 0, sizeof *out);
	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &err);
	if (root == NULL) {
		reply_bad(out, xasprintf("request body is not valid JSON (line %d, "
		    "column %d: %s); %s", err.line, err.column, err.text, expect));
		return;
	}
	if (!json_is_object(root)) {
		reply_bad(out, xasprintf("request body is a JSON %s; %s",
		    json_is_array(root) ? "array" : "scalar", expect));
		goto done;
	}
	s = webhook_jstr(root, "apiVersion");
	if (s == NULL || strcmp(s, "admission.k8s.io/v1") != 0) {
		char *q = s != NULL ? parse_quote(s) : xstrdup("missing");

		reply_bad(out, xasprintf("apiVersion is %s; %s (list only v1 in "
		    "admissionReviewVersions)", q, expect));
		free(q);
		goto done;
	}
	s = webhook_jstr(root, "kind");
	if (s == NULL || strcmp(s, "AdmissionReview") != 0) {
		char *q = s != NULL ? parse_quote(s) : xstrdup("missing");

		reply_bad(out, xasprintf("kind is %s; %s", q, expect));
		free(q);
		goto done;
	}
	req = json_object_get(root, "request");
	if (!json_is_object(req)) {
		reply_bad(out, xasprintf("request is %s; %s with a request object",
		    req == NULL ? "missing" : "not an object", expect));
		goto done;
	}
	uid = webhook_jstr(req, "uid");
	if (uid == NULL || *uid == '\0' || strlen(uid) > WEBHOOK_MAX_UID) {
		reply_bad(out, xasprintf("request.uid is %s; expected the "
		    "request's UID (1-%d characters) to echo in the response",
		    json_object_get(req, "uid") == NULL ? "missing" :
		    "not a string of the right length", WEBHOOK_MAX_UID));
		goto done;
	}
	op = webhook_jstr(req, "operation");
	if (op == NULL) {
		reply_bad(out, xstrdup("request.operation is missing; expected "
		    "CREATE, UPDATE, DELETE or CONNECT"));
		goto done;
	}
	if (kind == WEBHOOK_MUTATE)
		handle_mutate(req, uid, op, cfg, out);
	else
		handle_validate(req, uid, op, cfg, out);
done:
	json_decref(root);
}

/* Free a reply. */
void
webhook_reply_clear(struct webhook_reply *r)
{
	free(r->body);
	free(r->uid);
	free(r->message);
	memset(r, 0, sizeof *r);
}
