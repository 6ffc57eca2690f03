/* settings: every twa label and annotation, declared once in a table. */
#include "config.h"

#include <ctype.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "log.h"
#include "parse.h"
#include "settings.h"
#include "xalloc.h"

#define SEC	1000LL
#define MIN	(60 * SEC)
#define HOUR	(60 * MIN)
#define DAY	(24 * HOUR)

/* Longest gate input accepted (JSON text). */
#define GATE_INPUT_MAX (64 * 1024)

struct setting_def;
typedef int (*setting_parse_fn)(const struct setting_def *, const char *,
    struct settings *, char **);

/* One annotation: its name, how to read it, its default and its help. */
struct setting_def {
	const char		*name;
	const char		*type;		/* short type for the reference */
	const char		*def;		/* default as text; NULL: unset */
	const char		*def_doc;	/* default as shown when not text */
	const char		*expect;	/* what a valid value looks like */
	const char		*help;
	setting_parse_fn	 parse;
	size_t			 off;
	int64_t			 min, max;
};

/* The field of s at the table entry's offset. */
#define FIELD(s, d, type) ((type *)(void *)((char *)(s) + (d)->off))

/* Replace an owned string field. */
static void
set_str(char **field, const char *value)
{
	free(*field);
	*field = value != NULL ? xstrdup(value) : NULL;
}

/* Whether s is all printable ASCII without spaces. */
static bool
is_token(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= ' ' || (unsigned char)*s >= 0x7f)
			return false;
	return true;
}

/* Whether s is a DNS-1123 label: [a-z0-9]([-a-z0-9]*[a-z0-9])?, at most max. */
static bool
is_dns_label(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!(islower((unsigned char)c) || isdigit((unsigned char)c) ||
		    (c == '-' && i != 0 && i != n - 1)))
			return false;
	}
	return true;
}

/* Whether s is a DNS-1123 subdomain: dot-separated labels, at most 253. */
static bool
is_dns_subdomain(const char *s)
{
	char *copy, *p, *label, *save = NULL;
	bool ok = true;

	if (*s == '\0' || strlen(s) > 253 || s[strlen(s) - 1] == '.' ||
	    *s == '.' || strstr(s, "..") != NULL)
		return false;
	copy = xstrdup(s);
	for (p = copy; (label = strtok_r(p, ".", &save)) != NULL; p = NULL)
		if (!is_dns_label(label, 63))
			ok = false;
	free(copy);
	return ok;
}

/* Plain string with no whitespace or control characters, length in [min,max]. */
static int
parse_token(const struct setting_def *d, const char *v, struct settings *s,
    char **why)
{
	size_t n = strlen(v);

	if (!is_token(v) || (int64_t)n < d->min || (int64_t)n > d->max) {
		*why = xasprintf("%zu characters of text", n);
		return -1;
	}
	set_str(FIELD(s, d, char *), v);
	return 0;
}

/* A build ID: [A-Za-z0-9._-], starting and ending alphanumeric, 1..63. */
static int
parse_build_id(const struct setting_def *d, const char *v, struct settings *s,
    char **why)
{
	size_t n = strlen(v);

	if (n == 0 || n > 63) {
		*why = xasprintf("length %zu", n);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];

		if (!isalnum(c) && c != '.' && c != '_' && c != '-') {
			*why = xasprintf("character %zu is not allowed", i + 1);
			return -1;
		}
	}
	if (!isalnum((unsigned char)v[0]) || !isalnum((unsigned char)v[n - 1])) {
		*why = xstrdup("it must start and end with a letter or digit");
		return -1;
	}
	set_str(FIELD(s, d, char *), v);
	return 0;
}

/* host:port with port 1..65535; IPv6 hosts in brackets. */
static int
parse_host_port(const struct setting_def *d, const char *v, struct settings *s,
    char **why)
{
	const char *colon, *host_end;
	int64_t port;
	char *inner = NULL;

	if (!is_token(v) || strlen(v) > 260) {
		*why = xstrdup("not a host:port");
		return -1;
	}
	if (v[0] == '[') {
		host_end = strchr(v, ']');
		if (host_end == NULL || host_end == v + 1 || host_end[1] != ':') {
			*why = xstrdup("bracketed IPv6 host without ]:port");
			return -1;
		}
		colon = host_end + 1;
	} else {
		colon = strrchr(v, ':');
		if (colon == NULL || colon == v || memchr(v, ':', (size_t)(colon - v))) {
			*why = xstrdup(colon == NULL ? "the port is missing" :
			    "the host is empty or an unbracketed IPv6 address");
			return -1;
		}
	}
	if (parse_int(colon + 1, 1, 65535, &port, &inner) != 0) {
		*why = xasprintf("port %s", inner);
		free(inner);
		return -1;
	}
	set_str(FIELD(s, d, char *), v);
	return 0;
}

