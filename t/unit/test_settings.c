/* Tests of settings: the annotation table, defaults and every kind of error. */
#include "config.h"

#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "log.h"
#include "settings.h"

#define SEC 1000LL
#define MIN (60 * SEC)
#define HOUR (60 * MIN)

/* Every annotation of DESIGN §4, in table order. */
static const char *const design_names[] = {
	"twa.dev/build-id", "twa.dev/temporal-address",
	"twa.dev/temporal-namespace", "twa.dev/tls-secret",
	"twa.dev/tls-server-name", "twa.dev/api-key-secret", "twa.dev/rollout",
	"twa.dev/ramp-steps", "twa.dev/gate-workflow", "twa.dev/gate-input",
	"twa.dev/gate-timeout", "twa.dev/min-ready",
	"twa.dev/abort-on-unhealthy", "twa.dev/scaledown-delay",
	"twa.dev/delete-delay", "twa.dev/max-versions", "twa.dev/worker-probe",
	"twa.dev/report-interval", "twa.dev/agent-log-level",
	"twa.dev/agent-image", "twa.dev/agent-cpu", "twa.dev/agent-memory",
};

START_TEST(test_settings_table_covers_design)
{
	ck_assert_uint_eq(settings_count(), N_CASES(design_names));
	for (size_t i = 0; i < settings_count(); i++)
		ck_assert_str_eq(settings_name(i), design_names[i]);
	ck_assert_ptr_null(settings_name(settings_count()));
}
END_TEST

START_TEST(test_settings_defaults)
{
	struct settings s;

	settings_defaults(&s);
	ck_assert_ptr_null(s.build_id);
	ck_assert_ptr_null(s.temporal_address);
	ck_assert_str_eq(s.temporal_namespace, "default");
	ck_assert_ptr_null(s.tls_secret.name);
	ck_assert_ptr_null(s.tls_server_name);
	ck_assert_ptr_null(s.api_key_secret.name);
	ck_assert_int_eq(s.rollout, SETTINGS_ROLLOUT_ALL_AT_ONCE);
	ck_assert_uint_eq(s.nsteps, 2);
	ck_assert_int_eq(s.steps[0].percent, 10);
	ck_assert_int_eq(s.steps[0].duration_ms, 5 * MIN);
	ck_assert_int_eq(s.steps[1].percent, 50);
	ck_assert_int_eq(s.steps[1].duration_ms, 10 * MIN);
	ck_assert_ptr_null(s.gate_workflow);
	ck_assert_ptr_null(s.gate_input);
	ck_assert_int_eq(s.gate_timeout_ms, 10 * MIN);
	ck_assert(s.min_ready.is_percent);
	ck_assert_int_eq(s.min_ready.value, 100);
	ck_assert(s.abort_on_unhealthy);
	ck_assert_int_eq(s.scaledown_delay_ms, HOUR);
	ck_assert_int_eq(s.delete_delay_ms, 24 * HOUR);
	ck_assert_int_eq(s.max_versions, 20);
	ck_assert_int_eq(s.worker_probe.kind, SETTINGS_PROBE_NONE);
	ck_assert_int_eq(s.report_interval_ms, 15 * SEC);
	ck_assert_int_eq(s.agent_log_level, LOG_LEVEL_INFO);
	ck_assert_ptr_null(s.agent_image);
	ck_assert_ptr_null(s.agent_cpu);
	ck_assert_ptr_null(s.agent_memory);
	settings_clear(&s);
}
END_TEST

START_TEST(test_settings_empty_set_is_defaults)
{
	struct settings a, b;
	struct settings_errors e;
	struct settings_kv other[] = { { "app.kubernetes.io/name", "orders" },
	    { "kubectl.kubernetes.io/restartedAt", "x" } };

	ck_assert_uint_eq(settings_parse(NULL, other, 2, &a, &e), 0);
	settings_defaults(&b);
	ck_assert(settings_equal(&a, &b));
	settings_errors_free(&e);
	settings_clear(&a);
	settings_clear(&b);
}
END_TEST

