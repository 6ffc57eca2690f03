/* agent_pages: the agent's /healthz, /readyz, /metrics and /status. */
#include "config.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "agent_int.h"
#include "agentconf.h"
#include "board.h"
#include "kube.h"
#include "leader.h"
#include "lease.h"
#include "parse.h"
#include "probe.h"
#include "timefmt.h"

/* /healthz: the loop runs. */
int
agent_page_healthz(FILE *out, void *arg)
{
	fprintf(out, "ok\n");
	return 200;
}

/* /readyz: first Lease write done and the worker ready. */
int
agent_page_readyz(FILE *out, void *arg)
{
	struct agent *a = arg;

	if (a->ready) {
		fprintf(out, "ready\n");
		return 200;
	}
	if (a->stopping)
		fprintf(out, "not ready: shutting down\n");
	else if (!a->lease_ok)
		fprintf(out, "not ready: no health report written to Lease "
		    "%s yet\n", a->lease_name);
	else
		fprintf(out, "not ready: worker %s: %s\n",
		    probe_state_name(probe_get_state(a->pr)),
		    probe_reason(a->pr));
	return 503;
}

/* Write one metric family header and a value line. */
static void
agent_metric(FILE *out, const char *name, const char *type, const char *help,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void
agent_metric(FILE *out, const char *name, const char *type, const char *help,
    const char *fmt, ...)
{
	va_list ap;

	fprintf(out, "# HELP %s %s\n# TYPE %s %s\n%s ", name, help, name, type,
	    name);
	va_start(ap, fmt);
	vfprintf(out, fmt, ap);
	va_end(ap);
	fputc('\n', out);
}

/* /metrics: Prometheus text exposition format. */
int
agent_page_metrics(FILE *out, void *arg)
{
	struct agent *a = arg;
	struct lease_stats ls;
	struct board_stats bs;
	enum probe_state ps = probe_get_state(a->pr);

	lease_get_stats(a->l, &ls);
	board_get_stats(a->b, &bs);
	fprintf(out, "# HELP twa_agent_info The agent's identity.\n"
	    "# TYPE twa_agent_info gauge\n"
	    "twa_agent_info{version=\"%s\",deployment=\"%s\",build=\"%s\"} 1\n",
	    PACKAGE_VERSION, a->deployment, a->build);
	agent_metric(out, "twa_agent_leader", "gauge",
	    "1 while this agent holds the Lease and leads.", "%d",
	    lease_leading(a->l) ? 1 : 0);
	agent_metric(out, "twa_agent_ready", "gauge",
	    "1 while /readyz answers 200.", "%d", a->ready ? 1 : 0);
	agent_metric(out, "twa_agent_lease_polling", "gauge",
	    "1 while this agent polls the Lease (leader or standby).", "%d",
	    lease_polling(a->l) || lease_leading(a->l) ? 1 : 0);
	agent_metric(out, "twa_agent_lease_renew_latency_seconds", "gauge",
	    "Latency of the last successful lease renewal.", "%.3f",
	    (double)ls.renew_last_ms / 1000);
	agent_metric(out, "twa_agent_lease_renew_latency_max_seconds", "gauge",
	    "Highest lease renewal latency seen.", "%.3f",
	    (double)ls.renew_max_ms / 1000);
	agent_metric(out, "twa_agent_lease_renewals_total", "counter",
	    "Successful lease renewals while leading.", "%" PRIu64,
	    ls.renewals);
	agent_metric(out, "twa_agent_lease_renew_failures_total", "counter",
	    "Failed lease renewals.", "%" PRIu64, ls.renew_failures);
	agent_metric(out, "twa_agent_lease_acquisitions_total", "counter",
	    "Times this agent became leader.", "%" PRIu64, ls.acquisitions);
	agent_metric(out, "twa_agent_lease_lost_races_total", "counter",
	    "Lease takeovers lost to another candidate.", "%" PRIu64,
	    ls.lost_races);
	agent_metric(out, "twa_agent_lease_requests_total", "counter",
	    "Requests the elector sent.", "%" PRIu64, ls.requests);
	agent_metric(out, "twa_agent_lease_transitions_seen_total", "counter",
	    "Changes of the Lease holder this agent observed.", "%" PRIu64,
	    a->transitions_seen);
	agent_metric(out, "twa_agent_lease_objects_total", "counter",
	    "Lease objects received (reads and write answers).", "%" PRIu64,
	    a->lease_objects);
	agent_metric(out, "twa_agent_health_writes_total", "counter",
	    "Health reports sent to the Lease.", "%" PRIu64, bs.writes);
	agent_metric(out, "twa_agent_health_write_failures_total", "counter",
	    "Health reports that failed.", "%" PRIu64, bs.write_failures);
	agent_metric(out, "twa_agent_status_writes_total", "counter",
	    "Leader status writes.", "%" PRIu64, bs.status_writes);
	agent_metric(out, "twa_agent_kube_requests_total", "counter",
	    "Kubernetes API requests sent by this process (every attempt).",
	    "%" PRIu64, kube_requests_sent(a->k));
	fprintf(out, "# HELP twa_agent_api_errors_total Failed Kubernetes "
	    "requests of the agent by HTTP status or kind.\n"
	    "# TYPE twa_agent_api_errors_total counter\n");
	for (size_t i = 0; i < AGENT_MAX_ERROR_CODES && a->apierr[i].label[0];
	    i++)
		fprintf(out, "twa_agent_api_errors_total{code=\"%s\"} %" PRIu64
		    "\n", a->apierr[i].label, a->apierr[i].n);
	fprintf(out, "# HELP twa_agent_worker_state The worker's state.\n"
	    "# TYPE twa_agent_worker_state gauge\n");
	for (int s = PROBE_STARTING; s <= PROBE_UNHEALTHY; s++)
		fprintf(out, "twa_agent_worker_state{state=\"%s\"} %d\n",
		    probe_state_name((enum probe_state)s), (int)ps == s ? 1 : 0);
	agent_metric(out, "twa_agent_probe_checks_total", "counter",
	    "Worker checks run.", "%" PRIu64, probe_checks(a->pr));
	agent_metric(out, "twa_agent_probe_failures_total", "counter",
	    "Worker checks that failed.", "%" PRIu64, probe_failures(a->pr));
	agent_metric(out, "twa_agent_config_reloads_total", "counter",
	    "Annotation file contents read.", "%" PRIu64,
	    agentconf_reloads(a->conf));
	agent_metric(out, "twa_agent_config_errors_total", "counter",
	    "Distinct invalid annotation values found.", "%" PRIu64,
	    agentconf_errors(a->conf));
	agent_metric(out, "twa_agent_events_total", "counter",
	    "Kubernetes Events recorded by the agent.", "%" PRIu64,
	    a->events_sent);
	leader_metrics(a->ld, out);
	return 200;
}

/* A time in µs as RFC 3339, or null when 0. */
static json_t *
agent_time_json(int64_t us)
{
	char t[TIMEFMT_MICRO_LEN];

	if (us == 0)
		return json_null();
	timefmt_micro(us, t);
	return json_string(t);
}

/* /status: JSON for humans and `twa status`. */
int
agent_page_status(FILE *out, void *arg)
{
	struct agent *a = arg;
	const char *const *bad;
	const char *cerr;
	json_t *o, *invalid, *ld;
	int64_t cerr_us;
	size_t n;
	char *s, ri[PARSE_DURATION_LEN];

	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:b}",
	    "pod", a->cfg->pod, "namespace", a->cfg->pod_namespace,
	    "deployment", a->deployment, "build", a->build,
	    "version", PACKAGE_VERSION,
	    "role", lease_leading(a->l) ? "leader" : "follower",
	    "ready", a->ready, "stopping", a->stopping);
	json_object_set_new(o, "lease", json_pack("{s:s, s:s?, s:b, s:b}",
	    "name", a->lease_name, "holder", lease_holder(a->l),
	    "polling", lease_polling(a->l), "written", a->lease_ok));
	parse_duration_format(a->report_ms, ri);
	json_object_set_new(o, "health", json_pack("{s:s, s:s, s:s}",
	    "state", a->stopping ? "terminating" :
	    probe_state_name(probe_get_state(a->pr)),
	    "reason", probe_reason(a->pr), "report_interval", ri));
	json_object_set_new(o, "settings",
	    agentconf_settings_json(agentconf_settings(a->conf)));
	invalid = json_array();
	n = agentconf_invalid(a->conf, &bad);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(invalid, json_string(bad[i]));
	json_object_set_new(o, "invalid_annotations", invalid);
	ld = leader_status(a->ld);
	json_object_set_new(o, "leader", ld != NULL ? ld : json_null());
	/* the later of the agent's and the configuration's last error */
	cerr = agentconf_last_error(a->conf, &cerr_us);
	if (cerr != NULL && cerr_us >= a->last_error_us)
		json_object_set_new(o, "last_error", json_pack("{s:s, s:o}",
		    "message", cerr, "time", agent_time_json(cerr_us)));
	else if (a->last_error != NULL)
		json_object_set_new(o, "last_error", json_pack("{s:s, s:o}",
		    "message", a->last_error, "time",
		    agent_time_json(a->last_error_us)));
	else
		json_object_set_new(o, "last_error", json_null());
	s = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS);
	json_decref(o);
	if (s == NULL)
		abort();
	fprintf(out, "%s\n", s);
	free(s);
	return 200;
}