/* A Temporal namespace: letters, digits, '.', '_', '-', starting alphanumeric. */
static int
parse_namespace(const struct setting_def *d, const char *v, struct settings *s,
    char **why)
{
	size_t n = strlen(v);

	if (n < 1 || n > 255 || !isalnum((unsigned char)v[0])) {
		*why = xstrdup("it must be 1-255 characters starting with a letter or digit");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];

		if (!isalnum(c) && c != '.' && c != '_' && c != '-') {
			*why = xasprintf("character %zu is not allowed", i + 1);
			return -1;
		}
	}
	set_str(FIELD(s, d, char *), v);
	return 0;
}

/* A DNS name (TLS server name). */
static int
parse_dns_name(const struct setting_def *d, const char *v, struct settings *s,
    char **why)
{
	char *lower = xstrdup(v);

	for (char *p = lower; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	if (!is_dns_subdomain(lower)) {
		free(lower);
		*why = xstrdup("not a DNS name");
		return -1;
	}
	free(lower);
	set_str(FIELD(s, d, char *), v);
	return 0;
}

/* A Secret reference "name" or "name:key". */
static int
parse_secret_ref(const struct setting_def *d, const char *v,
    struct settings *s, char **why)
{
	struct settings_secret_ref *ref = FIELD(s, d, struct settings_secret_ref);
	const char *colon = strchr(v, ':');
	char *name = colon != NULL ? xstrndup(v, (size_t)(colon - v)) : xstrdup(v);
	const char *key = colon != NULL ? colon + 1 : NULL;

	if (!is_dns_subdomain(name)) {
		char *q = parse_quote(name);

		*why = xasprintf("Secret name %s is not a DNS subdomain", q);
		free(q);
		free(name);
		return -1;
	}
	if (key != NULL) {
		size_t n = strlen(key);
		bool ok = n > 0 && n <= 253;

		for (size_t i = 0; ok && i < n; i++)
			ok = isalnum((unsigned char)key[i]) || key[i] == '-' ||
			    key[i] == '_' || key[i] == '.';
		if (!ok) {
			char *q = parse_quote(key);

			*why = xasprintf("Secret key %s is not a valid key", q);
			free(q);
			free(name);
			return -1;
		}
	}
	free(ref->name);
	free(ref->key);
	ref->name = name;
	ref->key = key != NULL ? xstrdup(key) : NULL;
	return 0;
}

/* Rollout strategy. */
static int
parse_rollout(const struct setting_def *d, const char *v, struct settings *s,
    char **why)
{
	static const char *const names[] = { "Manual", "AllAtOnce", "Progressive" };

	for (size_t i = 0; i < 3; i++) {
		if (strcmp(v, names[i]) == 0) {
			*FIELD(s, d, enum settings_rollout) = (enum settings_rollout)i;
			return 0;
		}
	}
	*why = xstrdup("unknown strategy (names are case-sensitive)");
	return -1;
}

/* Progressive steps "<pct>%/<duration>,...", pct strictly rising in 1..99. */
static int
parse_steps(const struct setting_def *d, const char *v, struct settings *s,
    char **why)
{
	struct settings_ramp_step steps[SETTINGS_MAX_STEPS];
	char *copy = xstrdup(v), *p = copy, *item, *save = NULL, *inner = NULL;
	size_t n = 0;

	(void)d;
	if (*v == '\0' || v[strlen(v) - 1] == ',' || *v == ',' ||
	    strstr(v, ",,") != NULL) {
		*why = xstrdup("a step is empty");
		goto fail;
	}
	for (; (item = strtok_r(p, ",", &save)) != NULL; p = NULL) {
		char *slash = strchr(item, '/');

		if (n == SETTINGS_MAX_STEPS) {
			*why = xasprintf("more than %d steps", SETTINGS_MAX_STEPS);
			goto fail;
		}
		if (slash == NULL) {
			char *q = parse_quote(item);

			*why = xasprintf("step %zu %s has no /<duration>", n + 1, q);
			free(q);
			goto fail;
		}
		*slash = '\0';
		if (parse_percent(item, 1, 99, &steps[n].percent, &inner) != 0 ||
		    parse_duration(slash + 1, SEC, 30 * DAY,
		    &steps[n].duration_ms, &inner) != 0) {
			*why = xasprintf("step %zu: %s", n + 1, inner);
			goto fail;
		}
		if (n > 0 && steps[n].percent <= steps[n - 1].percent) {
			*why = xasprintf("step %zu: %d%% is not above %d%%", n + 1,
			    steps[n].percent, steps[n - 1].percent);
			goto fail;
		}
		n++;
	}
	memcpy(s->steps, steps, n * sizeof steps[0]);
	s->nsteps = n;
	free(copy);
	return 0;
fail:
	free(inner);
	free(copy);
	return -1;
}

/* Whether s is valid UTF-8 (no overlongs, no surrogates, at most U+10FFFF). */
static bool
is_utf8(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p != '\0') {
		unsigned cp, n;

		if (*p < 0x80) {
			p++;
			continue;
		}
		if ((*p & 0xe0) == 0xc0) {
			cp = *p & 0x1f;
			n = 1;
		} else if ((*p & 0xf0) == 0xe0) {
			cp = *p & 0x0f;
			n = 2;
		} else if ((*p & 0xf8) == 0xf0) {
			cp = *p & 0x07;
			n = 3;
		} else
			return false;
		for (unsigned i = 1; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (p[i] & 0x3f);
		}
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) ||
		    (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		p += n + 1;
	}
	return true;
}

