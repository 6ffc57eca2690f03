/*
 * e2e_int: what e2e.c (the world, the pods) and e2e_state.c (reading the
 * simulators, the timeline, conditions, the human) share. Tests use e2e.h.
 */
#ifndef TWA_E2E_INT_H
#define TWA_E2E_INT_H

#include <stdbool.h>
#include <sys/types.h>

#include <jansson.h>

#include "e2e.h"

struct proc;

/* One pod the kubelet runs. */
struct e2e_pod {
	char		*name;
	char		*uid;
	char		*deployment;
	char		*build;
	char		*dir;
	pid_t		 agent;		/* -1: not running */
	int		 agent_status;
	struct proc	*worker;
	int		 worker_port;
	bool		 terminating;
	bool		 gone;		/* both processes reaped */
	long long	 term_at;
	int		 restarts;
	bool		 killed;	/* last exit was a signal we sent */
	long long	 restart_at;	/* 0: no restart pending */
};

/* What the test asked for one Deployment. */
struct e2e_dep {
	char		*name;
	char		*build;
	int		 workflows;
};

struct e2e {
	struct e2e_opts	 o;
	char		*dir;
	char		*twa;
	char		*fakeworker;
	struct proc	*ksim, *tsim;
	int		 kport, kadmin, tgrpc, tadmin;
	char		 taddr[64];
	char		*ca, *token;
	long long	 t0;
	bool		 valgrind;
	struct e2e_pod	*pods;
	size_t		 npods;
	struct e2e_dep	*deps;
	size_t		 ndeps;
	int		 restarts;
	int		 agent_failures;
	char		*failures;	/* what failed, for e2e_stop */
	/* timeline */
	long long	 last_observe;
	char		*tl_current, *tl_ramp, *tl_leader;
	json_t		*tl_events;	/* names seen */
	json_t		*tl_deps;	/* name -> replicas */
	json_t		*tl_versions;	/* build -> status */
	json_t		*tl_runs;	/* workflowId -> status (gates) */
	struct e2e_route *routes;
	size_t		 nroutes;
};

/* Fail the test (or the program, after e2e_standalone) with a message. */
void e2e_die(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
/* A string member of o, or "". */
const char *e2e_s(json_t *o, const char *k);
/* Print the world to stderr (a failed wait). */
void e2e_dump(struct e2e *w);
/* Print what changed since the last look and record routing states. */
void e2e_observe(struct e2e *w);

#endif
