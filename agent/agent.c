/* agent: the twa agent process on one libevent loop. */
#include "config.h"

#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <jansson.h>
#include <systemd/sd-daemon.h>

#include "agent.h"
#include "agent_int.h"
#include "agentconf.h"
#include "board.h"
#include "httpd.h"
#include "kube.h"
#include "kubeconfig.h"
#include "kubeevent.h"
#include "leader.h"
#include "lease.h"
#include "log.h"
#include "probe.h"
#include "settings.h"
#include "timefmt.h"
#include "xalloc.h"

/* Remember the last error (msg taken). */
static void
agent_error(struct agent *a, char *msg)
{
	free(a->last_error);
	a->last_error = msg;
	a->last_error_us = timefmt_now_us();
}

/* Arm a timer for ms from now. */
static void
agent_arm(struct event *ev, int64_t ms)
{
	struct timeval tv;

	if (ms < 0)
		ms = 0;
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)((ms % 1000) * 1000);
	evtimer_add(ev, &tv);
}

/* Count one failed Kubernetes request by status or kind. */
static void
agent_count_apierr(struct agent *a, const struct kube_error *err)
{
	char label[16];
	size_t i;

	switch (err->kind) {
	case KUBE_ERR_HTTP:
		snprintf(label, sizeof label, "%ld", err->status);
		break;
	case KUBE_ERR_TIMEOUT:
		snprintf(label, sizeof label, "timeout");
		break;
	case KUBE_ERR_TRANSPORT:
		snprintf(label, sizeof label, "transport");
		break;
	default:
		snprintf(label, sizeof label, "other");
		break;
	}
	for (i = 0; i < AGENT_MAX_ERROR_CODES && a->apierr[i].label[0]; i++)
		if (strcmp(a->apierr[i].label, label) == 0)
			break;
	if (i == AGENT_MAX_ERROR_CODES)
		i = AGENT_MAX_ERROR_CODES - 1;	/* full: lump into the last */
	if (a->apierr[i].label[0] == '\0')
		snprintf(a->apierr[i].label, sizeof a->apierr[i].label, "%s",
		    label);
	a->apierr[i].n++;
}

/* ------------------------------------------------------------ readiness */

/* Recompute readiness from the first Lease write and the worker state. */
static void
agent_update_ready(struct agent *a)
{
	bool ready = a->lease_ok && !a->stopping &&
	    probe_get_state(a->pr) == PROBE_READY;

	if (ready == a->ready)
		return;
	a->ready = ready;
	log_info("agent", ready ? "ready" : "not ready",
	    LS("worker", probe_state_name(probe_get_state(a->pr))),
	    LS("lease_written", a->lease_ok ? "true" : "false"));
}

/* The first Lease write of this process succeeded. */
static void
agent_lease_written(struct agent *a)
{
	if (a->lease_ok)
		return;
	a->lease_ok = true;
	log_info("agent", "first health report written", LS("lease",
	    a->lease_name));
	sd_notify(0, "READY=1\nSTATUS=health reported on the Lease");
	agent_update_ready(a);
}

/* ------------------------------------------------------------ Lease objects */

/* Whether obj carries this process's own health entry (written since start). */
static bool
agent_has_own_entry(struct agent *a, json_t *ann)
{
	const char *v = json_string_value(json_object_get(ann, a->board_key));
	json_t *e;
	const char *pod, *written;
	int64_t us;
	char *cause = NULL;
	bool ok = false;

	if (v == NULL)
		return false;
	e = json_loads(v, 0, NULL);
	pod = json_string_value(json_object_get(e, "pod"));
	written = json_string_value(json_object_get(e, "written"));
	if (pod != NULL && written != NULL && strcmp(pod, a->cfg->pod) == 0) {
		if (timefmt_parse(written, &us, &cause) == 0)
			ok = us >= a->start_us;
		free(cause);
	}
	json_decref(e);
	return ok;
}