/* Workflow type name: 1..1000 characters, no control characters. */
static int
parse_workflow_type(const struct setting_def *d, const char *v,
    struct settings *s, char **why)
{
	size_t n = strlen(v);

	if (n == 0 || (int64_t)n > d->max) {
		*why = xasprintf("length %zu", n);
		return -1;
	}
	if (!is_utf8(v)) {
		*why = xstrdup("it is not valid UTF-8");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if ((unsigned char)v[i] < ' ' || v[i] == 0x7f) {
			*why = xasprintf("character %zu is a control character", i + 1);
			return -1;
		}
	}
	set_str(FIELD(s, d, char *), v);
	return 0;
}

/* JSON text, at most GATE_INPUT_MAX bytes; stored compact. */
static int
parse_json(const struct setting_def *d, const char *v, struct settings *s,
    char **why)
{
	json_error_t err;
	json_t *j;
	char *compact;

	if (strlen(v) > GATE_INPUT_MAX) {
		*why = xasprintf("%zu bytes is more than %d", strlen(v), GATE_INPUT_MAX);
		return -1;
	}
	j = json_loads(v, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &err);
	if (j == NULL) {
		*why = xasprintf("invalid JSON at character %d: %s", err.position,
		    err.text);
		return -1;
	}
	compact = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
	json_decref(j);
	if (compact == NULL)
		abort();
	free(*FIELD(s, d, char *));
	*FIELD(s, d, char *) = compact;
	return 0;
}

/* Duration within the entry's bounds. */
static int
parse_dur(const struct setting_def *d, const char *v, struct settings *s,
    char **why)
{
	return parse_duration(v, d->min, d->max, FIELD(s, d, int64_t), why);
}

/* Whole number within the entry's bounds. */
static int
parse_count(const struct setting_def *d, const char *v, struct settings *s,
    char **why)
{
	int64_t n;

	if (parse_int(v, d->min, d->max, &n, why) != 0)
		return -1;
	*FIELD(s, d, int) = (int)n;
	return 0;
}

/* "true" or "false". */
static int
parse_bool_value(const struct setting_def *d, const char *v,
    struct settings *s, char **why)
{
	if (strcmp(v, "true") == 0 || strcmp(v, "false") == 0) {
		*FIELD(s, d, bool) = v[0] == 't';
		return 0;
	}
	*why = xstrdup("not a boolean");
	return -1;
}

/* "<n>%" in 1..100 or a count in 1..10000. */
static int
parse_min_ready(const struct setting_def *d, const char *v,
    struct settings *s, char **why)
{
	struct settings_min_ready *mr = FIELD(s, d, struct settings_min_ready);
	size_t n = strlen(v);

	if (n > 0 && v[n - 1] == '%') {
		int pct;

		if (parse_percent(v, 1, 100, &pct, why) != 0)
			return -1;
		mr->is_percent = true;
		mr->value = pct;
		return 0;
	}
	{
		int64_t c;

		if (parse_int(v, 1, 10000, &c, why) != 0)
			return -1;
		mr->is_percent = false;
		mr->value = (int)c;
	}
	return 0;
}

