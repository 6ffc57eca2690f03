/*
 * elector: a test program running one Lease elector (optionally with its
 * health board), or N board-only health writers, against an API server.
 * It prints one ready line on stdout and appends its transitions as JSON
 * lines to --events: {"t":<monotonic ms>,"id":...,"ev":"started"|
 * "stopped"|"act"|"stats"|"exit",...}.
 */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "board.h"
#include "kube.h"
#include "lease.h"
#include "log.h"
#include "opts.h"
#include "xalloc.h"

enum {
	O_SERVER, O_CA, O_TOKEN, O_NS, O_LEASE, O_ID, O_LEASE_MS, O_RENEW_MS,
	O_RETRY_MS, O_POLL, O_BOARD, O_REPORT_MS, O_EVENTS, O_ACT_MS,
	O_WRITERS, O_STATS_MS, O_STANDBYS, O_LOG_LEVEL, O_COUNT
};

static const struct opt_spec specs[] = {
	[O_SERVER] = { "server", 0, OPT_STRING, "URL", NULL, "API server URL", 0, 0 },
	[O_CA] = { "ca", 0, OPT_STRING, "FILE", NULL, "CA bundle", 0, 0 },
	[O_TOKEN] = { "token-file", 0, OPT_STRING, "FILE", NULL, "bearer token file", 0, 0 },
	[O_NS] = { "namespace", 0, OPT_STRING, "NS", "work", "namespace of the Lease", 0, 0 },
	[O_LEASE] = { "lease", 0, OPT_STRING, "NAME", "twa-e2e", "Lease name", 0, 0 },
	[O_ID] = { "identity", 0, OPT_STRING, "ID", NULL, "holder identity (pod name)", 0, 0 },
	[O_LEASE_MS] = { "lease-duration", 0, OPT_DURATION, "D", "15s", "lease duration", 1000, 3600000 },
	[O_RENEW_MS] = { "renew-deadline", 0, OPT_DURATION, "D", "10s", "renew deadline", 1, 3600000 },
	[O_RETRY_MS] = { "retry-period", 0, OPT_DURATION, "D", "2s", "retry period", 1, 3600000 },
	[O_POLL] = { "poll", 0, OPT_FLAG, NULL, NULL, "poll the Lease at the retry period (no board standby logic)", 0, 0 },
	[O_BOARD] = { "board", 0, OPT_FLAG, NULL, NULL, "also run the health board", 0, 0 },
	[O_REPORT_MS] = { "report-interval", 0, OPT_DURATION, "D", "15s", "health report interval", 100, 3600000 },
	[O_EVENTS] = { "events", 0, OPT_STRING, "FILE", NULL, "append transitions here", 0, 0 },
	[O_ACT_MS] = { "act-every", 0, OPT_DURATION, "D", "0", "while leading, act (and log it) this often", 0, 60000 },
	[O_WRITERS] = { "writers", 0, OPT_INT, "N", "0", "run N board-only writers instead of an elector", 0, 5000 },
	[O_STATS_MS] = { "stats-every", 0, OPT_DURATION, "D", "0", "log counters this often", 0, 3600000 },
	[O_STANDBYS] = { "standbys", 0, OPT_INT, "N", "2", "standbys the leader names", 0, 100 },
	[O_LOG_LEVEL] = { "log-level", 0, OPT_STRING, "L", "warn", "debug, info, warn, error", 0, 0 },
};

struct writer {
	struct kube	*k;
	struct board	*b;
	char		*pod;
};

struct elector {
	struct event_base	*base;
	struct kube		*k;
	struct lease		*l;
	struct board		*b;
	struct writer		*w;
	size_t			 nw, stopped_w;
	const char		*id;
	FILE			*events;
	struct event		*act, *stats, *sigterm, *sigint;
	int64_t			 act_ms, stats_ms;
	bool			 stopping;
};

/* Append one event line: {"t":now,"id":id,"ev":ev} plus extra members (JSON text or ""). */
static void
emit(struct elector *e, const char *ev, const char *extra)
{
	if (e->events == NULL)
		return;
	fprintf(e->events, "{\"t\":%lld,\"id\":\"%s\",\"ev\":\"%s\"%s%s}\n",
	    (long long)kube_now_ms(), e->id, ev, *extra != '\0' ? "," : "",
	    extra);
	fflush(e->events);
}