/* Poll the Lease only when the leader's status names this pod a standby. */
static void
agent_read_standbys(struct agent *a, json_t *ann)
{
	const char *v = json_string_value(json_object_get(ann,
	    BOARD_STATUS_KEY));
	json_t *st, *sb, *it;
	size_t i;
	bool me = false;

	if (v == NULL || lease_leading(a->l))
		return;
	st = json_loads(v, 0, NULL);
	sb = json_object_get(st, "standbys");
	if (json_is_array(sb)) {
		json_array_foreach(sb, i, it)
			if (json_is_string(it) && strcmp(json_string_value(it),
			    a->cfg->pod) == 0)
				me = true;
		if (lease_polling(a->l) != me) {
			log_info("agent", me ? "named standby: polling the "
			    "Lease" : "not a standby any more: polling "
			    "stopped", LS("lease", a->lease_name));
			lease_set_poll(a->l, me);
		}
	}
	json_decref(st);
}

/* Start the health board (after the first look at the Lease, or a timeout). */
static void
agent_board_start(struct agent *a)
{
	if (a->board_started || a->stopping)
		return;
	a->board_started = true;
	evtimer_del(a->board_start_ev);
	board_start(a->b);
}

/* Timer: the Lease has not been seen yet; start the board anyway. */
static void
agent_board_start_cb(evutil_socket_t fd, short events, void *arg)
{
	agent_board_start(arg);
}

/*
 * Every Lease object the elector took in (its reads and writes, and the
 * board's write answers it was fed): track the holder, the standby set
 * and our own entry, and hand it to the leader.
 */
static void
agent_lease_object_cb(json_t *obj, int64_t sent_ms, int64_t recv_ms,
    void *arg)
{
	struct agent *a = arg;
	json_t *ann = json_object_get(json_object_get(obj, "metadata"),
	    "annotations");
	const char *holder = json_string_value(json_object_get(
	    json_object_get(obj, "spec"), "holderIdentity"));

	a->lease_objects++;
	if (holder == NULL)
		holder = "";
	if (a->holder == NULL || strcmp(a->holder, holder) != 0) {
		if (a->holder != NULL)
			a->transitions_seen++;
		log_info("agent", "lease holder seen", LS("lease",
		    a->lease_name), LS("holder", holder));
		free(a->holder);
		a->holder = xstrdup(holder);
	}
	if (json_is_object(ann)) {
		agent_read_standbys(a, ann);
		if (!a->lease_ok && agent_has_own_entry(a, ann))
			agent_lease_written(a);
	}
	if (!a->lease_ok && strcmp(holder, a->cfg->pod) == 0 &&
	    lease_leading(a->l))
		agent_lease_written(a);	/* our own election write */
	agent_board_start(a);
	if (!a->stopping)
		leader_observe_lease(a->ld, obj);
}

/* ------------------------------------------------------------ leadership */

/* The elector: leadership began or ended. */
static void
agent_leading_cb(bool leading, void *arg)
{
	struct agent *a = arg;

	if (!leading) {
		/* stop first, synchronously, before anything else */
		if (leader_active(a->ld))
			leader_stop(a->ld);
		if (a->leading) {
			a->leading = false;
			log_set_context("role", "follower");
			log_info("agent", "leadership ended",
			    LS("lease", a->lease_name));
		}
		return;
	}
	if (a->stopping || a->leading)
		return;
	a->leading = true;
	log_set_context("role", "leader");
	log_info("agent", "leadership began", LS("lease", a->lease_name));
	leader_start(a->ld);
}

/* The leader's summary changed: publish it with the next health write. */
static void
agent_status_cb(json_t *status, void *arg)
{
	struct agent *a = arg;

	board_set_status(a->b, status);
}

/* ------------------------------------------------------------ health board */

/* Map a probe state to a board state. */
static enum board_state
agent_board_state(enum probe_state s)
{
	switch (s) {
	case PROBE_READY:
		return BOARD_READY;
	case PROBE_UNHEALTHY:
		return BOARD_UNHEALTHY;
	case PROBE_STARTING:
		break;
	}
	return BOARD_STARTING;
}