/* A valid value and how it must read back. */
struct ok_case {
	const char	*key;
	const char	*value;
	void		(*check)(const struct settings *);
};

static void ck_build_id(const struct settings *s) { ck_assert_str_eq(s->build_id, "v2.3.0-hotfix_1"); }
static void ck_addr(const struct settings *s) { ck_assert_str_eq(s->temporal_address, "temporal-frontend.temporal:7233"); }
static void ck_addr6(const struct settings *s) { ck_assert_str_eq(s->temporal_address, "[::1]:7233"); }
static void ck_ns(const struct settings *s) { ck_assert_str_eq(s->temporal_namespace, "orders.prod-1"); }
static void ck_tls(const struct settings *s) { ck_assert_str_eq(s->tls_secret.name, "temporal-mtls"); ck_assert_ptr_null(s->tls_secret.key); }
static void ck_sni(const struct settings *s) { ck_assert_str_eq(s->tls_server_name, "ns.tmprl.cloud"); }
static void ck_apikey(const struct settings *s) { ck_assert_str_eq(s->api_key_secret.name, "temporal-key"); ck_assert_str_eq(s->api_key_secret.key, "token"); }
static void ck_apikey_default(const struct settings *s) { ck_assert_str_eq(s->api_key_secret.key, "api-key"); }
static void ck_manual(const struct settings *s) { ck_assert_int_eq(s->rollout, SETTINGS_ROLLOUT_MANUAL); }
static void ck_prog(const struct settings *s) { ck_assert_int_eq(s->rollout, SETTINGS_ROLLOUT_PROGRESSIVE); }
static void ck_steps(const struct settings *s) {
	ck_assert_uint_eq(s->nsteps, 3);
	ck_assert_int_eq(s->steps[0].percent, 1); ck_assert_int_eq(s->steps[0].duration_ms, 30 * SEC);
	ck_assert_int_eq(s->steps[2].percent, 99); ck_assert_int_eq(s->steps[2].duration_ms, 90 * MIN);
}
static void ck_gate(const struct settings *s) { ck_assert_str_eq(s->gate_workflow, "SmokeTest"); }
static void ck_gate_utf8(const struct settings *s) { ck_assert_str_eq(s->gate_workflow, "Pr\xc3\xbc" "fung \xf0\x9f\x9a\x80"); }
static void ck_input(const struct settings *s) { ck_assert_str_eq(s->gate_input, "{\"a\":[1,2],\"b\":\"x\"}"); }
static void ck_gate_to(const struct settings *s) { ck_assert_int_eq(s->gate_timeout_ms, 30 * SEC); }
static void ck_mr_pct(const struct settings *s) { ck_assert(s->min_ready.is_percent); ck_assert_int_eq(s->min_ready.value, 80); }
static void ck_mr_cnt(const struct settings *s) { ck_assert(!s->min_ready.is_percent); ck_assert_int_eq(s->min_ready.value, 3); }
static void ck_abrt(const struct settings *s) { ck_assert(!s->abort_on_unhealthy); }
static void ck_sd(const struct settings *s) { ck_assert_int_eq(s->scaledown_delay_ms, 0); }
static void ck_dd(const struct settings *s) { ck_assert_int_eq(s->delete_delay_ms, 48 * HOUR); }
static void ck_maxv(const struct settings *s) { ck_assert_int_eq(s->max_versions, 5); }
static void ck_http(const struct settings *s) {
	ck_assert_int_eq(s->worker_probe.kind, SETTINGS_PROBE_HTTP);
	ck_assert_ptr_null(s->worker_probe.host);
	ck_assert_int_eq(s->worker_probe.port, 8080);
	ck_assert_str_eq(s->worker_probe.path, "/healthz");
}
static void ck_http_host(const struct settings *s) {
	ck_assert_str_eq(s->worker_probe.host, "::1");
	ck_assert_str_eq(s->worker_probe.path, "/");
}
static void ck_tcp(const struct settings *s) {
	ck_assert_int_eq(s->worker_probe.kind, SETTINGS_PROBE_TCP);
	ck_assert_int_eq(s->worker_probe.port, 7234);
	ck_assert_ptr_null(s->worker_probe.path);
}
static void ck_ri(const struct settings *s) { ck_assert_int_eq(s->report_interval_ms, 5 * SEC); }
static void ck_ll(const struct settings *s) { ck_assert_int_eq(s->agent_log_level, LOG_LEVEL_DEBUG); }
static void ck_img(const struct settings *s) { ck_assert_str_eq(s->agent_image, "registry.local:5000/twa:0.1.0"); }
static void ck_cpu(const struct settings *s) { ck_assert_str_eq(s->agent_cpu, "50m"); }
static void ck_mem(const struct settings *s) { ck_assert_str_eq(s->agent_memory, "32Mi"); }

