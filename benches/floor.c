/* floor: the least a job runner can do per job, as a yardstick for prun.
 *
 *   floor [-H HOOK] N J PROGRAM [ARG...]
 *
 * Starts N processes of PROGRAM ARG... (each "{}" in an argument becomes the job number,
 * 1..N), at most J at a time, with posix_spawnp and the inherited environment, stdin,
 * stdout and stderr, and reaps them with wait(): a runner that does nothing else. Exits 0
 * if every process exited 0, else 1.
 *
 * With -H, each job that ends also gets a hook: the program HOOK (no arguments), run one
 * hook at a time in the order jobs end, while the pool goes on - prun's contract for
 * `on_success` hooks, kept with nothing else around it (no pipes, timeouts, process
 * groups or threads: one loop and wait()). It is the ceiling of one-at-a-time hooks on
 * this machine: no runner that keeps the contract can do less per hook.
 */
#define _GNU_SOURCE
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

extern char **environ;

/* arg with every "{}" replaced by n (a new string), or arg itself. */
static char *with_number(char *arg, long n) {
    if (!strstr(arg, "{}")) return arg;
    char num[24];
    int nlen = snprintf(num, sizeof num, "%ld", n);
    char *out = malloc(strlen(arg) * (size_t)nlen + 1), *o = out;
    for (char *p = arg; *p;) {
        if (p[0] == '{' && p[1] == '}') { memcpy(o, num, nlen); o += nlen; p += 2; }
        else *o++ = *p++;
    }
    *o = 0;
    return out;
}

static pid_t spawn(char **args) {
    pid_t pid;
    int rc = posix_spawnp(&pid, args[0], NULL, NULL, args, environ);
    if (rc) { fprintf(stderr, "floor: spawn %s: %s\n", args[0], strerror(rc)); exit(1); }
    return pid;
}

int main(int argc, char **argv) {
    char *hook_args[2] = {NULL, NULL};
    if (argc > 2 && strcmp(argv[1], "-H") == 0) {
        hook_args[0] = argv[2];
        argv += 2;
        argc -= 2;
    }
    if (argc < 4) { fprintf(stderr, "usage: floor [-H HOOK] N J PROGRAM [ARG...]\n"); return 2; }
    long n = atol(argv[1]), j = atol(argv[2]);
    int nargs = argc - 3;
    char **args = calloc(nargs + 1, sizeof *args);
    long started = 0, running = 0, failed = 0, hooks_due = 0;
    pid_t hook = 0;
    while (started < n || running > 0 || hook || hooks_due) {
        while (started < n && running < j) {
            started++;
            for (int i = 0; i < nargs; i++) args[i] = with_number(argv[3 + i], started);
            spawn(args);
            for (int i = 0; i < nargs; i++) if (args[i] != argv[3 + i]) free(args[i]);
            running++;
        }
        if (!hook && hooks_due) {
            hooks_due--;
            hook = spawn(hook_args);
        }
        int status;
        pid_t pid = wait(&status);
        if (pid < 0) { perror("floor: wait"); return 1; }
        if (status != 0) failed++;
        if (pid == hook) {
            hook = 0;
        } else {
            running--;
            if (hook_args[0]) hooks_due++;
        }
    }
    return failed ? 1 : 0;
}
