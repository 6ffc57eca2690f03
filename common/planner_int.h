/* planner_int: what the planner's own files share; not for other modules. */
#ifndef TWA_PLANNER_INT_H
#define TWA_PLANNER_INT_H

#include "planner.h"

/* One version as the planner sees it: a build ID known to either side. */
struct pl_version {
	const char			*build;
	const struct planner_version	*sum;		/* NULL: Temporal does not know it */
	enum planner_state		 state;
	bool				 activated;	/* ever Current or Ramping */
	int64_t				 created;	/* newest Deployment, else summary */
	const struct planner_deployment	*newest;	/* newest live Deployment, or NULL */
	size_t				 ndeps;		/* Deployments, deleting ones too */
	size_t				 nlive;		/* not being deleted */
	int64_t				 replicas;	/* spec.replicas over live ones */
	int				 healthy;
	int				 reporting;	/* non-terminating fresh entries */
	int				 total;
	struct planner_status_version	*st;
};

/* Health of the target against its min-ready. */
struct pl_health {
	int		required;
	bool		met;
	bool		impossible;	/* a count above the version's pods */
	int64_t		below_since;	/* !met: when the deficit began */
	int64_t		met_since;	/* met: since when */
};

/* One planning pass. */
struct pl_ctx {
	const struct planner_observed	*obs;
	const struct planner_config	*cfg;
	int64_t				 now;
	int64_t				 stale_before;	/* health written before: stale */
	const struct settings		*s;		/* deployment-wide settings */
	struct pl_version		*v;		/* newest first */
	size_t				 nv;
	struct pl_version		*target;
	struct pl_version		*current;	/* NULL: unversioned */
	struct pl_version		*ramping;	/* NULL: none or unversioned */
	bool				 ramp_exists;
	bool				 held;		/* manager held by another */
	struct planner_result		*out;
	size_t				 acap;
};

/* planner.c */
struct pl_version *pl_find(struct pl_ctx *c, const char *build);
void	 pl_health(struct pl_ctx *c, struct pl_version *v, struct pl_health *h);
bool	 pl_token_ok(const struct pl_ctx *c);
int64_t	 pl_add(int64_t t, int64_t d);

/* planner_rollout.c */
void	 pl_rollout(struct pl_ctx *c);

/* planner_sunset.c */
void	 pl_sunset(struct pl_ctx *c);
void	 pl_warnings(struct pl_ctx *c);

/* planner_result.c */
struct planner_action *pl_push(struct pl_ctx *c, enum planner_action_kind k,
	    struct pl_version *v, enum planner_event_type et,
	    const char *event_reason, const char *fmt, ...)
	    __attribute__((format(printf, 6, 7)));
void	 pl_event(struct pl_ctx *c, struct pl_version *v,
	    const struct planner_deployment *d, enum planner_event_type et,
	    const char *event_reason, const char *fmt, ...)
	    __attribute__((format(printf, 6, 7)));
void	 pl_block(struct pl_ctx *c, struct pl_version *v, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
void	 pl_note(struct pl_ctx *c, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	 pl_held(struct pl_ctx *c, struct pl_version *v, const char *wanted);
void	 pl_wake(struct pl_ctx *c, int64_t t);
void	 pl_sort(struct planner_result *r);
void	 pl_fmt_time(int64_t ms, char *buf, size_t len);
void	 pl_fmt_dur(int64_t ms, char *buf, size_t len);

#endif
