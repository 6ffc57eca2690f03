/* agentconf: the agent's live configuration from its downward-API files. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agentconf.h"
#include "downward.h"
#include "log.h"
#include "parse.h"
#include "timefmt.h"
#include "xalloc.h"

/* One watched file: its identity when last read and its content. */
struct acf_file {
	char		*path;
	bool		 have_stat, present, ever_read;
	dev_t		 dev;
	ino_t		 ino;
	off_t		 size;
	struct timespec	 mtime;
	char		*content;	/* last content read, NULL: none */
	size_t		 len;
	char		*bad;		/* last parse error logged */
	struct downward	 kv;		/* last content that parsed */
};

/* A key whose value is invalid, and the message that was reported. */
struct acf_warned {
	char	*key;
	char	*message;
};

struct agentconf {
	struct acf_file		 ann, lab;
	struct settings		 cur;
	agentconf_warn_cb	 warn;
	void			*arg;
	struct acf_warned	*warned;
	size_t			 nwarned;
	const char		**invalid;	/* keys of warned, for callers */
	char			*last_error;
	int64_t			 last_error_us;
	uint64_t		 reloads, errors;
};

/* Remember the last problem (msg is taken). */
static void
acf_error(struct agentconf *c, char *msg)
{
	free(c->last_error);
	c->last_error = msg;
	c->last_error_us = timefmt_now_us();
}

/* Make the configuration. */
struct agentconf *
agentconf_new(const char *annotations_path, const char *labels_path,
    agentconf_warn_cb warn, void *arg)
{
	struct agentconf *c = xcalloc(1, sizeof *c);

	c->ann.path = xstrdup(annotations_path);
	c->lab.path = labels_path != NULL ? xstrdup(labels_path) : NULL;
	c->warn = warn;
	c->arg = arg;
	settings_defaults(&c->cur);
	return c;
}

/* Free one watched file's state. */
static void
acf_file_clear(struct acf_file *f)
{
	free(f->path);
	free(f->content);
	free(f->bad);
	downward_clear(&f->kv);
}

/* Free the configuration. */
void
agentconf_free(struct agentconf *c)
{
	if (c == NULL)
		return;
	acf_file_clear(&c->ann);
	acf_file_clear(&c->lab);
	settings_clear(&c->cur);
	for (size_t i = 0; i < c->nwarned; i++) {
		free(c->warned[i].key);
		free(c->warned[i].message);
	}
	free(c->warned);
	free(c->invalid);
	free(c->last_error);
	free(c);
}

/*
 * Read f if it changed (or force). Returns 1 with new content in
 * f->content, 0 when nothing changed, -1 when it cannot be read (logged
 * once per kind of problem).
 */
