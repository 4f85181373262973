/* alternate: start-up times of whole commands, measured alternately.
 *
 *   alternate ROUNDS 'CMD ARG...' 'CMD ARG...' ...
 *
 * Runs each command once per round, in turn (words split on spaces, no quoting; stdout
 * and stderr to /dev/null), timing spawn to reap with CLOCK_MONOTONIC, and prints one
 * line per command: the median in ms and its ratio to the first command's median.
 * Alternating keeps a drifting, shared machine from favouring whichever command ran
 * while it was quiet, which back-to-back batches (hyperfine's way) do not.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

extern char **environ;

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: alternate ROUNDS 'CMD ARG...'...\n");
        return 2;
    }
    int rounds = atoi(argv[1]), n = argc - 2;
    char ***av = calloc((size_t)n, sizeof *av);
    for (int i = 0; i < n; i++) {
        av[i] = calloc(strlen(argv[i + 2]) + 2, sizeof(char *));
        int k = 0;
        for (char *t = strtok(strdup(argv[i + 2]), " "); t; t = strtok(NULL, " ")) av[i][k++] = t;
    }
    double *t = calloc((size_t)rounds * (size_t)n, sizeof *t);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    for (int r = 0; r < rounds; r++) {
        for (int i = 0; i < n; i++) {
            struct timespec a, b;
            pid_t pid;
            int status;
            clock_gettime(CLOCK_MONOTONIC, &a);
            if (posix_spawnp(&pid, av[i][0], &fa, NULL, av[i], environ) != 0) {
                perror(av[i][0]);
                return 1;
            }
            waitpid(pid, &status, 0);
            clock_gettime(CLOCK_MONOTONIC, &b);
            t[i * rounds + r] = (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
        }
    }
    double first = 0;
    for (int i = 0; i < n; i++) {
        qsort(t + i * rounds, (size_t)rounds, sizeof *t, cmp);
        double m = t[i * rounds + rounds / 2];
        if (i == 0) first = m;
        printf("%.3f %.3f\n", m, m / first);
    }
    return 0;
}