static const struct ok_case ok_cases[] = {
	{ "twa.dev/build-id", "v2.3.0-hotfix_1", ck_build_id },
	{ "twa.dev/temporal-address", "temporal-frontend.temporal:7233", ck_addr },
	{ "twa.dev/temporal-address", "[::1]:7233", ck_addr6 },
	{ "twa.dev/temporal-namespace", "orders.prod-1", ck_ns },
	{ "twa.dev/tls-secret", "temporal-mtls", ck_tls },
	{ "twa.dev/tls-server-name", "ns.tmprl.cloud", ck_sni },
	{ "twa.dev/api-key-secret", "temporal-key:token", ck_apikey },
	{ "twa.dev/api-key-secret", "temporal-key", ck_apikey_default },
	{ "twa.dev/rollout", "Manual", ck_manual },
	{ "twa.dev/rollout", "Progressive", ck_prog },
	{ "twa.dev/ramp-steps", "1%/30s,50%/1m,99%/1h30m", ck_steps },
	{ "twa.dev/gate-workflow", "SmokeTest", ck_gate },
	{ "twa.dev/gate-workflow", "Pr\xc3\xbc" "fung \xf0\x9f\x9a\x80", ck_gate_utf8 },
	{ "twa.dev/gate-input", " { \"a\" : [1, 2], \"b\": \"x\" } ", ck_input },
	{ "twa.dev/gate-timeout", "30s", ck_gate_to },
	{ "twa.dev/min-ready", "80%", ck_mr_pct },
	{ "twa.dev/min-ready", "3", ck_mr_cnt },
	{ "twa.dev/abort-on-unhealthy", "false", ck_abrt },
	{ "twa.dev/scaledown-delay", "0s", ck_sd },
	{ "twa.dev/delete-delay", "2d", ck_dd },
	{ "twa.dev/max-versions", "5", ck_maxv },
	{ "twa.dev/worker-probe", "http://:8080/healthz", ck_http },
	{ "twa.dev/worker-probe", "http://[::1]:8080", ck_http_host },
	{ "twa.dev/worker-probe", "tcp://:7234", ck_tcp },
	{ "twa.dev/report-interval", "5s", ck_ri },
	{ "twa.dev/agent-log-level", "debug", ck_ll },
	{ "twa.dev/agent-image", "registry.local:5000/twa:0.1.0", ck_img },
	{ "twa.dev/agent-cpu", "50m", ck_cpu },
	{ "twa.dev/agent-memory", "32Mi", ck_mem },
};

START_TEST(test_settings_valid_table)
{
	const struct ok_case *c = &ok_cases[_i];
	struct settings_kv kv = { c->key, c->value };
	struct settings s;
	struct settings_errors e;
	size_t n = settings_parse(NULL, &kv, 1, &s, &e);

	ck_assert_msg(n == 0, "%s=%s: %s", c->key, c->value, n ? e.v[0].message : "");
	c->check(&s);
	settings_errors_free(&e);
	settings_clear(&s);
}
END_TEST

/* An invalid value and a piece its message must contain. */
struct bad_case {
	const char	*key;
	const char	*value;
	const char	*has;
};