/* "none", "http://[host]:port/path" or "tcp://[host]:port". */
static int
parse_probe(const struct setting_def *d, const char *v, struct settings *s,
    char **why)
{
	struct settings_probe *pr = FIELD(s, d, struct settings_probe), np;
	const char *rest, *hp_end, *colon;
	char *host = NULL, *port_text = NULL, *inner = NULL;
	int64_t port;

	memset(&np, 0, sizeof np);
	if (strcmp(v, "none") == 0)
		goto done;
	if (!is_token(v) || strlen(v) > 1024) {
		*why = xstrdup("not a URL");
		return -1;
	}
	if (strncmp(v, "http://", 7) == 0) {
		np.kind = SETTINGS_PROBE_HTTP;
		rest = v + 7;
	} else if (strncmp(v, "tcp://", 6) == 0) {
		np.kind = SETTINGS_PROBE_TCP;
		rest = v + 6;
	} else {
		*why = xstrdup("the scheme is not http:// or tcp://");
		return -1;
	}
	hp_end = strchr(rest, '/');
	if (hp_end == NULL)
		hp_end = rest + strlen(rest);
	if (np.kind == SETTINGS_PROBE_TCP && *hp_end != '\0') {
		*why = xstrdup("a tcp probe takes no path");
		return -1;
	}
	if (*rest == '[') {
		const char *rb = memchr(rest, ']', (size_t)(hp_end - rest));

		if (rb == NULL || rb[1] != ':') {
			*why = xstrdup("bracketed IPv6 host without ]:port");
			return -1;
		}
		host = xstrndup(rest + 1, (size_t)(rb - rest - 1));
		colon = rb + 1;
	} else {
		colon = memchr(rest, ':', (size_t)(hp_end - rest));
		if (colon == NULL) {
			*why = xstrdup("the port is missing");
			return -1;
		}
		if (colon > rest)
			host = xstrndup(rest, (size_t)(colon - rest));
	}
	port_text = xstrndup(colon + 1, (size_t)(hp_end - colon - 1));
	if (parse_int(port_text, 1, 65535, &port, &inner) != 0) {
		*why = xasprintf("port %s", inner);
		free(inner);
		free(host);
		free(port_text);
		return -1;
	}
	free(port_text);
	np.port = (int)port;
	np.host = host;
	if (np.kind == SETTINGS_PROBE_HTTP)
		np.path = xstrdup(*hp_end != '\0' ? hp_end : "/");
done:
	free(pr->host);
	free(pr->path);
	*pr = np;
	return 0;
}

/* Log level name. */
static int
parse_log_level_value(const struct setting_def *d, const char *v,
    struct settings *s, char **why)
{
	enum log_level lvl;

	if (log_level_parse(v, &lvl) != 0) {
		*why = xstrdup("unknown level");
		return -1;
	}
	*FIELD(s, d, int) = (int)lvl;
	return 0;
}

/* A positive Kubernetes quantity: decimal number with an optional suffix. */
static int
parse_quantity(const struct setting_def *d, const char *v, struct settings *s,
    char **why)
{
	static const char *const suffixes[] = { "", "m", "k", "M", "G", "T",
	    "P", "E", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei" };
	const char *p = v;
	bool digits = false, nonzero = false, ok = false;

	if (*p == '+')
		p++;
	for (; isdigit((unsigned char)*p); p++) {
		digits = true;
		nonzero |= *p != '0';
	}
	if (*p == '.')
		for (p++; isdigit((unsigned char)*p); p++) {
			digits = true;
			nonzero |= *p != '0';
		}
	if (digits && strlen(v) <= 64) {
		for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++)
			ok |= strcmp(p, suffixes[i]) == 0;
		if (!ok && (*p == 'e' || *p == 'E')) {
			const char *q = p + 1;

			if (*q == '+' || *q == '-')
				q++;
			ok = isdigit((unsigned char)*q);
			while (isdigit((unsigned char)*q))
				q++;
			ok = ok && *q == '\0';
		}
	}
	if (!ok || !nonzero) {
		*why = xstrdup(ok ? "it must be above zero" : "not a quantity");
		return -1;
	}
	set_str(FIELD(s, d, char *), v);
	return 0;
}

#define OFF(f) offsetof(struct settings, f)

