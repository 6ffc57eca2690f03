/*
 * agent_int: what agent.c (process wiring) and agent_pages.c (the HTTP
 * pages) share. Not for other modules: the interface is agent.h.
 */
#ifndef TWA_AGENT_INT_H
#define TWA_AGENT_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "agent.h"

struct agentconf;
struct board;
struct event;
struct event_base;
struct httpd;
struct kube;
struct leader;
struct lease;
struct probe;

/* Distinct API error labels counted for /metrics. */
#define AGENT_MAX_ERROR_CODES	16

/* One API error label ("404", "timeout") and its count. */
struct agent_apierr {
	char		label[16];
	uint64_t	n;
};

/* The agent process: every part it wires and the state between them. */
struct agent {
	const struct agent_config *cfg;
	struct event_base	*base;
	struct agentconf	*conf;
	struct kube		*k;
	struct lease		*l;
	struct board		*b;
	struct leader		*ld;
	struct probe		*pr;
	struct httpd		*h;
	struct event		*sig_term, *sig_int, *sig_hup;
	struct event		*reload_ev, *watchdog_ev, *hard_stop_ev;
	struct event		*board_start_ev;

	char			*deployment, *lease_name, *build, *selector;
	char			*board_key;
	int64_t			 start_us;
	int64_t			 report_ms;	/* the board's interval */
	uint64_t		 watchdog_us;

	bool			 board_started, lease_ok, ready, stopping;
	bool			 leading;
	char			*holder;
	uint64_t		 transitions_seen, lease_objects;
	uint64_t		 events_sent, events_failed;
	uint64_t		 board_failures_seen;
	struct agent_apierr	 apierr[AGENT_MAX_ERROR_CODES];
	char			*last_error;
	int64_t			 last_error_us;
	char			**pending;	/* warnings before the client */
	size_t			 npending;
	int			 exit_code;
};

/* The HTTP pages (httpd_page_cb); arg is the struct agent. */
int agent_page_healthz(FILE *out, void *arg);
int agent_page_readyz(FILE *out, void *arg);
int agent_page_metrics(FILE *out, void *arg);
int agent_page_status(FILE *out, void *arg);

#endif