/* Log the elector's counters. */
static void
emit_stats(struct elector *e, const char *ev)
{
	struct lease_stats ls = { 0 };
	char buf[512];
	uint64_t sent = 0;

	if (e->l != NULL)
		lease_get_stats(e->l, &ls);
	if (e->k != NULL)
		sent = kube_requests_sent(e->k);
	for (size_t i = 0; i < e->nw; i++)
		sent += kube_requests_sent(e->w[i].k);
	snprintf(buf, sizeof buf, "\"requests\":%llu,\"lease_requests\":%llu,"
	    "\"renewals\":%llu,\"renew_failures\":%llu,\"acquisitions\":%llu,"
	    "\"lost_races\":%llu,\"renew_max_ms\":%lld,\"renew_sum_ms\":%lld,"
	    "\"polling\":%s", (unsigned long long)sent,
	    (unsigned long long)ls.requests, (unsigned long long)ls.renewals,
	    (unsigned long long)ls.renew_failures,
	    (unsigned long long)ls.acquisitions,
	    (unsigned long long)ls.lost_races, (long long)ls.renew_max_ms,
	    (long long)ls.renew_sum_ms,
	    e->l != NULL && lease_polling(e->l) ? "true" : "false");
	emit(e, ev, buf);
}

/* Timer: act if (and only if) we lead right now. */
static void
act_cb(evutil_socket_t fd, short events, void *arg)
{
	struct elector *e = arg;

	if (e->l != NULL && lease_leading(e->l))
		emit(e, "act", "");
}

/* Timer: periodic counters. */
static void
stats_cb(evutil_socket_t fd, short events, void *arg)
{
	emit_stats(arg, "stats");
}

/* Leadership changed. */
static void
leading_cb(bool leading, void *arg)
{
	struct elector *e = arg;
	struct timeval tv = { e->act_ms / 1000, (e->act_ms % 1000) * 1000 };

	emit(e, leading ? "started" : "stopped", "");
	if (leading && e->act_ms > 0)
		event_add(e->act, &tv);
	else
		event_del(e->act);
	if (leading && e->b != NULL) {
		json_t *st = json_pack("{s:s}", "note", "e2e elector");

		board_set_status(e->b, st);
		json_decref(st);
	}
}

/* Everything stopped: leave the loop. */
static void
all_done(struct elector *e)
{
	emit_stats(e, "exit");
	event_base_loopbreak(e->base);
}

/* A writer's final report is out. */
static void
writer_done_cb(void *arg)
{
	struct elector *e = arg;

	if (++e->stopped_w == e->nw)
		all_done(e);
}

/* The board's final report is out. */
static void
board_done_cb(void *arg)
{
	all_done(arg);
}

/* The lease is released: final health report, then exit. */
static void
released_cb(void *arg)
{
	struct elector *e = arg;

	if (e->b != NULL)
		board_stop(e->b, board_done_cb, e);
	else
		all_done(e);
}

/* SIGTERM/SIGINT: stop leading, release, report terminating, exit. */
static void
signal_cb(evutil_socket_t sig, short events, void *arg)
{
	struct elector *e = arg;

	if (e->stopping)
		return;
	e->stopping = true;
	emit(e, "signal", "");
	if (e->nw > 0) {
		for (size_t i = 0; i < e->nw; i++)
			board_stop(e->w[i].b, writer_done_cb, e);
		return;
	}
	lease_release(e->l, released_cb, e);
}

/* Timer: start one writer's board. */
static void
writer_start_cb(evutil_socket_t fd, short events, void *arg)
{
	board_start(arg);
}

/* A client for the options. */
static struct kube *
make_kube(struct event_base *base, const struct opt_value *v)
{
	struct kube_config c;
	struct kube *k;
	char *cause = NULL;

	if (kube_config_explicit(&c, v[O_SERVER].str, v[O_CA].str,
	    v[O_TOKEN].str, v[O_NS].str, &cause) != 0 ||
	    (k = kube_new(base, &c, &cause)) == NULL) {
		fprintf(stderr, "elector: %s\n", cause);
		exit(2);
	}
	kube_config_clear(&c);
	return k;
}

