/* webhook_ca: the self-signed CA and serving certificate in a Secret, and the caBundles. */
#include "config.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <openssl/evp.h>

#include "kube.h"
#include "log.h"
#include "selfsigned.h"
#include "webhook_ca.h"
#include "xalloc.h"

/* Delay before trying again after a failure, until a set is served. */
#define CA_RETRY_MS 2000
/* Conflicts in a row before waiting for the next resync. */
#define CA_MAX_CONFLICTS 5
/* Largest Secret or webhook configuration read. */
#define CA_MAX_BODY (1024 * 1024)

/* The two configurations, in the order they are brought up to date. */
static const char *const ca_kinds[] = {
	"mutatingwebhookconfigurations", "validatingwebhookconfigurations",
};

struct webhook_ca {
	struct kube		*k;
	char			*ns, *secret, *cfgname;
	char			**names;
	size_t			 nnames;
	int64_t			 resync_ms;
	int			 ca_days, leaf_days;
	webhook_ca_serve_cb	 cb;
	void			*arg;
	struct event		*timer;
	struct kube_req		*req;
	struct selfsigned_pem	 set;		/* the set of this pass */
	size_t			 step;		/* index into ca_kinds */
	unsigned		 conflicts;
	bool			 served;	/* cb called at least once */
	struct webhook_ca_stats	 stats;
};

static void webhook_ca_sync(struct webhook_ca *ca);

/* Run the next pass in ms milliseconds. */
static void
webhook_ca_schedule(struct webhook_ca *ca, int64_t ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };

	evtimer_add(ca->timer, &tv);
}

/* After a failure: retry soon until served, else at the next resync. */
static void
webhook_ca_failed(struct webhook_ca *ca)
{
	ca->stats.errors++;
	webhook_ca_schedule(ca, ca->served ? ca->resync_ms : CA_RETRY_MS);
}

/* Timer: start a pass. */
static void
webhook_ca_timer_cb(evutil_socket_t fd, short events, void *arg)
{
	webhook_ca_sync(arg);
}

/* Request options shared by every call. */
static const struct kube_opts *
webhook_ca_opts(void)
{
	static const struct kube_opts o = { .timeout_ms = 10000,
	    .max_body = CA_MAX_BODY };

	return &o;
}

/* Decode standard base64 text; NULL if it is not base64. Caller frees. */
static char *
unbase64(const char *s)
{
	size_t n = strlen(s), pad = 0;
	unsigned char *out;
	int r;

	if (n % 4 != 0 || n > CA_MAX_BODY)
		return NULL;
	if (n > 0 && s[n - 1] == '=')
		pad++;
	if (n > 1 && s[n - 2] == '=')
		pad++;
	out = xmalloc(n / 4 * 3 + 1);
	r = EVP_DecodeBlock(out, (const unsigned char *)s, (int)n);
	if (r < 0 || (size_t)r < pad) {
		free(out);
		return NULL;
	}
	out[r - (int)pad] = '\0';
	if (strlen((char *)out) != (size_t)r - pad) {	/* NUL inside */
		free(out);
		return NULL;
	}
	return (char *)out;
}

/* Standard base64 of s. Caller frees. */
static char *
tobase64(const char *s)
{
	size_t n = strlen(s);
	char *out = xmalloc(4 * ((n + 2) / 3) + 1);

	EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)s, (int)n);
	return out;
}

/* Read the set stored in a Secret object (missing keys stay NULL). */
static void
secret_to_set(const json_t *secret, struct selfsigned_pem *set)
{
	const json_t *data = json_object_get(secret, "data");
	const char *v;

	memset(set, 0, sizeof *set);
	if ((v = json_string_value(json_object_get(data, "ca.crt"))) != NULL)
		set->ca_cert = unbase64(v);
	if ((v = json_string_value(json_object_get(data, "ca.key"))) != NULL)
		set->ca_key = unbase64(v);
	if ((v = json_string_value(json_object_get(data, "tls.crt"))) != NULL)
		set->cert = unbase64(v);
	if ((v = json_string_value(json_object_get(data, "tls.key"))) != NULL)
		set->key = unbase64(v);
}

/* The Secret's data object for a set. */
static json_t *
set_to_data(const struct selfsigned_pem *set)
{
	char *a = tobase64(set->ca_cert), *b = tobase64(set->ca_key),
	    *c = tobase64(set->cert), *d = tobase64(set->key);
	json_t *data = json_pack("{s:s, s:s, s:s, s:s}", "ca.crt", a, "ca.key",
	    b, "tls.crt", c, "tls.key", d);

	free(a);
	free(b);
	free(c);
	free(d);
	return data;
}

/* Every webhook configuration was looked at: serve the set, wait for the next pass. */
static void
webhook_ca_done(struct webhook_ca *ca)
{
	ca->stats.syncs++;
	ca->conflicts = 0;
	ca->served = true;
	ca->cb(&ca->set, ca->arg);
	webhook_ca_schedule(ca, ca->resync_ms);
}

static void webhook_ca_bundle(struct webhook_ca *ca);