static const struct bad_case bad_cases[] = {
	{ "twa.dev/build-id", "", "length 0" },
	{ "twa.dev/build-id", "-v1", "start and end" },
	{ "twa.dev/build-id", "v1/abc", "character 3 is not allowed" },
	{ "twa.dev/build-id", "0123456789012345678901234567890123456789012345678901234567890123", "length 64" },
	{ "twa.dev/temporal-address", "temporal", "the port is missing" },
	{ "twa.dev/temporal-address", "temporal:0", "port" },
	{ "twa.dev/temporal-address", "temporal:70000", "out of range" },
	{ "twa.dev/temporal-address", ":7233", "host is empty" },
	{ "twa.dev/temporal-address", "::1:7233", "unbracketed IPv6" },
	{ "twa.dev/temporal-address", "[::1]7233", "without ]:port" },
	{ "twa.dev/temporal-address", "a b:1", "not a host:port" },
	{ "twa.dev/temporal-namespace", "", "1-255 characters" },
	{ "twa.dev/temporal-namespace", "-ns", "1-255 characters" },
	{ "twa.dev/temporal-namespace", "ns/x", "character 3" },
	{ "twa.dev/tls-secret", "Bad_Name", "not a DNS subdomain" },
	{ "twa.dev/tls-secret", "ok:", "not a valid key" },
	{ "twa.dev/tls-secret", "ok:a/b", "not a valid key" },
	{ "twa.dev/tls-server-name", "-bad-.example", "not a DNS name" },
	{ "twa.dev/tls-server-name", "a..b", "not a DNS name" },
	{ "twa.dev/api-key-secret", "", "not a DNS subdomain" },
	{ "twa.dev/rollout", "allatonce", "case-sensitive" },
	{ "twa.dev/rollout", "Canary", "expected Manual, AllAtOnce or Progressive" },
	{ "twa.dev/ramp-steps", "", "a step is empty" },
	{ "twa.dev/ramp-steps", "10%/5m,", "a step is empty" },
	{ "twa.dev/ramp-steps", "10%/5m,,50%/1m", "a step is empty" },
	{ "twa.dev/ramp-steps", "10%", "has no /<duration>" },
	{ "twa.dev/ramp-steps", "10%/5m,5%/1m", "step 2: 5% is not above 10%" },
	{ "twa.dev/ramp-steps", "10%/5m,10%/1m", "not above" },
	{ "twa.dev/ramp-steps", "0%/5m", "step 1" },
	{ "twa.dev/ramp-steps", "100%/5m", "expected 1%..99%" },
	{ "twa.dev/ramp-steps", "10%/0s", "out of range" },
	{ "twa.dev/ramp-steps", "10%/5x", "is not a duration" },
	{ "twa.dev/ramp-steps", "1%/1s,2%/1s,3%/1s,4%/1s,5%/1s,6%/1s,7%/1s,8%/1s,9%/1s,10%/1s,11%/1s,12%/1s,13%/1s,14%/1s,15%/1s,16%/1s,17%/1s,18%/1s,19%/1s,20%/1s,21%/1s", "more than 20 steps" },
	{ "twa.dev/gate-workflow", "", "length 0" },
	{ "twa.dev/gate-workflow", "a\nb", "control character" },
	{ "twa.dev/gate-workflow", "caf\xc3", "not valid UTF-8" },
	{ "twa.dev/gate-workflow", "\xc0\xaf", "not valid UTF-8" },
	{ "twa.dev/gate-workflow", "\xf4\x90\x80\x80", "not valid UTF-8" },
	{ "twa.dev/gate-input", "{", "invalid JSON" },
	{ "twa.dev/gate-input", "{\"a\":1,\"a\":2}", "invalid JSON" },
	{ "twa.dev/gate-input", "", "invalid JSON" },
	{ "twa.dev/gate-timeout", "5s", "out of range (expected from 10s to 7d)" },
	{ "twa.dev/gate-timeout", "8d", "out of range" },
	{ "twa.dev/gate-timeout", "ten minutes", "not a duration" },
	{ "twa.dev/min-ready", "0%", "expected 1%..100%" },
	{ "twa.dev/min-ready", "101%", "expected 1%..100%" },
	{ "twa.dev/min-ready", "0", "out of range" },
	{ "twa.dev/min-ready", "-1", "out of range" },
	{ "twa.dev/min-ready", "most", "not a whole number" },
	{ "twa.dev/abort-on-unhealthy", "yes", "expected true or false" },
	{ "twa.dev/abort-on-unhealthy", "True", "not a boolean" },
	{ "twa.dev/scaledown-delay", "31d", "out of range" },
	{ "twa.dev/scaledown-delay", "-1h", "not a duration" },
	{ "twa.dev/delete-delay", "91d", "out of range" },
	{ "twa.dev/max-versions", "1", "out of range (expected 2..1000)" },
	{ "twa.dev/max-versions", "1001", "out of range" },
	{ "twa.dev/max-versions", "99999999999999999999999", "out of range" },
	{ "twa.dev/max-versions", "5.0", "not a whole number" },
	{ "twa.dev/worker-probe", "grpc://:9000", "scheme" },
	{ "twa.dev/worker-probe", "http://localhost/healthz", "port is missing" },
	{ "twa.dev/worker-probe", "http://:0/", "port" },
	{ "twa.dev/worker-probe", "tcp://:7234/x", "takes no path" },
	{ "twa.dev/worker-probe", "http://[::1/x", "without ]:port" },
	{ "twa.dev/worker-probe", "", "not a URL" },
	{ "twa.dev/report-interval", "500ms", "out of range (expected from 1s to 10m)" },
	{ "twa.dev/report-interval", "11m", "out of range" },
	{ "twa.dev/agent-log-level", "trace", "expected debug, info, warn or error" },
	{ "twa.dev/agent-image", "", "expected a container image" },
	{ "twa.dev/agent-image", "twa latest", "expected a container image" },
	{ "twa.dev/agent-cpu", "0", "above zero" },
	{ "twa.dev/agent-cpu", "fast", "not a quantity" },
	{ "twa.dev/agent-cpu", "50x", "not a quantity" },
	{ "twa.dev/agent-memory", "-32Mi", "not a quantity" },
	{ "twa.dev/agent-memory", "32MiB", "not a quantity" },
	{ "twa.dev/agent-memory", "1e3", NULL },
};