/* Parse options, run one elector or N writers until SIGTERM, clean up. */
int
main(int argc, char *argv[])
{
	struct opt_value v[O_COUNT];
	struct elector e = { 0 };
	struct board_config bc = { 0 };
	struct lease_config lc = { 0 };
	enum log_level lvl;
	char *cause = NULL;
	int next, rc;

	memset(v, 0, sizeof v);
	rc = opts_parse(specs, O_COUNT, argc, argv, 1, v, &next, &cause);
	if (rc == 1) {
		opts_usage(stdout, "elector [OPTIONS]", "Lease election test "
		    "program.", specs, O_COUNT);
		return 0;
	}
	if (rc != 0 || v[O_SERVER].str == NULL || v[O_ID].str == NULL) {
		fprintf(stderr, "elector: %s\n", rc != 0 ? cause :
		    "--server and --identity are required");
		return 2;
	}
	log_init();
	if (log_level_parse(v[O_LOG_LEVEL].str, &lvl) == 0)
		log_set_level(lvl);
	log_set_context("pod", v[O_ID].str);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	signal(SIGPIPE, SIG_IGN);
	e.base = event_base_new();
	e.id = v[O_ID].str;
	e.act_ms = v[O_ACT_MS].num;
	e.stats_ms = v[O_STATS_MS].num;
	if (v[O_EVENTS].str != NULL &&
	    (e.events = fopen(v[O_EVENTS].str, "a")) == NULL) {
		fprintf(stderr, "elector: cannot open %s\n", v[O_EVENTS].str);
		return 2;
	}
	e.act = event_new(e.base, -1, EV_PERSIST, act_cb, &e);
	e.stats = event_new(e.base, -1, EV_PERSIST, stats_cb, &e);
	e.sigterm = evsignal_new(e.base, SIGTERM, signal_cb, &e);
	e.sigint = evsignal_new(e.base, SIGINT, signal_cb, &e);
	event_add(e.sigterm, NULL);
	event_add(e.sigint, NULL);

	bc.lease_name = v[O_LEASE].str;
	bc.namespace = v[O_NS].str;
	bc.build = "e2e-build";
	bc.report_ms = v[O_REPORT_MS].num;
	bc.debounce_ms = bc.report_ms < 1000 ? bc.report_ms : 1000;
	bc.standbys = (unsigned)v[O_STANDBYS].num;
	if (v[O_WRITERS].num > 0) {
		e.nw = (size_t)v[O_WRITERS].num;
		e.w = xcalloc(e.nw, sizeof *e.w);
		for (size_t i = 0; i < e.nw; i++) {
			e.w[i].pod = xasprintf("%s-%zu", e.id, i);
			e.w[i].k = make_kube(e.base, v);
			bc.pod = e.w[i].pod;
			e.w[i].b = board_new(e.w[i].k, NULL, &bc, &cause);
			if (e.w[i].b == NULL) {
				fprintf(stderr, "elector: %s\n", cause);
				return 2;
			}
			board_set_state(e.w[i].b, BOARD_READY, "");
			/* spread the writers over one interval, as pods would be */
			{
				int64_t at = bc.report_ms * (int64_t)i /
				    (int64_t)e.nw;
				struct timeval tv = { at / 1000,
				    (at % 1000) * 1000 };

				event_base_once(e.base, -1, EV_TIMEOUT,
				    writer_start_cb, e.w[i].b, &tv);
			}
		}
	} else {
		e.k = make_kube(e.base, v);
		lc.name = v[O_LEASE].str;
		lc.namespace = v[O_NS].str;
		lc.identity = e.id;
		lc.lease_ms = v[O_LEASE_MS].num;
		lc.renew_ms = v[O_RENEW_MS].num;
		lc.retry_ms = v[O_RETRY_MS].num;
		lc.poll = v[O_POLL].num != 0;
		e.l = lease_new(e.k, &lc, leading_cb, &e, &cause);
		if (e.l == NULL) {
			fprintf(stderr, "elector: %s\n", cause);
			return 2;
		}
		if (v[O_BOARD].num != 0) {
			bc.pod = e.id;
			e.b = board_new(e.k, e.l, &bc, &cause);
			if (e.b == NULL) {
				fprintf(stderr, "elector: %s\n", cause);
				return 2;
			}
			board_set_state(e.b, BOARD_READY, "");
			board_start(e.b);
		}
		lease_start(e.l);
	}
	if (e.stats_ms > 0) {
		struct timeval tv = { e.stats_ms / 1000,
		    (e.stats_ms % 1000) * 1000 };

		event_add(e.stats, &tv);
	}
	printf("{\"ready\":true,\"pid\":%d}\n", (int)getpid());
	fflush(stdout);
	emit(&e, "ready", "");
	event_base_dispatch(e.base);

	board_free(e.b);
	lease_free(e.l);
	kube_free(e.k);
	for (size_t i = 0; i < e.nw; i++) {
		board_free(e.w[i].b);
		kube_free(e.w[i].k);
		free(e.w[i].pod);
	}
	free(e.w);
	event_free(e.act);
	event_free(e.stats);
	event_free(e.sigterm);
	event_free(e.sigint);
	event_base_free(e.base);
	if (e.events != NULL)
		fclose(e.events);
	log_reset_context();
	curl_global_cleanup();
	free(cause);
	return 0;
}