static const struct setting_def defs[] = {
	{ "twa.dev/build-id", "build ID", NULL, "computed",
	  "1-63 characters of [A-Za-z0-9._-], starting and ending with a letter or digit",
	  "Override the version's build ID (default: image tag + hash of the worker container).",
	  parse_build_id, OFF(build_id), 0, 0 },
	{ "twa.dev/temporal-address", "host:port", NULL, "webhook flag",
	  "host:port with port 1..65535 (IPv6 hosts in brackets)",
	  "Address of the Temporal frontend.",
	  parse_host_port, OFF(temporal_address), 0, 0 },
	{ "twa.dev/temporal-namespace", "name", "default", NULL,
	  "a Temporal namespace: 1-255 of [A-Za-z0-9._-], starting with a letter or digit",
	  "Temporal namespace of the workers.",
	  parse_namespace, OFF(temporal_namespace), 0, 0 },
	{ "twa.dev/tls-secret", "secret", NULL, "none",
	  "a Secret name, or name:key",
	  "Secret with the TLS client certificate (tls.crt, tls.key, optional ca.crt).",
	  parse_secret_ref, OFF(tls_secret), 0, 0 },
	{ "twa.dev/tls-server-name", "DNS name", NULL, "none",
	  "a DNS name",
	  "Server name (SNI) to verify the Temporal frontend's certificate against.",
	  parse_dns_name, OFF(tls_server_name), 0, 0 },
	{ "twa.dev/api-key-secret", "secret", NULL, "none",
	  "a Secret name, or name:key (key defaults to api-key)",
	  "Secret holding a Temporal API key.",
	  parse_secret_ref, OFF(api_key_secret), 0, 0 },
	{ "twa.dev/rollout", "strategy", "AllAtOnce", NULL,
	  "Manual, AllAtOnce or Progressive",
	  "How traffic moves to a new version.",
	  parse_rollout, OFF(rollout), 0, 0 },
	{ "twa.dev/ramp-steps", "steps", "10%/5m,50%/10m", NULL,
	  "<pct>%/<duration>,... with pct strictly rising in 1..99 and each duration 1s..30d",
	  "Progressive ramp steps: percentage of new workflows and how long to hold it.",
	  parse_steps, OFF(steps), 0, 0 },
	{ "twa.dev/gate-workflow", "workflow type", NULL, "none",
	  "a workflow type name of 1-1000 characters without control characters",
	  "Workflow run pinned to the new version before any traffic; success gates the rollout.",
	  parse_workflow_type, OFF(gate_workflow), 1, 1000 },
	{ "twa.dev/gate-input", "JSON", NULL, "none",
	  "a JSON value of at most 65536 bytes",
	  "Input of the gate workflow.",
	  parse_json, OFF(gate_input), 0, 0 },
	{ "twa.dev/gate-timeout", "duration", "10m", NULL,
	  "a duration from 10s to 7d",
	  "How long the gate workflow may run before the rollout is blocked.",
	  parse_dur, OFF(gate_timeout_ms), 10 * SEC, 7 * DAY },
	{ "twa.dev/min-ready", "share or count", "100%", NULL,
	  "a percentage 1%..100% of the version's pods, or a pod count 1..10000",
	  "Healthy pods the new version needs before it gets traffic.",
	  parse_min_ready, OFF(min_ready), 0, 0 },
	{ "twa.dev/abort-on-unhealthy", "bool", "true", NULL,
	  "true or false",
	  "Clear a ramp when the new version stays below min-ready for a report interval.",
	  parse_bool_value, OFF(abort_on_unhealthy), 0, 0 },
	{ "twa.dev/scaledown-delay", "duration", "1h", NULL,
	  "a duration from 0s to 30d",
	  "After a version is Drained, wait this long, then scale its Deployment to 0.",
	  parse_dur, OFF(scaledown_delay_ms), 0, 30 * DAY },
	{ "twa.dev/delete-delay", "duration", "24h", NULL,
	  "a duration from 0s to 90d, not below the scaledown delay",
	  "After a version is Drained, wait this long, then delete its Deployment and Temporal version.",
	  parse_dur, OFF(delete_delay_ms), 0, 90 * DAY },
	{ "twa.dev/max-versions", "count", "20", NULL,
	  "a whole number 2..1000",
	  "Refuse to promote past this many live versions.",
	  parse_count, OFF(max_versions), 2, 1000 },
	{ "twa.dev/worker-probe", "probe", "none", NULL,
	  "none, http://[host]:port[/path] or tcp://[host]:port",
	  "How the agent checks its worker container.",
	  parse_probe, OFF(worker_probe), 0, 0 },
	{ "twa.dev/report-interval", "duration", "15s", NULL,
	  "a duration from 1s to 10m",
	  "Agent heartbeat period on the shared Lease.",
	  parse_dur, OFF(report_interval_ms), SEC, 10 * MIN },
	{ "twa.dev/agent-log-level", "level", "info", NULL,
	  "debug, info, warn or error",
	  "Log level of the agent.",
	  parse_log_level_value, OFF(agent_log_level), 0, 0 },
	{ "twa.dev/agent-image", "image", NULL, "webhook flag",
	  "a container image reference of 1-1024 characters without spaces",
	  "Image of the injected agent container.",
	  parse_token, OFF(agent_image), 1, 1024 },
	{ "twa.dev/agent-cpu", "quantity", NULL, "webhook flag",
	  "a Kubernetes quantity above zero, like 50m or 0.1",
	  "CPU request and limit of the agent container.",
	  parse_quantity, OFF(agent_cpu), 0, 0 },
	{ "twa.dev/agent-memory", "quantity", NULL, "webhook flag",
	  "a Kubernetes quantity above zero, like 32Mi",
	  "Memory request and limit of the agent container.",
	  parse_quantity, OFF(agent_memory), 0, 0 },
};

