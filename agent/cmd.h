/* cmd: the subcommands of twa. Each returns the process exit status. */
#ifndef TWA_CMD_H
#define TWA_CMD_H

/* Exit status for a usage error. */
#define CMD_EXIT_USAGE 2

/* twa version: version and enabled build options. */
int cmd_version(int argc, char **argv);
/* twa annotations: the reference of every label and annotation. */
int cmd_annotations(int argc, char **argv);
/* twa build-id: the build ID of a Deployment, pod, template or container. */
int cmd_build_id(int argc, char **argv);
/* twa status NAME: what the leader published on the Lease twa-NAME. */
int cmd_status(int argc, char **argv);
/* twa webhook: the admission webhook over HTTPS. */
int cmd_webhook(int argc, char **argv);
/* twa agent: the sidecar in every worker pod. */
int cmd_agent(int argc, char **argv);

#endif