/* Whether s is quoted verbatim in messages: printable ASCII without '"' or '\\'. */
static bool
plain_ascii(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < ' ' || (unsigned char)*s >= 0x7f ||
		    *s == '"' || *s == '\\')
			return false;
	return true;
}

START_TEST(test_settings_invalid_table)
{
	const struct bad_case *c = &bad_cases[_i];
	struct settings_kv kv = { c->key, c->value };
	struct settings s, d;
	struct settings_errors e;
	size_t n = settings_parse(NULL, &kv, 1, &s, &e);

	if (c->has == NULL) {	/* a boundary case that is valid */
		ck_assert_uint_eq(n, 0);
		goto out;
	}
	ck_assert_msg(n == 1, "%s=%s accepted", c->key, c->value);
	ck_assert_str_eq(e.v[0].key, c->key);
	ck_assert_str_eq(e.v[0].value, c->value);
	/* The message names the annotation, the value and what is expected. */
	ck_assert_msg(strstr(e.v[0].message, c->key) != NULL, "%s", e.v[0].message);
	ck_assert_msg(strstr(e.v[0].message, "expected") != NULL, "%s", e.v[0].message);
	ck_assert_msg(strstr(e.v[0].message, c->has) != NULL,
	    "message \"%s\" lacks \"%s\"", e.v[0].message, c->has);
	if (strlen(c->value) < 40 && plain_ascii(c->value))
		ck_assert_msg(strstr(e.v[0].message, c->value) != NULL,
		    "message \"%s\" does not quote the value", e.v[0].message);
	/* The invalid annotation falls back to its default when there is no previous value. */
	settings_defaults(&d);
	ck_assert(settings_equal(&s, &d));
	settings_clear(&d);
out:
	settings_errors_free(&e);
	settings_clear(&s);
}
END_TEST