static int
acf_file_read(struct agentconf *c, struct acf_file *f, bool force,
    const char *what)
{
	struct stat st;
	char *buf = NULL, *m;
	size_t len = 0, cap = 0;
	ssize_t r;
	int fd;

	if (stat(f->path, &st) != 0) {
		if (f->present || !f->have_stat) {
			m = xasprintf("cannot read the %s file %s: %s", what,
			    f->path, strerror(errno));
			log_warn("config", f->ever_read ? "file disappeared; "
			    "keeping the settings in force" : "file missing; "
			    "using the defaults until it appears",
			    LS("file", f->path), LS("error", strerror(errno)));
			acf_error(c, m);
		}
		f->have_stat = true;
		f->present = false;
		return -1;
	}
	if (!force && f->have_stat && f->present && st.st_dev == f->dev &&
	    st.st_ino == f->ino && st.st_size == f->size &&
	    st.st_mtim.tv_sec == f->mtime.tv_sec &&
	    st.st_mtim.tv_nsec == f->mtime.tv_nsec)
		return 0;
	fd = open(f->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		goto fail;
	for (;;) {
		if (len == cap) {
			if (cap > DOWNWARD_MAX_BYTES) {
				errno = EFBIG;
				close(fd);
				goto fail;
			}
			cap = cap == 0 ? 4096 : cap * 2;
			buf = xrealloc(buf, cap + 1);
		}
		r = read(fd, buf + len, cap - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			close(fd);
			goto fail;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	f->have_stat = f->present = true;
	f->dev = st.st_dev;
	f->ino = st.st_ino;
	f->size = st.st_size;
	f->mtime = st.st_mtim;
	if (f->content != NULL && f->len == len &&
	    memcmp(f->content, buf, len) == 0 && !force) {
		free(buf);
		return 0;
	}
	free(f->content);
	f->content = buf != NULL ? buf : xstrdup("");
	f->len = len;
	f->ever_read = true;
	return 1;
fail:
	m = xasprintf("cannot read the %s file %s: %s", what, f->path,
	    strerror(errno));
	log_warn("config", "cannot read file", LS("file", f->path),
	    LS("error", strerror(errno)));
	acf_error(c, m);
	free(buf);
	f->have_stat = true;
	f->present = false;
	return -1;
}

/* Parse f's content into f->kv; on error keep the old pairs. */
static int
acf_file_parse(struct agentconf *c, struct acf_file *f, const char *what)
{
	struct downward kv;
	char *cause = NULL;

	if (downward_parse(f->content, f->len, &kv, &cause) != 0) {
		if (f->bad == NULL || strcmp(f->bad, cause) != 0) {
			log_error("config", "cannot parse file; keeping the "
			    "settings in force", LS("file", f->path),
			    LS("error", cause));
			free(f->bad);
			f->bad = xstrdup(cause);
		}
		acf_error(c, xasprintf("%s file %s: %s", what, f->path, cause));
		free(cause);
		return -1;
	}
	free(f->bad);
	f->bad = NULL;
	downward_clear(&f->kv);
	f->kv = kv;
	return 0;
}

/* The warned entry of key, or NULL. */
static struct acf_warned *
acf_warned_find(struct agentconf *c, const char *key)
{
	for (size_t i = 0; i < c->nwarned; i++)
		if (strcmp(c->warned[i].key, key) == 0)
			return &c->warned[i];
	return NULL;
}

/* Rebuild the list of invalid keys. */
static void
acf_invalid_rebuild(struct agentconf *c)
{
	free(c->invalid);
	c->invalid = xcalloc(c->nwarned + 1, sizeof *c->invalid);
	for (size_t i = 0; i < c->nwarned; i++)
		c->invalid[i] = c->warned[i].key;
}

/* Whether errs holds an error about key. */
static bool
acf_errs_have(const struct settings_errors *errs, const char *key)
{
	for (size_t i = 0; i < errs->n; i++)
		if (errs->v[i].key != NULL && strcmp(errs->v[i].key, key) == 0)
			return true;
	return false;
}

/* Whether two strings are equal, NULL equal only to NULL. */
static bool
acf_str_eq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

/* Report new invalid values, forget fixed ones, log what applies. */
static void
acf_report(struct agentconf *c, const struct downward *old,
    const struct downward *nw, const struct settings_errors *errs)
{
	size_t plen = strlen(SETTINGS_PREFIX), i, j, nfixed = 0;
	char **fixed;

	for (i = 0; i < errs->n; i++) {
		const struct settings_error *e = &errs->v[i];
		const char *key = e->key != NULL ? e->key : "";
		struct acf_warned *w = acf_warned_find(c, key);

		if (w != NULL && strcmp(w->message, e->message) == 0) {
			log_debug("config", "annotation still invalid",
			    LS("annotation", key), LS("error", e->message));
			continue;
		}
		log_error("config", "invalid annotation; keeping the last "
		    "good value", LS("annotation", key),
		    LS("value", e->value != NULL ? e->value : ""),
		    LS("error", e->message));
		acf_error(c, xstrdup(e->message));
		c->errors++;
		if (w == NULL) {
			c->warned = xreallocarray(c->warned, c->nwarned + 1,
			    sizeof *c->warned);
			w = &c->warned[c->nwarned++];
			w->key = xstrdup(key);
			w->message = NULL;
		}
		free(w->message);
		w->message = xstrdup(e->message);
		if (c->warn != NULL)
			c->warn(key, e->value, e->message, c->arg);
	}
	/* keys that were invalid and are not any more */
	fixed = xcalloc(c->nwarned + 1, sizeof *fixed);
	for (i = j = 0; i < c->nwarned; i++) {
		struct acf_warned *w = &c->warned[i];
		const char *v;

		if (acf_errs_have(errs, w->key)) {
			c->warned[j++] = *w;
			continue;
		}
		v = downward_get(nw, w->key);
		log_info("config", "annotation fixed; it applies now",
		    LS("annotation", w->key),
		    LS("value", v != NULL ? v : "(removed: default)"));
		fixed[nfixed++] = w->key;
		free(w->message);
	}
	c->nwarned = j;
	acf_invalid_rebuild(c);
	/* every other changed twa.dev/ annotation */
	for (int pass = 0; pass < 2; pass++) {
		const struct downward *d = pass == 0 ? nw : old;

		for (i = 0; i < d->n; i++) {
			const char *key = d->v[i].key;
			const char *ov = downward_get(old, key);
			const char *nv = downward_get(nw, key);

			bool was_fixed = false;

			for (j = 0; j < nfixed; j++)
				if (strcmp(fixed[j], key) == 0)
					was_fixed = true;
			if (strncmp(key, SETTINGS_PREFIX, plen) != 0 ||
			    acf_str_eq(ov, nv) || (pass == 1 && nv != NULL) ||
			    acf_errs_have(errs, key) || was_fixed)
				continue;
			log_info("config", "annotation applies",
			    LS("annotation", key),
			    LS("value", nv != NULL ? nv : "(removed: default)"));
		}
	}
	for (j = 0; j < nfixed; j++)
		free(fixed[j]);
	free(fixed);
}

/* Re-read and apply the files. */
enum agentconf_change
agentconf_reload(struct agentconf *c, bool force, struct settings *prev)
{
	struct downward old;
	struct settings next;
	struct settings_errors errs;
	struct settings_kv *kv;
	enum agentconf_change ch = AGENTCONF_SAME;
	int r;

	if (c->lab.path != NULL && acf_file_read(c, &c->lab, force,
	    "labels") == 1) {
		const char *before = downward_get(&c->lab.kv,
		    SETTINGS_LABEL_DEPLOYMENT);
		char *was = before != NULL ? xstrdup(before) : NULL;

		if (acf_file_parse(c, &c->lab, "labels") == 0 && was != NULL &&
		    !acf_str_eq(was, downward_get(&c->lab.kv,
		    SETTINGS_LABEL_DEPLOYMENT)))
			log_warn("config", "label changed; it applies on "
			    "restart", LS("label", SETTINGS_LABEL_DEPLOYMENT),
			    LS("value", agentconf_label(c,
			    SETTINGS_LABEL_DEPLOYMENT)));
		free(was);
	}
	r = acf_file_read(c, &c->ann, force, "annotations");
	if (r != 1)
		return AGENTCONF_SAME;
	c->reloads++;
	old = c->ann.kv;
	memset(&c->ann.kv, 0, sizeof c->ann.kv);
	if (acf_file_parse(c, &c->ann, "annotations") != 0) {
		c->ann.kv = old;
		return AGENTCONF_SAME;
	}
	kv = xcalloc(c->ann.kv.n + 1, sizeof *kv);
	for (size_t i = 0; i < c->ann.kv.n; i++) {
		kv[i].key = c->ann.kv.v[i].key;
		kv[i].value = c->ann.kv.v[i].value;
	}
	settings_parse(&c->cur, kv, c->ann.kv.n, &next, &errs);
	free(kv);
	acf_report(c, &old, &c->ann.kv, &errs);
	settings_errors_free(&errs);
	downward_clear(&old);
	if (!settings_equal(&c->cur, &next)) {
		if (prev != NULL)
			*prev = c->cur;
		else
			settings_clear(&c->cur);
		c->cur = next;
		ch = AGENTCONF_SETTINGS;
	} else
		settings_clear(&next);
	return ch;
}

/* The settings in force. */
const struct settings *
agentconf_settings(const struct agentconf *c)
{
	return &c->cur;
}

/* A label. */
const char *
agentconf_label(const struct agentconf *c, const char *key)
{
	return downward_get(&c->lab.kv, key);
}

/* Whether labels were read. */
bool
agentconf_have_labels(const struct agentconf *c)
{
	return c->lab.ever_read && c->lab.bad == NULL;
}

/* A raw annotation. */
const char *
agentconf_annotation(const struct agentconf *c, const char *key)
{
	return downward_get(&c->ann.kv, key);
}

/* Invalid keys. */
size_t
agentconf_invalid(const struct agentconf *c, const char *const **keys)
{
	*keys = c->invalid;
	return c->nwarned;
}

/* Last problem. */
const char *
agentconf_last_error(const struct agentconf *c, int64_t *when_us)
{
	if (when_us != NULL)
		*when_us = c->last_error_us;
	return c->last_error;
}

/* Counters. */
uint64_t
agentconf_reloads(const struct agentconf *c)
{
	return c->reloads;
}

uint64_t
agentconf_errors(const struct agentconf *c)
{
	return c->errors;
}

/* A duration as text. */
static json_t *
acf_dur(int64_t ms)
{
	char d[PARSE_DURATION_LEN];

	parse_duration_format(ms, d);
	return json_string(d);
}

/* A secret reference as text, or null. */
static json_t *
acf_secret(const struct settings_secret_ref *r)
{
	if (r->name == NULL)
		return json_null();
	if (r->key == NULL)
		return json_string(r->name);
	{
		char *t = xasprintf("%s:%s", r->name, r->key);
		json_t *j = json_string(t);

		free(t);
		return j;
	}
}

/* A string or null. */
static json_t *
acf_str(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

/* The settings as JSON. */
json_t *
agentconf_settings_json(const struct settings *s)
{
	json_t *o = json_object();
	char *steps = xstrdup(""), *t, *probe;
	char d[PARSE_DURATION_LEN];

	for (size_t i = 0; i < s->nsteps; i++) {
		parse_duration_format(s->steps[i].duration_ms, d);
		t = xasprintf("%s%s%d%%/%s", steps, i > 0 ? "," : "",
		    s->steps[i].percent, d);
		free(steps);
		steps = t;
	}
	switch (s->worker_probe.kind) {
	case SETTINGS_PROBE_HTTP:
		probe = xasprintf("http://%s%s%s:%d%s",
		    s->worker_probe.host != NULL &&
		    strchr(s->worker_probe.host, ':') ? "[" : "",
		    s->worker_probe.host != NULL ? s->worker_probe.host : "",
		    s->worker_probe.host != NULL &&
		    strchr(s->worker_probe.host, ':') ? "]" : "",
		    s->worker_probe.port, s->worker_probe.path != NULL ?
		    s->worker_probe.path : "");
		break;
	case SETTINGS_PROBE_TCP:
		probe = xasprintf("tcp://%s%s%s:%d",
		    s->worker_probe.host != NULL &&
		    strchr(s->worker_probe.host, ':') ? "[" : "",
		    s->worker_probe.host != NULL ? s->worker_probe.host : "",
		    s->worker_probe.host != NULL &&
		    strchr(s->worker_probe.host, ':') ? "]" : "",
		    s->worker_probe.port);
		break;
	default:
		probe = xstrdup("none");
		break;
	}
	json_object_set_new(o, "twa.dev/build-id", acf_str(s->build_id));
	json_object_set_new(o, "twa.dev/temporal-address",
	    acf_str(s->temporal_address));
	json_object_set_new(o, "twa.dev/temporal-namespace",
	    acf_str(s->temporal_namespace));
	json_object_set_new(o, "twa.dev/tls-secret", acf_secret(&s->tls_secret));
	json_object_set_new(o, "twa.dev/tls-server-name",
	    acf_str(s->tls_server_name));
	json_object_set_new(o, "twa.dev/api-key-secret",
	    acf_secret(&s->api_key_secret));
	json_object_set_new(o, "twa.dev/rollout",
	    json_string(settings_rollout_name(s->rollout)));
	json_object_set_new(o, "twa.dev/ramp-steps", json_string(steps));
	json_object_set_new(o, "twa.dev/gate-workflow",
	    acf_str(s->gate_workflow));
	json_object_set_new(o, "twa.dev/gate-input", acf_str(s->gate_input));
	json_object_set_new(o, "twa.dev/gate-timeout",
	    acf_dur(s->gate_timeout_ms));
	t = s->min_ready.is_percent ? xasprintf("%d%%", s->min_ready.value) :
	    xasprintf("%d", s->min_ready.value);
	json_object_set_new(o, "twa.dev/min-ready", json_string(t));
	free(t);
	json_object_set_new(o, "twa.dev/abort-on-unhealthy",
	    json_string(s->abort_on_unhealthy ? "true" : "false"));
	json_object_set_new(o, "twa.dev/scaledown-delay",
	    acf_dur(s->scaledown_delay_ms));
	json_object_set_new(o, "twa.dev/delete-delay",
	    acf_dur(s->delete_delay_ms));
	json_object_set_new(o, "twa.dev/max-versions",
	    json_integer(s->max_versions));
	json_object_set_new(o, "twa.dev/worker-probe", json_string(probe));
	json_object_set_new(o, "twa.dev/report-interval",
	    acf_dur(s->report_interval_ms));
	json_object_set_new(o, "twa.dev/agent-log-level",
	    json_string(log_level_name((enum log_level)s->agent_log_level)));
	json_object_set_new(o, "twa.dev/agent-image", acf_str(s->agent_image));
	json_object_set_new(o, "twa.dev/agent-cpu", acf_str(s->agent_cpu));
	json_object_set_new(o, "twa.dev/agent-memory",
	    acf_str(s->agent_memory));
	free(steps);
	free(probe);
	return o;
}