#define NDEFS (sizeof defs / sizeof defs[0])

/* Reset one field of s to its default. */
static void
settings_reset_one(const struct setting_def *d, struct settings *s)
{
	char *why = NULL;

	if (d->def != NULL) {
		if (d->parse(d, d->def, s, &why) != 0)
			abort();	/* the table's own defaults are valid */
		return;
	}
	if (d->parse == parse_secret_ref) {
		struct settings_secret_ref *r = FIELD(s, d, struct settings_secret_ref);

		free(r->name);
		free(r->key);
		r->name = r->key = NULL;
	} else
		set_str(FIELD(s, d, char *), NULL);
}

/* Fill s with every default. */
void
settings_defaults(struct settings *s)
{
	memset(s, 0, sizeof *s);
	for (size_t i = 0; i < NDEFS; i++)
		settings_reset_one(&defs[i], s);
}

/* Release what s owns. */
void
settings_clear(struct settings *s)
{
	free(s->build_id);
	free(s->temporal_address);
	free(s->temporal_namespace);
	free(s->tls_secret.name);
	free(s->tls_secret.key);
	free(s->tls_server_name);
	free(s->api_key_secret.name);
	free(s->api_key_secret.key);
	free(s->gate_workflow);
	free(s->gate_input);
	free(s->worker_probe.host);
	free(s->worker_probe.path);
	free(s->agent_image);
	free(s->agent_cpu);
	free(s->agent_memory);
	memset(s, 0, sizeof *s);
}