/* Make (or remake, for a new report interval) the health board. */
static int
agent_board_make(struct agent *a, char **cause)
{
	const struct settings *s = agentconf_settings(a->conf);
	struct board_config bc;
	json_t *st;

	memset(&bc, 0, sizeof bc);
	bc.lease_name = a->lease_name;
	bc.namespace = a->cfg->pod_namespace;
	bc.pod = a->cfg->pod;
	bc.build = a->build;
	bc.report_ms = s->report_interval_ms;
	bc.debounce_ms = 1000 < bc.report_ms ? 1000 : bc.report_ms;
	bc.standbys = 2;
	bc.pod_selector = a->selector;
	if (a->b != NULL) {
		board_free(a->b);
		a->b = NULL;
	}
	a->b = board_new(a->k, a->l, &bc, cause);
	if (a->b == NULL)
		return -1;
	/*
	 * board_new took the elector's object callback; the agent needs
	 * every Lease object too (leader, standbys, readiness), so it takes
	 * it back: the board still sees its own write answers.
	 */
	lease_set_object_cb(a->l, agent_lease_object_cb, a);
	a->report_ms = bc.report_ms;
	board_set_state(a->b, agent_board_state(probe_get_state(a->pr)),
	    probe_reason(a->pr));
	if (a->board_started) {
		board_start(a->b);
		st = leader_status(a->ld);
		if (st != NULL)
			board_set_status(a->b, st);
		json_decref(st);
	}
	return 0;
}

/* ------------------------------------------------------------ probe */

/* A worker check finished. */
static void
agent_probe_cb(const struct probe_result *r, void *arg)
{
	struct agent *a = arg;

	log_debug("probe", "check", LS("ok", r->ok ? "true" : "false"),
	    LS("detail", r->detail), LI("ms", r->latency_ms));
	if (!r->changed || a->stopping)
		return;
	if (r->state == PROBE_READY)
		log_info("agent", "worker state changed",
		    LS("state", probe_state_name(r->state)),
		    LS("reason", r->reason));
	else
		log_warn("agent", "worker state changed",
		    LS("state", probe_state_name(r->state)),
		    LS("reason", r->reason));
	board_set_state(a->b, agent_board_state(r->state), r->reason);
	agent_update_ready(a);
}

/* ------------------------------------------------------------ configuration */

/* An Event answered. */
static void
agent_event_done_cb(json_t *obj, const struct kube_error *err, void *arg)
{
	struct agent *a = arg;
	char *m;

	if (err == NULL) {
		a->events_sent++;
		return;
	}
	a->events_failed++;
	agent_count_apierr(a, err);
	m = kube_error_string(err);
	log_warn("agent", "cannot record an Event", LS("error", m));
	agent_error(a, xasprintf("recording an Event: %s", m));
	free(m);
}

/* Record one InvalidAnnotation Warning Event on this pod. */
static void
agent_send_warning(struct agent *a, const char *message)
{
	struct kube_event ev;
	char *cause = NULL;

	memset(&ev, 0, sizeof ev);
	ev.regarding.api_version = "v1";
	ev.regarding.kind = "Pod";
	ev.regarding.name = a->cfg->pod;
	ev.regarding.namespace = a->cfg->pod_namespace;
	ev.regarding.uid = a->cfg->pod_uid;
	ev.type = "Warning";
	ev.reason = "InvalidAnnotation";
	ev.action = "ReadAnnotations";
	ev.note = message;
	ev.instance = a->cfg->pod;
	if (kube_event_create(a->k, &ev, agent_event_done_cb, a, &cause) ==
	    NULL) {
		log_warn("agent", "cannot build an Event", LS("error", cause));
		free(cause);
	}
}

/* A new invalid annotation value: one Warning Event (queued at start-up). */
static void
agent_warn_cb(const char *key, const char *value, const char *message,
    void *arg)
{
	struct agent *a = arg;

	if (a->k != NULL) {
		agent_send_warning(a, message);
		return;
	}
	a->pending = xreallocarray(a->pending, a->npending + 1,
	    sizeof *a->pending);
	a->pending[a->npending++] = xstrdup(message);
}

/* Send the warnings found before the Kubernetes client existed. */
static void
agent_flush_warnings(struct agent *a)
{
	for (size_t i = 0; i < a->npending; i++) {
		agent_send_warning(a, a->pending[i]);
		free(a->pending[i]);
	}
	free(a->pending);
	a->pending = NULL;
	a->npending = 0;
}

/* Apply settings that changed: log level, report interval, probe, leader. */
static void
agent_apply(struct agent *a, const struct settings *old)
{
	const struct settings *s = agentconf_settings(a->conf);
	char *cause = NULL;

	if (s->agent_log_level != old->agent_log_level) {
		log_set_level((enum log_level)s->agent_log_level);
		log_info("agent", "log level set", LS("level",
		    log_level_name((enum log_level)s->agent_log_level)));
	}
	probe_set_target(a->pr, &s->worker_probe);
	if (s->report_interval_ms != a->report_ms && a->b != NULL) {
		if (agent_board_make(a, &cause) != 0) {
			log_error("agent", "cannot apply the report interval",
			    LS("error", cause));
			agent_error(a, cause);
		} else
			log_info("agent", "report interval set",
			    LI("ms", s->report_interval_ms));
	}
	leader_set_settings(a->ld, s);
}

