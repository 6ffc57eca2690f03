/* test_planner_fixture: an observed world the planner tests build and edit. */
#ifndef TWA_TEST_PLANNER_FIXTURE_H
#define TWA_TEST_PLANNER_FIXTURE_H

#include <stdbool.h>
#include <stdint.h>

#include "planner.h"
#include "settings.h"

#define FX_MAX		16
#define FX_MAX_TQ	4
#define FX_MAX_PODS	64

#define SEC	((int64_t)1000)
#define MIN	(60 * SEC)
#define HOUR	(60 * MIN)
/* 2025-01-01T00:00:00Z, the start of every test clock. */
#define T0	((int64_t)1735689600000)

/*
 * One world. Strings are borrowed (tests pass literals); arrays have fixed
 * capacity. Every Deployment has its own settings slot, set to the
 * fixture's default settings when the Deployment is added.
 */
struct fx {
	int64_t				 now;
	struct settings			 defaults;	/* config->defaults */
	struct settings			 s[FX_MAX];	/* per Deployment */
	struct planner_task_queue	 tq[FX_MAX][FX_MAX_TQ];
	struct planner_version		 ver[FX_MAX];
	struct planner_deployment	 dep[FX_MAX];
	struct planner_health		 pod[FX_MAX_PODS];
	char				 podname[FX_MAX_PODS][32];
	unsigned char			 token[8];
	struct planner_observed		 obs;
	struct planner_config		 cfg;
};

/* The settings every test starts from (the annotation defaults). */
void	 fx_default_settings(struct settings *s);
/* Empty world at now: Temporal observed, token set, nobody manages it. */
void	 fx_init(struct fx *f, int64_t now);
/* Add a version summary; returns it for tweaking. */
struct planner_version *fx_version(struct fx *f, const char *build,
	    enum planner_version_status st);
/* The summary of build, or NULL. */
struct planner_version *fx_find_version(struct fx *f, const char *build);
/* Remove the summary of build (if any). */
void	 fx_remove_version(struct fx *f, const char *build);
/* Add a Deployment with default settings; returns it. */
struct planner_deployment *fx_deploy(struct fx *f, const char *name,
	    const char *build, int64_t created, int replicas);
/* The Deployment called name, or NULL. */
struct planner_deployment *fx_find_deploy(struct fx *f, const char *name);
/* Remove the Deployment called name (if any). */
void	 fx_remove_deploy(struct fx *f, const char *name);
/* The settings of Deployment d. */
struct settings *fx_settings(struct fx *f, struct planner_deployment *d);
/* Add a task queue to v; returns it. */
struct planner_task_queue *fx_queue(struct fx *f, struct planner_version *v,
	    const char *name, enum planner_queue_type type, bool pollers);
/* Add n health entries of build in state, changed at changed, written now. */
void	 fx_pods(struct fx *f, const char *build, int n,
	    enum planner_pod_state state, int64_t changed);
/* Set every entry of build to state, changed at changed. */
void	 fx_set_pods(struct fx *f, const char *build,
	    enum planner_pod_state state, int64_t changed);
/* Remove every entry of build. */
void	 fx_remove_pods(struct fx *f, const char *build);
/* Set routing: current build (NULL: unversioned), changed at t. */
void	 fx_current(struct fx *f, const char *build, int64_t t);
/* Set routing: ramp build at pct, changed at t (build NULL, pct 0: none). */
void	 fx_ramp(struct fx *f, const char *build, double pct, int64_t t);
/* Plan at f->now; fails the test on error. */
void	 fx_plan(struct fx *f, struct planner_result *r);
/* Mark every health entry as written now. */
void	 fx_touch(struct fx *f);
/* Assert the formatted actions of r equal expect. */
#define ck_actions(r, expect) do {					\
	char *fx_a_ = fx_actions(r);					\
	ck_assert_str_eq(fx_a_, (expect));				\
	free(fx_a_);							\
} while (0)
/* Actions as "SetCurrent v2; Event Warning X" (empty: ""). Caller frees. */
char	*fx_actions(const struct planner_result *r);
/* Number of actions of a kind. */
size_t	 fx_count(const struct planner_result *r, enum planner_action_kind k);
/* The first action of a kind, or NULL. */
const struct planner_action *fx_first(const struct planner_result *r,
	    enum planner_action_kind k);
/* The first Event with this reason, or NULL. */
const struct planner_action *fx_event(const struct planner_result *r,
	    const char *event_reason);
/* The status line of build, or NULL. */
const struct planner_status_version *fx_status(const struct planner_result *r,
	    const char *build);

/*
 * The common world of the rule tests: v1 Current (3 pods), v2 the target
 * (Deployment an hour old, 3 ready pods, registered with a workflow and an
 * activity queue that have pollers), managed by us, at T0.
 */
void	 fx_base(struct fx *f, enum settings_rollout rollout);
/* The settings of the target Deployment orders-v2. */
struct settings *fx_v2s(struct fx *f);
/* Put v2 on the ramp at pct, ramping since since, percentage set at changed. */
void	 fx_ramp_v2(struct fx *f, double pct, int64_t since, int64_t changed);
/* Make v1 Drained since t, its Deployment untouched. */
void	 fx_drain_v1(struct fx *f, int64_t t);
/* v2 becomes Current (v1's summary is left as it is). */
void	 fx_promote_v2(struct fx *f);
/* fx_base plus a gate on v2 over two workflow queues and an activity queue. */
void	 fx_gated(struct fx *f, enum settings_rollout rollout);

#endif
