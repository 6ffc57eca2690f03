/* cmd_agent: `twa agent`, the sidecar in every worker pod. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "cmd.h"
#include "httpd.h"
#include "lease.h"
#include "log.h"
#include "opts.h"
#include "xalloc.h"

#define SEC	1000
#define MIN	(60 * SEC)

enum {
	O_LISTEN, O_ANNOTATIONS, O_LABELS, O_DEPLOYMENT, O_BUILD_ID,
	O_POD_NAME, O_POD_UID, O_KUBE_NAMESPACE, O_KUBE_SERVER, O_KUBE_CA,
	O_KUBE_TOKEN_FILE, O_TEMPORAL_ADDRESS, O_TEMPORAL_CA, O_TEMPORAL_CERT,
	O_TEMPORAL_KEY, O_TEMPORAL_API_KEY_FILE, O_TEMPORAL_TLS,
	O_LEASE_DURATION, O_RENEW_DEADLINE, O_RETRY_PERIOD, O_PROBE_INTERVAL,
	O_PROBE_TIMEOUT, O_RELOAD_INTERVAL, O_SHUTDOWN_TIMEOUT, O_RESYNC,
	O_COUNT
};

static const struct opt_spec agent_opts[O_COUNT] = {
	[O_LISTEN] = { "listen", 'l', OPT_STRING, "ADDR", AGENT_DEFAULT_LISTEN,
	    "HTTP address of /healthz, /readyz, /metrics and /status "
	    "([host]:port; port 0 picks a free one; env TWA_LISTEN)", 0, 0 },
	[O_ANNOTATIONS] = { "annotations", 0, OPT_STRING, "FILE",
	    AGENT_DEFAULT_ANNOTATIONS,
	    "downward-API file of the pod's annotations, re-read live "
	    "(env: $TWA_PODINFO_DIR/annotations)", 0, 0 },
	[O_LABELS] = { "labels", 0, OPT_STRING, "FILE", AGENT_DEFAULT_LABELS,
	    "downward-API file of the pod's labels (env: "
	    "$TWA_PODINFO_DIR/labels)", 0, 0 },
	[O_DEPLOYMENT] = { "deployment", 0, OPT_STRING, "NAME", NULL,
	    "worker deployment name (default: $TWA_DEPLOYMENT, else the "
	    "twa.dev/deployment label)",
	    0, 0 },
	[O_BUILD_ID] = { "build-id", 0, OPT_STRING, "ID", NULL,
	    "this pod's build ID (default: $TEMPORAL_WORKER_BUILD_ID, else "
	    "the twa.dev/build-id annotation)",
	    0, 0 },
	[O_POD_NAME] = { "pod-name", 0, OPT_STRING, "NAME", NULL,
	    "this pod's name (default: $POD_NAME)", 0, 0 },
	[O_POD_UID] = { "pod-uid", 0, OPT_STRING, "UID", NULL,
	    "this pod's UID (default: $POD_UID)", 0, 0 },
	[O_KUBE_NAMESPACE] = { "kube-namespace", 0, OPT_STRING, "NS", NULL,
	    "namespace of the pod, its Lease and Events (default: "
	    "$POD_NAMESPACE)", 0, 0 },
	[O_KUBE_SERVER] = { "kube-server", 0, OPT_STRING, "URL", NULL,
	    "Kubernetes API server URL (default: in-cluster configuration)",
	    0, 0 },
	[O_KUBE_CA] = { "kube-ca", 0, OPT_STRING, "FILE", NULL,
	    "CA bundle that verifies the API server", 0, 0 },
	[O_KUBE_TOKEN_FILE] = { "kube-token-file", 0, OPT_STRING, "FILE", NULL,
	    "bearer token file for the API server", 0, 0 },
	[O_TEMPORAL_ADDRESS] = { "temporal-address", 0, OPT_STRING, "HOST:PORT",
	    NULL, "Temporal frontend, used when leading (default: the "
	    "twa.dev/temporal-address annotation)", 0, 0 },
	[O_TEMPORAL_CA] = { "temporal-ca", 0, OPT_STRING, "FILE", NULL,
	    "CA bundle of the Temporal frontend (implies TLS)", 0, 0 },
	[O_TEMPORAL_CERT] = { "temporal-cert", 0, OPT_STRING, "FILE", NULL,
	    "client certificate for Temporal mTLS (implies TLS)", 0, 0 },
	[O_TEMPORAL_KEY] = { "temporal-key", 0, OPT_STRING, "FILE", NULL,
	    "client key for Temporal mTLS", 0, 0 },
	[O_TEMPORAL_API_KEY_FILE] = { "temporal-api-key-file", 0, OPT_STRING,
	    "FILE", NULL, "file holding a Temporal API key", 0, 0 },
	[O_TEMPORAL_TLS] = { "temporal-tls", 0, OPT_FLAG, NULL, NULL,
	    "talk TLS to Temporal with the system roots", 0, 0 },
	[O_LEASE_DURATION] = { "lease-duration", 0, OPT_DURATION, "DURATION",
	    "15s", "how long candidates wait before taking an unrenewed "
	    "Lease", SEC, 10 * MIN },
	[O_RENEW_DEADLINE] = { "renew-deadline", 0, OPT_DURATION, "DURATION",
	    "10s", "how long a leader keeps leading without a renewal", 1,
	    10 * MIN },
	[O_RETRY_PERIOD] = { "retry-period", 0, OPT_DURATION, "DURATION", "2s",
	    "renewal and standby poll period", 1, 10 * MIN },
	[O_PROBE_INTERVAL] = { "probe-interval", 0, OPT_DURATION, "DURATION",
	    "5s", "time between worker checks", 10, 10 * MIN },
	[O_PROBE_TIMEOUT] = { "probe-timeout", 0, OPT_DURATION, "DURATION",
	    "2s", "timeout of one worker check", 10, MIN },
	[O_RELOAD_INTERVAL] = { "reload-interval", 0, OPT_DURATION, "DURATION",
	    "1s", "how often the downward-API files are checked for changes",
	    10, MIN },
	[O_SHUTDOWN_TIMEOUT] = { "shutdown-timeout", 0, OPT_DURATION,
	    "DURATION", "5s", "exit this long after SIGTERM even if the "
	    "release or the final report has not finished", 100, 10 * MIN },
	[O_RESYNC] = { "resync", 0, OPT_DURATION, "DURATION", "30s",
	    "leader: slow resync period", SEC, 10 * MIN },
};

/* A flag's text, else the environment variable's, else NULL. */
static const char *
cmd_agent_from(const struct opt_value *v, const char *env)
{
	const char *e;

	if (v->given)
		return v->str;
	e = getenv(env);
	return e != NULL && *e != '\0' ? e : NULL;
}