/* Re-read the configuration files (force: even if they look unchanged). */
static void
agent_reload(struct agent *a, bool force)
{
	struct settings old;

	if (a->stopping)
		return;		/* the board is writing its final report */
	if (agentconf_reload(a->conf, force, &old) == AGENTCONF_SETTINGS) {
		agent_apply(a, &old);
		settings_clear(&old);
	}
}

/* Timer: poll the configuration files; notice failed health writes. */
static void
agent_reload_cb(evutil_socket_t fd, short events, void *arg)
{
	struct agent *a = arg;
	struct board_stats bs;

	agent_reload(a, false);
	board_get_stats(a->b, &bs);
	if (bs.write_failures > a->board_failures_seen) {
		agent_error(a, xasprintf("%" PRIu64 " health write(s) to "
		    "Lease %s failed (see the log)", bs.write_failures -
		    a->board_failures_seen, a->lease_name));
		a->board_failures_seen = bs.write_failures;
	}
	agent_arm(a->reload_ev, a->cfg->reload_ms);
}

/* ------------------------------------------------------------ lifecycle */

/* Leave the loop: the shutdown finished or timed out. */
static void
agent_finish(struct agent *a)
{
	log_info("agent", "stopped");
	event_base_loopbreak(a->base);
}

/* The final health report was written (or failed). */
static void
agent_board_stopped_cb(void *arg)
{
	agent_finish(arg);
}

/* The Lease was released (or did not need to be). */
static void
agent_released_cb(void *arg)
{
	struct agent *a = arg;

	board_stop(a->b, agent_board_stopped_cb, a);
}

/* Timer: the shutdown took too long. */
static void
agent_hard_stop_cb(evutil_socket_t fd, short events, void *arg)
{
	struct agent *a = arg;

	log_warn("agent", "shutdown did not finish in time; exiting anyway",
	    LI("ms", a->cfg->shutdown_ms));
	agent_finish(a);
}

/* Begin the shutdown: stop leading, release, final report, exit. */
static void
agent_shutdown(struct agent *a, const char *why)
{
	if (a->stopping)
		return;
	a->stopping = true;
	sd_notify(0, "STOPPING=1");
	log_info("agent", "shutting down", LS("signal", why));
	agent_arm(a->hard_stop_ev, a->cfg->shutdown_ms);
	evtimer_del(a->reload_ev);
	evtimer_del(a->board_start_ev);
	if (leader_active(a->ld))
		leader_stop(a->ld);
	agent_update_ready(a);
	a->board_started = true;
	lease_release(a->l, agent_released_cb, a);
}

/* Signals: TERM and INT stop, HUP reloads. */
static void
agent_signal_cb(evutil_socket_t sig, short events, void *arg)
{
	struct agent *a = arg;

	switch (sig) {
	case SIGHUP:
		log_info("agent", "reloading the configuration (SIGHUP)");
		agent_reload(a, true);
		break;
	case SIGTERM:
		agent_shutdown(a, "SIGTERM");
		break;
	default:
		agent_shutdown(a, "SIGINT");
		break;
	}
}

/* Timer: tell systemd we are alive. */
static void
agent_watchdog_cb(evutil_socket_t fd, short events, void *arg)
{
	struct agent *a = arg;

	sd_notify(0, "WATCHDOG=1");
	agent_arm(a->watchdog_ev, (int64_t)(a->watchdog_us / 2000));
}

/* ------------------------------------------------------------ start-up */

/* Build the Kubernetes client from the flags or the in-cluster files. */
static struct kube *
agent_kube(struct agent *a, char **cause)
{
	const struct agent_config *c = a->cfg;
	struct kube_config kc;
	struct kube *k;

	memset(&kc, 0, sizeof kc);
	if (c->kube_server != NULL) {
		if (kube_config_explicit(&kc, c->kube_server, c->kube_ca,
		    c->kube_token_file, c->pod_namespace, cause) != 0)
			return NULL;
	} else {
		if (kube_config_incluster(&kc, NULL, cause) != 0)
			return NULL;
		if (c->kube_ca != NULL) {
			free(kc.ca_file);
			kc.ca_file = xstrdup(c->kube_ca);
		}
		if (c->kube_token_file != NULL) {
			free(kc.token_file);
			kc.token_file = xstrdup(c->kube_token_file);
		}
		free(kc.namespace);
		kc.namespace = xstrdup(c->pod_namespace);
	}
	k = kube_new(a->base, &kc, cause);
	kube_config_clear(&kc);
	return k;
}