START_TEST(test_settings_invalid_keeps_previous)
{
	struct settings_kv good[] = { { "twa.dev/rollout", "Progressive" },
	    { "twa.dev/ramp-steps", "5%/1m" }, { "twa.dev/max-versions", "7" } };
	struct settings_kv bad[] = { { "twa.dev/rollout", "Sideways" },
	    { "twa.dev/ramp-steps", "50%/1m,20%/1m" }, { "twa.dev/max-versions", "7" } };
	struct settings prev, next;
	struct settings_errors e;

	ck_assert_uint_eq(settings_parse(NULL, good, 3, &prev, &e), 0);
	settings_errors_free(&e);
	ck_assert_uint_eq(settings_parse(&prev, bad, 3, &next, &e), 2);
	ck_assert_int_eq(next.rollout, SETTINGS_ROLLOUT_PROGRESSIVE);
	ck_assert_uint_eq(next.nsteps, 1);
	ck_assert_int_eq(next.steps[0].percent, 5);
	ck_assert_int_eq(next.max_versions, 7);
	ck_assert(settings_equal(&prev, &next));
	settings_errors_free(&e);
	settings_clear(&next);
	/* An annotation that disappears returns to its default. */
	ck_assert_uint_eq(settings_parse(&prev, good, 1, &next, &e), 0);
	ck_assert_int_eq(next.max_versions, 20);
	ck_assert_uint_eq(next.nsteps, 2);
	settings_errors_free(&e);
	settings_clear(&next);
	settings_clear(&prev);
}
END_TEST

START_TEST(test_settings_unknown_and_duplicate_keys)
{
	struct settings_kv kv[] = { { "twa.dev/rolout", "Manual" },
	    { "twa.dev/rollout", "Manual" }, { "twa.dev/rollout", "Progressive" },
	    { "other.io/x", "y" }, { "twa.dev/min-ready", NULL } };
	struct settings s;
	struct settings_errors e;
	char *all;

	ck_assert_uint_eq(settings_parse(NULL, kv, 5, &s, &e), 3);
	ck_assert_ptr_nonnull(strstr(e.v[0].message, "\"twa.dev/rolout\" is not a twa annotation"));
	ck_assert_ptr_nonnull(strstr(e.v[1].message, "twa.dev/rollout is given more than once"));
	ck_assert_ptr_nonnull(strstr(e.v[2].message, "twa.dev/min-ready has no value"));
	ck_assert_int_eq(s.rollout, SETTINGS_ROLLOUT_MANUAL);
	all = settings_errors_join(&e);
	ck_assert_ptr_nonnull(strstr(all, "; annotation twa.dev/rollout is given"));
	free(all);
	settings_errors_free(&e);
	settings_clear(&s);
}
END_TEST

START_TEST(test_settings_cross_field_delays)
{
	struct settings_kv kv[] = { { "twa.dev/scaledown-delay", "2h" },
	    { "twa.dev/delete-delay", "1h" } };
	struct settings s;
	struct settings_errors e;

	ck_assert_uint_eq(settings_parse(NULL, kv, 2, &s, &e), 1);
	ck_assert_ptr_nonnull(strstr(e.v[0].message,
	    "twa.dev/delete-delay: 1h is below twa.dev/scaledown-delay 2h"));
	ck_assert_int_eq(s.scaledown_delay_ms, HOUR);
	ck_assert_int_eq(s.delete_delay_ms, 24 * HOUR);
	settings_errors_free(&e);
	settings_clear(&s);
}
END_TEST

START_TEST(test_settings_hostile_values)
{
	size_t big = 300 * 1024;
	char *huge = malloc(big + 1);
	const char *keys[] = { "twa.dev/gate-input", "twa.dev/gate-workflow",
	    "twa.dev/agent-image", "twa.dev/ramp-steps", "twa.dev/build-id",
	    "twa.dev/temporal-address", "twa.dev/worker-probe" };
	const char *nonutf8[] = { "\xff\xfe", "v\xc3(1", "\xed\xa0\x80" };

	memset(huge, 'a', big);
	huge[big] = '\0';
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		struct settings_kv kv = { keys[i], huge };
		struct settings s;
		struct settings_errors e;

		ck_assert_uint_eq(settings_parse(NULL, &kv, 1, &s, &e), 1);
		/* Messages stay short however long the value. */
		ck_assert_uint_lt(strlen(e.v[0].message), 1024);
		settings_errors_free(&e);
		settings_clear(&s);
		for (size_t j = 0; j < 3; j++) {
			struct settings_kv kb = { keys[i], nonutf8[j] };

			ck_assert_uint_eq(settings_parse(NULL, &kb, 1, &s, &e), 1);
			ck_assert_ptr_null(strstr(e.v[0].message, nonutf8[j]));
			settings_errors_free(&e);
			settings_clear(&s);
		}
	}
	free(huge);
}
END_TEST

