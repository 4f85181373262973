/* floor: the least a job runner can do per job, as a yardstick for prun.
 *
 *   floor N J PROGRAM [ARG...]
 *
 * Starts N processes of PROGRAM ARG... (each "{}" in an argument becomes the job number,
 * 1..N), at most J at a time, with posix_spawnp and the inherited environment, stdin,
 * stdout and stderr, and reaps them with wait(): a runner that does nothing else. Exits 0
 * if every process exited 0, else 1.
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

int main(int argc, char **argv) {
    if (argc < 4) { fprintf(stderr, "usage: floor N J PROGRAM [ARG...]\n"); return 2; }
    long n = atol(argv[1]), j = atol(argv[2]);
    int nargs = argc - 3;
    char **args = calloc(nargs + 1, sizeof *args);
    long started = 0, running = 0, failed = 0;
    while (started < n || running > 0) {
        while (started < n && running < j) {
            started++;
            for (int i = 0; i < nargs; i++) args[i] = with_number(argv[3 + i], started);
            pid_t pid;
            int rc = posix_spawnp(&pid, args[0], NULL, NULL, args, environ);
            if (rc) { fprintf(stderr, "floor: spawn: %s\n", strerror(rc)); return 1; }
            for (int i = 0; i < nargs; i++) if (args[i] != argv[3 + i]) free(args[i]);
            running++;
        }
        int status;
        if (wait(&status) < 0) { perror("floor: wait"); return 1; }
        running--;
        if (status != 0) failed++;
    }
    return failed ? 1 : 0;
}