/* Duplicate a possibly NULL string. */
static char *
dup_or_null(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

/* Deep copy. */
void
settings_copy(struct settings *dst, const struct settings *src)
{
	*dst = *src;
	dst->build_id = dup_or_null(src->build_id);
	dst->temporal_address = dup_or_null(src->temporal_address);
	dst->temporal_namespace = dup_or_null(src->temporal_namespace);
	dst->tls_secret.name = dup_or_null(src->tls_secret.name);
	dst->tls_secret.key = dup_or_null(src->tls_secret.key);
	dst->tls_server_name = dup_or_null(src->tls_server_name);
	dst->api_key_secret.name = dup_or_null(src->api_key_secret.name);
	dst->api_key_secret.key = dup_or_null(src->api_key_secret.key);
	dst->gate_workflow = dup_or_null(src->gate_workflow);
	dst->gate_input = dup_or_null(src->gate_input);
	dst->worker_probe.host = dup_or_null(src->worker_probe.host);
	dst->worker_probe.path = dup_or_null(src->worker_probe.path);
	dst->agent_image = dup_or_null(src->agent_image);
	dst->agent_cpu = dup_or_null(src->agent_cpu);
	dst->agent_memory = dup_or_null(src->agent_memory);
}

/* Whether two possibly NULL strings are equal. */
static bool
str_eq(const char *a, const char *b)
{
	return a == NULL || b == NULL ? a == b : strcmp(a, b) == 0;
}

/* Whether two step lists are equal (field by field: structs have padding). */
static bool
steps_equal(const struct settings *a, const struct settings *b)
{
	if (a->nsteps != b->nsteps)
		return false;
	for (size_t i = 0; i < a->nsteps; i++)
		if (a->steps[i].percent != b->steps[i].percent ||
		    a->steps[i].duration_ms != b->steps[i].duration_ms)
			return false;
	return true;
}

/* Whether two settings are equal in every field. */
bool
settings_equal(const struct settings *a, const struct settings *b)
{
	return str_eq(a->build_id, b->build_id) &&
	    str_eq(a->temporal_address, b->temporal_address) &&
	    str_eq(a->temporal_namespace, b->temporal_namespace) &&
	    str_eq(a->tls_secret.name, b->tls_secret.name) &&
	    str_eq(a->tls_secret.key, b->tls_secret.key) &&
	    str_eq(a->tls_server_name, b->tls_server_name) &&
	    str_eq(a->api_key_secret.name, b->api_key_secret.name) &&
	    str_eq(a->api_key_secret.key, b->api_key_secret.key) &&
	    a->rollout == b->rollout && steps_equal(a, b) &&
	    str_eq(a->gate_workflow, b->gate_workflow) &&
	    str_eq(a->gate_input, b->gate_input) &&
	    a->gate_timeout_ms == b->gate_timeout_ms &&
	    a->min_ready.is_percent == b->min_ready.is_percent &&
	    a->min_ready.value == b->min_ready.value &&
	    a->abort_on_unhealthy == b->abort_on_unhealthy &&
	    a->scaledown_delay_ms == b->scaledown_delay_ms &&
	    a->delete_delay_ms == b->delete_delay_ms &&
	    a->max_versions == b->max_versions &&
	    a->worker_probe.kind == b->worker_probe.kind &&
	    str_eq(a->worker_probe.host, b->worker_probe.host) &&
	    a->worker_probe.port == b->worker_probe.port &&
	    str_eq(a->worker_probe.path, b->worker_probe.path) &&
	    a->report_interval_ms == b->report_interval_ms &&
	    a->agent_log_level == b->agent_log_level &&
	    str_eq(a->agent_image, b->agent_image) &&
	    str_eq(a->agent_cpu, b->agent_cpu) &&
	    str_eq(a->agent_memory, b->agent_memory);
}

/* Append one error. */
static void
errors_add(struct settings_errors *errs, const char *key, const char *value,
    char *message)
{
	struct settings_error *e;

	errs->v = xreallocarray(errs->v, errs->n + 1, sizeof *errs->v);
	e = &errs->v[errs->n++];
	e->key = xstrdup(key);
	e->value = dup_or_null(value);
	e->message = message;
}

/* Release an error list. */
void
settings_errors_free(struct settings_errors *errs)
{
	for (size_t i = 0; i < errs->n; i++) {
		free(errs->v[i].key);
		free(errs->v[i].value);
		free(errs->v[i].message);
	}
	free(errs->v);
	errs->v = NULL;
	errs->n = 0;
}

/* Join all messages. Caller frees. */
char *
settings_errors_join(const struct settings_errors *errs)
{
	size_t len = 1;
	char *out;

	for (size_t i = 0; i < errs->n; i++)
		len += strlen(errs->v[i].message) + 2;
	out = xmalloc(len);
	out[0] = '\0';
	for (size_t i = 0; i < errs->n; i++) {
		if (i > 0)
			strcat(out, "; ");
		strcat(out, errs->v[i].message);
	}
	return out;
}

/* Find a table entry by annotation name. */
static const struct setting_def *
settings_find(const char *key)
{
	for (size_t i = 0; i < NDEFS; i++)
		if (strcmp(defs[i].name, key) == 0)
			return &defs[i];
	return NULL;
}

/* Parse the twa.dev/ annotations into out. */
size_t
settings_parse(const struct settings *prev, const struct settings_kv *kv,
    size_t n, struct settings *out, struct settings_errors *errs)
{
	bool seen[NDEFS];
	size_t plen = strlen(SETTINGS_PREFIX);

	memset(errs, 0, sizeof *errs);
	memset(seen, 0, sizeof seen);
	if (prev != NULL)
		settings_copy(out, prev);
	else
		settings_defaults(out);
	for (size_t i = 0; i < n; i++) {
		const struct setting_def *d;
		char *why = NULL, *q;

		if (kv[i].key == NULL || strncmp(kv[i].key, SETTINGS_PREFIX, plen) != 0)
			continue;
		if (kv[i].value == NULL) {
			errors_add(errs, kv[i].key, NULL, xasprintf("annotation %s "
			    "has no value", kv[i].key));
			continue;
		}
		if ((d = settings_find(kv[i].key)) == NULL) {
			q = parse_quote(kv[i].key);
			errors_add(errs, kv[i].key, kv[i].value, xasprintf(
			    "annotation %s is not a twa annotation (see "
			    "`twa annotations` for the list)", q));
			free(q);
			continue;
		}
		if (seen[d - defs]) {
			errors_add(errs, d->name, kv[i].value, xasprintf(
			    "annotation %s is given more than once", d->name));
			continue;
		}
		seen[d - defs] = true;
		if (d->parse(d, kv[i].value, out, &why) != 0) {
			q = parse_quote(kv[i].value);
			errors_add(errs, d->name, kv[i].value, xasprintf(
			    "annotation %s: value %s is invalid (%s); expected %s",
			    d->name, q, why, d->expect));
			free(q);
			free(why);
		}
	}
	for (size_t i = 0; i < NDEFS; i++)
		if (!seen[i])
			settings_reset_one(&defs[i], out);
	if (out->delete_delay_ms < out->scaledown_delay_ms) {
		char a[PARSE_DURATION_LEN], b[PARSE_DURATION_LEN];

		parse_duration_format(out->delete_delay_ms, a);
		parse_duration_format(out->scaledown_delay_ms, b);
		errors_add(errs, "twa.dev/delete-delay", NULL, xasprintf(
		    "annotation twa.dev/delete-delay: %s is below "
		    "twa.dev/scaledown-delay %s; expected a delete delay not "
		    "below the scaledown delay", a, b));
		if (prev != NULL) {
			out->delete_delay_ms = prev->delete_delay_ms;
			out->scaledown_delay_ms = prev->scaledown_delay_ms;
		} else {
			settings_reset_one(settings_find("twa.dev/delete-delay"), out);
			settings_reset_one(settings_find("twa.dev/scaledown-delay"), out);
		}
	}
	if (out->api_key_secret.name != NULL && out->api_key_secret.key == NULL)
		out->api_key_secret.key = xstrdup("api-key");
	return errs->n;
}

/* Validate a twa.dev/deployment label value. */
int
settings_check_deployment_label(const char *value, char **cause)
{
	char *q;

	if (is_dns_label(value, 63))
		return 0;
	q = parse_quote(value);
	*cause = xasprintf("label %s: value %s is invalid; expected a DNS label: "
	    "1-63 lowercase letters, digits or '-', starting and ending with a "
	    "letter or digit", SETTINGS_LABEL_DEPLOYMENT, q);
	free(q);
	return -1;
}

/* Name of a rollout strategy. */
const char *
settings_rollout_name(enum settings_rollout r)
{
	switch (r) {
	case SETTINGS_ROLLOUT_MANUAL:      return "Manual";
	case SETTINGS_ROLLOUT_ALL_AT_ONCE: return "AllAtOnce";
	case SETTINGS_ROLLOUT_PROGRESSIVE: return "Progressive";
	}
	return "unknown";
}

/* Print the reference of every label and annotation. */
void
settings_print_reference(FILE *f)
{
	fprintf(f, "Labels (on the Deployment and its pod template):\n\n");
	fprintf(f, "  %s\n      \"true\" on the pod template: the webhook injects the agent.\n\n",
	    SETTINGS_LABEL_INJECT);
	fprintf(f, "  %s\n      Name of the worker deployment; a DNS label (1-63 of [a-z0-9-]).\n"
	    "      Temporal deployment name: <namespace>/<name>; Lease: twa-<name>.\n\n",
	    SETTINGS_LABEL_DEPLOYMENT);
	fprintf(f, "Annotations (on the pod template):\n\n");
	for (size_t i = 0; i < NDEFS; i++) {
		const struct setting_def *d = &defs[i];

		fprintf(f, "  %s  (%s, default: %s)\n      %s\n      Expected: %s.\n\n",
		    d->name, d->type, d->def != NULL ? d->def : d->def_doc,
		    d->help, d->expect);
	}
}

/* Number of annotations. */
size_t
settings_count(void)
{
	return NDEFS;
}

/* Name of entry i. */
const char *
settings_name(size_t i)
{
	return i < NDEFS ? defs[i].name : NULL;
}

/* Default text of entry i. */
const char *
settings_default_text(size_t i)
{
	return i < NDEFS ? defs[i].def : NULL;
}