/* A caBundle patch answered. */
static void
webhook_ca_patched_cb(json_t *obj, const struct kube_error *err, void *arg)
{
	struct webhook_ca *ca = arg;

	ca->req = NULL;
	if (err != NULL) {
		char *e = kube_error_string(err);

		ca->stats.errors++;
		log_error("webhook", "caBundle patch failed", LS("resource",
		    ca_kinds[ca->step]), LS("name", ca->cfgname), LS("error", e));
		free(e);
	} else {
		ca->stats.bundle_patches++;
		log_info("webhook", "caBundle updated", LS("resource",
		    ca_kinds[ca->step]), LS("name", ca->cfgname));
	}
	ca->step++;
	webhook_ca_bundle(ca);
}

/* A webhook configuration read: patch every caBundle that differs. */
static void
webhook_ca_config_cb(json_t *obj, const struct kube_error *err, void *arg)
{
	struct webhook_ca *ca = arg;
	char *bundle, *path, *e;
	const json_t *wh;
	json_t *patch;
	size_t i;

	ca->req = NULL;
	if (err != NULL) {
		e = kube_error_string(err);
		if (kube_error_is(err, 404))
			log_warn("webhook", "webhook configuration not found; "
			    "its caBundle is set once it exists", LS("resource",
			    ca_kinds[ca->step]), LS("name", ca->cfgname));
		else {
			ca->stats.errors++;
			log_error("webhook", "cannot read webhook configuration",
			    LS("resource", ca_kinds[ca->step]), LS("name",
			    ca->cfgname), LS("error", e));
		}
		free(e);
		ca->step++;
		webhook_ca_bundle(ca);
		return;
	}
	bundle = tobase64(ca->set.ca_cert);
	patch = json_array();
	json_array_foreach(json_object_get(obj, "webhooks"), i, wh) {
		const json_t *cc = json_object_get(wh, "clientConfig");
		const char *cur = json_string_value(json_object_get(cc, "caBundle"));
		const char *name = json_string_value(json_object_get(wh, "name"));
		char *p;

		if (!json_is_object(cc) || name == NULL ||
		    (cur != NULL && strcmp(cur, bundle) == 0))
			continue;
		p = xasprintf("/webhooks/%zu/name", i);
		json_array_append_new(patch, json_pack("{s:s, s:s, s:s}", "op",
		    "test", "path", p, "value", name));
		free(p);
		p = xasprintf("/webhooks/%zu/clientConfig/caBundle", i);
		json_array_append_new(patch, json_pack("{s:s, s:s, s:s}", "op",
		    "add", "path", p, "value", bundle));
		free(p);
	}
	free(bundle);
	if (json_array_size(patch) == 0) {
		json_decref(patch);
		ca->step++;
		webhook_ca_bundle(ca);
		return;
	}
	path = xasprintf("/apis/admissionregistration.k8s.io/v1/%s/%s",
	    ca_kinds[ca->step], ca->cfgname);
	ca->req = kube_patch(ca->k, path, KUBE_PATCH_JSON, patch,
	    webhook_ca_opts(), webhook_ca_patched_cb, ca);
	free(path);
	json_decref(patch);
}

/* Look at the next webhook configuration, or finish the pass. */
static void
webhook_ca_bundle(struct webhook_ca *ca)
{
	char *path;

	if (ca->step >= sizeof ca_kinds / sizeof ca_kinds[0]) {
		webhook_ca_done(ca);
		return;
	}
	path = xasprintf("/apis/admissionregistration.k8s.io/v1/%s/%s",
	    ca_kinds[ca->step], ca->cfgname);
	ca->req = kube_get(ca->k, path, webhook_ca_opts(), webhook_ca_config_cb, ca);
	free(path);
}

/* The Secret was written (or the write lost a race). */
static void
webhook_ca_written_cb(json_t *obj, const struct kube_error *err, void *arg)
{
	struct webhook_ca *ca = arg;
	char *e;

	ca->req = NULL;
	if (err != NULL) {
		e = kube_error_string(err);
		if (kube_error_is(err, 409) && ++ca->conflicts < CA_MAX_CONFLICTS) {
			ca->stats.conflicts++;
			log_info("webhook", "another replica wrote the Secret first; "
			    "reading it", LS("secret", ca->secret), LS("error", e));
			free(e);
			webhook_ca_sync(ca);
			return;
		}
		log_error("webhook", "cannot write the certificate Secret",
		    LS("secret", ca->secret), LS("error", e));
		free(e);
		webhook_ca_failed(ca);
		return;
	}
	ca->stats.secret_writes++;
	log_info("webhook", "certificate Secret written", LS("namespace", ca->ns),
	    LS("secret", ca->secret));
	ca->step = 0;
	webhook_ca_bundle(ca);
}