/* Deployment name and build ID from the flags or the files. */
static int
agent_identity(struct agent *a, char **cause)
{
	const struct settings *s = agentconf_settings(a->conf);
	const char *dep = a->cfg->deployment;

	if (dep == NULL)
		dep = agentconf_label(a->conf, SETTINGS_LABEL_DEPLOYMENT);
	if (dep == NULL) {
		*cause = xasprintf("no deployment name: the labels file %s has "
		    "no %s label (or cannot be read) and --deployment was not "
		    "given", a->cfg->labels_file, SETTINGS_LABEL_DEPLOYMENT);
		return -1;
	}
	if (settings_check_deployment_label(dep, cause) != 0)
		return -1;
	a->deployment = xstrdup(dep);
	a->lease_name = xasprintf("twa-%s", dep);
	a->selector = xasprintf("%s=%s", SETTINGS_LABEL_DEPLOYMENT, dep);
	if (a->cfg->build_id != NULL)
		a->build = xstrdup(a->cfg->build_id);
	else if (s->build_id != NULL)
		a->build = xstrdup(s->build_id);
	else {
		*cause = xasprintf("no build ID: pass --build-id or set the "
		    "twa.dev/build-id annotation (file %s)",
		    a->cfg->annotations_file);
		return -1;
	}
	a->board_key = board_key(a->cfg->pod);
	return 0;
}

/* Create every part; returns -1 and a cause on failure. */
static int
agent_setup(struct agent *a, char **cause)
{
	const struct agent_config *c = a->cfg;
	const struct settings *s;
	struct lease_config lc;
	struct leader_config ldc;
	struct probe_config pc;
	struct httpd_pages pages;

	a->conf = agentconf_new(c->annotations_file, c->labels_file,
	    agent_warn_cb, a);
	agentconf_reload(a->conf, true, NULL);
	s = agentconf_settings(a->conf);
	log_set_level((enum log_level)s->agent_log_level);
	if (agent_identity(a, cause) != 0)
		return -1;
	log_set_context("build", a->build);
	log_set_context("role", "follower");
	if ((a->k = agent_kube(a, cause)) == NULL)
		return -1;
	agent_flush_warnings(a);

	memset(&pc, 0, sizeof pc);
	pc.target = &s->worker_probe;
	pc.interval_ms = c->probe_interval_ms;
	pc.timeout_ms = c->probe_timeout_ms;
	if ((a->pr = probe_new(a->base, &pc, agent_probe_cb, a, cause)) == NULL)
		return -1;

	memset(&lc, 0, sizeof lc);
	lc.name = a->lease_name;
	lc.namespace = c->pod_namespace;
	lc.identity = c->pod;
	lc.lease_ms = c->lease_ms;
	lc.renew_ms = c->renew_ms;
	lc.retry_ms = c->retry_ms;
	lc.poll = false;	/* only standbys poll (DESIGN §5) */
	if ((a->l = lease_new(a->k, &lc, agent_leading_cb, a, cause)) == NULL)
		return -1;

	memset(&ldc, 0, sizeof ldc);
	ldc.k8s_namespace = c->pod_namespace;
	ldc.deployment = a->deployment;
	ldc.pod = c->pod;
	ldc.lease_name = a->lease_name;
	ldc.temporal_address = c->temporal_address;
	ldc.temporal_ca_file = c->temporal_ca;
	ldc.temporal_cert_file = c->temporal_cert;
	ldc.temporal_key_file = c->temporal_key;
	ldc.temporal_api_key_file = c->temporal_api_key_file;
	ldc.temporal_tls = c->temporal_tls || c->temporal_ca != NULL ||
	    c->temporal_cert != NULL;
	ldc.settings = s;
	ldc.resync_ms = c->resync_ms;
	if ((a->ld = leader_new(a->base, a->k, a->l, &ldc, cause)) == NULL)
		return -1;
	leader_set_status_cb(a->ld, agent_status_cb, a);

	if (agent_board_make(a, cause) != 0)
		return -1;

	memset(&pages, 0, sizeof pages);
	pages.healthz = agent_page_healthz;
	pages.readyz = agent_page_readyz;
	pages.metrics = agent_page_metrics;
	pages.status = agent_page_status;
	pages.arg = a;
	if ((a->h = httpd_new(a->base, c->listen, &pages, cause)) == NULL)
		return -1;
	return 0;
}