/* twa agent. */
int
cmd_agent(int argc, char **argv)
{
	struct opt_value v[O_COUNT];
	struct agent_config c;
	struct lease_config lc;
	char *cause = NULL, *host = NULL, *missing, *ann_path = NULL,
	    *lab_path = NULL;
	const char *podinfo, *level, *tls_env;
	enum log_level lvl;
	int next, r, port;

	r = opts_parse(agent_opts, O_COUNT, argc, argv, 1, v, &next, &cause);
	if (r == 1) {
		opts_usage(stdout, "twa agent [OPTIONS]", "Run the agent "
		    "sidecar of a worker pod: report its health on the "
		    "deployment's shared Lease, take part in the election, "
		    "and drive the rollout when elected. Needs POD_NAME, "
		    "POD_NAMESPACE and POD_UID from the downward API (or the "
		    "matching options).", agent_opts, O_COUNT);
		return 0;
	}
	if (r < 0) {
		fprintf(stderr, "twa agent: %s\n", cause);
		free(cause);
		return CMD_EXIT_USAGE;
	}
	if (next < argc) {
		fprintf(stderr, "twa agent: unexpected argument \"%.64s\"\n",
		    argv[next]);
		return CMD_EXIT_USAGE;
	}
	memset(&c, 0, sizeof c);
	c.pod = cmd_agent_from(&v[O_POD_NAME], "POD_NAME");
	c.pod_namespace = cmd_agent_from(&v[O_KUBE_NAMESPACE], "POD_NAMESPACE");
	c.pod_uid = cmd_agent_from(&v[O_POD_UID], "POD_UID");
	if (c.pod == NULL || c.pod_namespace == NULL || c.pod_uid == NULL) {
		missing = xasprintf("%s%s%s%s%s",
		    c.pod == NULL ? "POD_NAME (or --pod-name)" : "",
		    c.pod == NULL && (c.pod_namespace == NULL ||
		    c.pod_uid == NULL) ? ", " : "",
		    c.pod_namespace == NULL ?
		    "POD_NAMESPACE (or --kube-namespace)" : "",
		    c.pod_namespace == NULL && c.pod_uid == NULL ? ", " : "",
		    c.pod_uid == NULL ? "POD_UID (or --pod-uid)" : "");
		fprintf(stderr, "twa agent: missing %s: set them in the "
		    "container from the downward API (fieldRef metadata.name, "
		    "metadata.namespace, metadata.uid) or pass the options\n",
		    missing);
		free(missing);
		return CMD_EXIT_USAGE;
	}
	c.listen = cmd_agent_from(&v[O_LISTEN], "TWA_LISTEN");
	if (c.listen == NULL)
		c.listen = v[O_LISTEN].str;
	if (httpd_parse_listen(c.listen, &host, &port, &cause) != 0) {
		fprintf(stderr, "twa agent: --listen: %s\n", cause);
		free(cause);
		return CMD_EXIT_USAGE;
	}
	free(host);
	podinfo = getenv("TWA_PODINFO_DIR");
	if (podinfo != NULL && *podinfo != '\0') {
		ann_path = xasprintf("%s/annotations", podinfo);
		lab_path = xasprintf("%s/labels", podinfo);
	}
	c.annotations_file = v[O_ANNOTATIONS].given || ann_path == NULL ?
	    v[O_ANNOTATIONS].str : ann_path;
	c.labels_file = v[O_LABELS].given || lab_path == NULL ?
	    v[O_LABELS].str : lab_path;
	c.deployment = cmd_agent_from(&v[O_DEPLOYMENT], "TWA_DEPLOYMENT");
	c.build_id = cmd_agent_from(&v[O_BUILD_ID], "TEMPORAL_WORKER_BUILD_ID");
	level = getenv("TWA_LOG_LEVEL");
	if (level != NULL && log_level_parse(level, &lvl) == 0)
		log_set_level(lvl);
	c.kube_server = v[O_KUBE_SERVER].given ? v[O_KUBE_SERVER].str : NULL;
	c.kube_ca = v[O_KUBE_CA].given ? v[O_KUBE_CA].str : NULL;
	c.kube_token_file = v[O_KUBE_TOKEN_FILE].given ?
	    v[O_KUBE_TOKEN_FILE].str : NULL;
	c.temporal_address = cmd_agent_from(&v[O_TEMPORAL_ADDRESS],
	    "TEMPORAL_ADDRESS");
	c.temporal_ca = v[O_TEMPORAL_CA].given ? v[O_TEMPORAL_CA].str : NULL;
	c.temporal_cert = cmd_agent_from(&v[O_TEMPORAL_CERT],
	    "TEMPORAL_TLS_CLIENT_CERT_PATH");
	c.temporal_key = cmd_agent_from(&v[O_TEMPORAL_KEY],
	    "TEMPORAL_TLS_CLIENT_KEY_PATH");
	c.temporal_api_key_file = v[O_TEMPORAL_API_KEY_FILE].given ?
	    v[O_TEMPORAL_API_KEY_FILE].str : NULL;
	tls_env = getenv("TEMPORAL_TLS");
	c.temporal_tls = v[O_TEMPORAL_TLS].num != 0 ||
	    (tls_env != NULL && strcmp(tls_env, "true") == 0);
	if ((c.temporal_cert == NULL) != (c.temporal_key == NULL)) {
		fprintf(stderr, "twa agent: --temporal-cert and --temporal-key "
		    "go together\n");
		r = CMD_EXIT_USAGE;
		goto out;
	}
	c.lease_ms = v[O_LEASE_DURATION].num;
	c.renew_ms = v[O_RENEW_DEADLINE].num;
	c.retry_ms = v[O_RETRY_PERIOD].num;
	c.probe_interval_ms = v[O_PROBE_INTERVAL].num;
	c.probe_timeout_ms = v[O_PROBE_TIMEOUT].num;
	c.reload_ms = v[O_RELOAD_INTERVAL].num;
	c.shutdown_ms = v[O_SHUTDOWN_TIMEOUT].num;
	c.resync_ms = v[O_RESYNC].num;
	memset(&lc, 0, sizeof lc);
	lc.name = "twa-check";
	lc.namespace = c.pod_namespace;
	lc.identity = c.pod;
	lc.lease_ms = c.lease_ms;
	lc.renew_ms = c.renew_ms;
	lc.retry_ms = c.retry_ms;
	if (lease_config_check(&lc, &cause) != 0) {
		fprintf(stderr, "twa agent: --lease-duration, --renew-deadline, "
		    "--retry-period: %s\n", cause);
		free(cause);
		r = CMD_EXIT_USAGE;
		goto out;
	}
	r = agent_run(&c);
out:
	free(ann_path);
	free(lab_path);
	return r;
}