/* The Secret was read (or is missing): use it, or renew and write it. */
static void
webhook_ca_secret_cb(json_t *obj, const struct kube_error *err, void *arg)
{
	struct webhook_ca *ca = arg;
	struct selfsigned_pem old;
	enum selfsigned_state st;
	char *reason = NULL, *cause = NULL, *path;
	int64_t now = (int64_t)time(NULL);
	json_t *secret;
	int r;

	ca->req = NULL;
	if (err != NULL && !kube_error_is(err, 404)) {
		char *e = kube_error_string(err);

		log_error("webhook", "cannot read the certificate Secret",
		    LS("secret", ca->secret), LS("error", e));
		free(e);
		webhook_ca_failed(ca);
		return;
	}
	if (err != NULL)
		memset(&old, 0, sizeof old);
	else
		secret_to_set(obj, &old);
	st = selfsigned_check(&old, (const char *const *)ca->names, ca->nnames,
	    now, &reason);
	selfsigned_clear(&ca->set);
	if (st == SELFSIGNED_OK) {
		ca->set = old;
		free(reason);
		ca->step = 0;
		webhook_ca_bundle(ca);
		return;
	}
	log_info("webhook", st == SELFSIGNED_RENEW_LEAF ? "renewing the serving "
	    "certificate" : "making a new CA and serving certificate",
	    LS("secret", ca->secret), LS("reason", err != NULL ?
	    "the Secret does not exist" : reason));
	free(reason);
	if (st == SELFSIGNED_RENEW_LEAF) {
		ca->set = old;
		r = selfsigned_renew_leaf(&ca->set, (const char *const *)ca->names,
		    ca->nnames, now, ca->leaf_days, &cause);
	} else {
		r = selfsigned_create((const char *const *)ca->names, ca->nnames,
		    now, ca->ca_days, ca->leaf_days, &old, &ca->set, &cause);
		selfsigned_clear(&old);
	}
	if (r != 0) {
		log_error("webhook", "cannot make certificates", LS("error", cause));
		free(cause);
		webhook_ca_failed(ca);
		return;
	}
	if (err == NULL) {
		secret = json_deep_copy(obj);
		json_object_set_new(secret, "data", set_to_data(&ca->set));
		path = xasprintf("/api/v1/namespaces/%s/secrets/%s", ca->ns,
		    ca->secret);
		ca->req = kube_put(ca->k, path, secret, webhook_ca_opts(),
		    webhook_ca_written_cb, ca);
	} else {
		secret = json_pack("{s:s, s:s, s:{s:s, s:s, s:{s:s, s:s}}, s:s, s:o}",
		    "apiVersion", "v1", "kind", "Secret", "metadata", "name",
		    ca->secret, "namespace", ca->ns, "labels",
		    "app.kubernetes.io/name", "twa", "app.kubernetes.io/component",
		    "webhook", "type", "kubernetes.io/tls", "data",
		    set_to_data(&ca->set));
		path = xasprintf("/api/v1/namespaces/%s/secrets", ca->ns);
		ca->req = kube_create(ca->k, path, secret, webhook_ca_opts(),
		    webhook_ca_written_cb, ca);
	}
	free(path);
	json_decref(secret);
}

/* Start a pass: read the Secret. */
static void
webhook_ca_sync(struct webhook_ca *ca)
{
	char *path = xasprintf("/api/v1/namespaces/%s/secrets/%s", ca->ns,
	    ca->secret);

	ca->req = kube_get(ca->k, path, webhook_ca_opts(), webhook_ca_secret_cb, ca);
	free(path);
}

/* Start keeping certificates. */
struct webhook_ca *
webhook_ca_new(struct kube *k, const struct webhook_ca_config *cfg,
    webhook_ca_serve_cb cb, void *arg)
{
	struct webhook_ca *ca = xcalloc(1, sizeof *ca);

	ca->k = k;
	ca->ns = xstrdup(cfg->namespace);
	ca->secret = xstrdup(cfg->secret);
	ca->cfgname = xstrdup(cfg->webhook_config);
	ca->names = xcalloc(cfg->nnames, sizeof *ca->names);
	for (size_t i = 0; i < cfg->nnames; i++)
		ca->names[i] = xstrdup(cfg->names[i]);
	ca->nnames = cfg->nnames;
	ca->resync_ms = cfg->resync_ms;
	ca->ca_days = cfg->ca_days > 0 ? cfg->ca_days : SELFSIGNED_CA_DAYS;
	ca->leaf_days = cfg->leaf_days > 0 ? cfg->leaf_days : SELFSIGNED_LEAF_DAYS;
	ca->cb = cb;
	ca->arg = arg;
	ca->timer = evtimer_new(kube_base(k), webhook_ca_timer_cb, ca);
	if (ca->timer == NULL)
		abort();
	webhook_ca_schedule(ca, 0);
	return ca;
}

/* Stop and free. */
void
webhook_ca_free(struct webhook_ca *ca)
{
	if (ca == NULL)
		return;
	if (ca->req != NULL)
		kube_cancel(ca->req);
	event_free(ca->timer);
	selfsigned_clear(&ca->set);
	for (size_t i = 0; i < ca->nnames; i++)
		free(ca->names[i]);
	free(ca->names);
	free(ca->ns);
	free(ca->secret);
	free(ca->cfgname);
	free(ca);
}

/* Counters. */
void
webhook_ca_stats(const struct webhook_ca *ca, struct webhook_ca_stats *out)
{
	*out = ca->stats;
}