/* Free everything (in dependency order). */
static void
agent_teardown(struct agent *a)
{
	leader_free(a->ld);
	board_free(a->b);
	lease_free(a->l);
	probe_free(a->pr);
	httpd_free(a->h);
	kube_free(a->k);
	agentconf_free(a->conf);
	if (a->sig_term != NULL)
		event_free(a->sig_term);
	if (a->sig_int != NULL)
		event_free(a->sig_int);
	if (a->sig_hup != NULL)
		event_free(a->sig_hup);
	if (a->reload_ev != NULL)
		event_free(a->reload_ev);
	if (a->watchdog_ev != NULL)
		event_free(a->watchdog_ev);
	if (a->hard_stop_ev != NULL)
		event_free(a->hard_stop_ev);
	if (a->board_start_ev != NULL)
		event_free(a->board_start_ev);
	free(a->deployment);
	free(a->lease_name);
	free(a->build);
	free(a->selector);
	free(a->board_key);
	free(a->holder);
	free(a->last_error);
	for (size_t i = 0; i < a->npending; i++)
		free(a->pending[i]);
	free(a->pending);
	event_base_free(a->base);
}

/* Run the agent. */
int
agent_run(const struct agent_config *cfg)
{
	struct agent a;
	char *cause = NULL;
	uint64_t usec = 0;

	memset(&a, 0, sizeof a);
	a.cfg = cfg;
	a.start_us = timefmt_now_us();
	signal(SIGPIPE, SIG_IGN);
	log_set_context("pod", cfg->pod);
	a.base = event_base_new();
	if (a.base == NULL)
		abort();
	a.sig_term = evsignal_new(a.base, SIGTERM, agent_signal_cb, &a);
	a.sig_int = evsignal_new(a.base, SIGINT, agent_signal_cb, &a);
	a.sig_hup = evsignal_new(a.base, SIGHUP, agent_signal_cb, &a);
	a.reload_ev = evtimer_new(a.base, agent_reload_cb, &a);
	a.watchdog_ev = evtimer_new(a.base, agent_watchdog_cb, &a);
	a.hard_stop_ev = evtimer_new(a.base, agent_hard_stop_cb, &a);
	a.board_start_ev = evtimer_new(a.base, agent_board_start_cb, &a);
	if (agent_setup(&a, &cause) != 0) {
		log_error("agent", "cannot start", LS("error", cause));
		fprintf(stderr, "twa agent: %s\n", cause);
		free(cause);
		agent_teardown(&a);
		log_reset_context();
		return 1;
	}
	evsignal_add(a.sig_term, NULL);
	evsignal_add(a.sig_int, NULL);
	evsignal_add(a.sig_hup, NULL);
	log_info("agent", "started", LS("deployment", a.deployment),
	    LS("lease", a.lease_name), LS("namespace", cfg->pod_namespace),
	    LI("http_port", httpd_port(a.h)), LS("version", PACKAGE_VERSION));
	/* one JSON line on stdout says where the HTTP endpoints are */
	{
		json_t *j = json_pack("{s:i, s:s}", "http", httpd_port(a.h),
		    "pod", cfg->pod);
		char *line = json_dumps(j, JSON_COMPACT);

		printf("%s\n", line);
		fflush(stdout);
		free(line);
		json_decref(j);
	}
	probe_start(a.pr);
	lease_start(a.l);
	/*
	 * The board writes once the elector has seen (or created) the Lease,
	 * so its first write does not meet a missing Lease; if the elector
	 * sees nothing for a lease duration, the board starts anyway.
	 */
	agent_arm(a.board_start_ev, cfg->lease_ms);
	agent_arm(a.reload_ev, cfg->reload_ms);
	if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
		a.watchdog_us = usec;
		agent_arm(a.watchdog_ev, (int64_t)(usec / 2000));
	}
	event_base_dispatch(a.base);
	agent_teardown(&a);
	log_reset_context();
	return a.exit_code;
}