START_TEST(test_settings_copy_equal)
{
	struct settings_kv kv[] = { { "twa.dev/tls-secret", "s:k" },
	    { "twa.dev/worker-probe", "http://[::1]:1/p" },
	    { "twa.dev/gate-input", "[1]" }, { "twa.dev/agent-cpu", "1" } };
	struct settings a, b;
	struct settings_errors e;

	ck_assert_uint_eq(settings_parse(NULL, kv, 4, &a, &e), 0);
	settings_errors_free(&e);
	settings_copy(&b, &a);
	ck_assert(settings_equal(&a, &b));
	ck_assert_ptr_ne(a.worker_probe.path, b.worker_probe.path);
	b.max_versions++;
	ck_assert(!settings_equal(&a, &b));
	settings_clear(&a);
	settings_clear(&b);
}
END_TEST

struct label_case {
	const char	*in;
	int		 rc;
};

static const struct label_case label_cases[] = {
	{ "orders", 0 }, { "orders-2", 0 }, { "a", 0 }, { "", -1 },
	{ "Orders", -1 }, { "orders_v1", -1 }, { "-orders", -1 },
	{ "orders-", -1 }, { "orders.v1", -1 },
	{ "a23456789012345678901234567890123456789012345678901234567890123", 0 },
	{ "a234567890123456789012345678901234567890123456789012345678901234", -1 },
};

START_TEST(test_settings_deployment_label_table)
{
	char *cause = NULL;
	int rc = settings_check_deployment_label(label_cases[_i].in, &cause);

	ck_assert_msg(rc == label_cases[_i].rc, "label \"%s\"", label_cases[_i].in);
	if (rc != 0) {
		ck_assert_ptr_nonnull(strstr(cause, "twa.dev/deployment"));
		ck_assert_ptr_nonnull(strstr(cause, "expected a DNS label"));
		free(cause);
	}
}
END_TEST

START_TEST(test_settings_reference_lists_everything)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	settings_print_reference(m);
	fclose(m);
	for (size_t i = 0; i < settings_count(); i++)
		ck_assert_ptr_nonnull(strstr(buf, settings_name(i)));
	ck_assert_ptr_nonnull(strstr(buf, "twa.dev/inject"));
	ck_assert_ptr_nonnull(strstr(buf, "twa.dev/deployment"));
	ck_assert_ptr_nonnull(strstr(buf, "default: 10%/5m,50%/10m"));
	ck_assert_ptr_nonnull(strstr(buf, "default: webhook flag"));
	free(buf);
}
END_TEST

/* Assemble the suite. */
static Suite *
settings_suite(void)
{
	Suite *s = suite_create("settings");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_settings_table_covers_design);
	tcase_add_test(tc, test_settings_defaults);
	tcase_add_test(tc, test_settings_empty_set_is_defaults);
	tcase_add_loop_test(tc, test_settings_valid_table, 0, N_CASES(ok_cases));
	tcase_add_loop_test(tc, test_settings_invalid_table, 0, N_CASES(bad_cases));
	tcase_add_test(tc, test_settings_invalid_keeps_previous);
	tcase_add_test(tc, test_settings_unknown_and_duplicate_keys);
	tcase_add_test(tc, test_settings_cross_field_delays);
	tcase_add_test(tc, test_settings_hostile_values);
	tcase_add_test(tc, test_settings_copy_equal);
	tcase_add_loop_test(tc, test_settings_deployment_label_table, 0, N_CASES(label_cases));
	tcase_add_test(tc, test_settings_reference_lists_everything);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(settings_suite)
