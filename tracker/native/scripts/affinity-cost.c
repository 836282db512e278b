// What holding a thread on one CPU for a job costs (src/pool.h, CallerPin): pthread_setaffinity_np to one CPU and back
// to the thread's own mask, 20,000 pairs, µs per pair. Build and run:
//   gcc -O2 -o /tmp/affinity-cost tracker/native/scripts/affinity-cost.c -lpthread && /tmp/affinity-cost
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <time.h>

int main(void) {
  cpu_set_t one, own;
  pthread_getaffinity_np(pthread_self(), sizeof own, &own);
  CPU_ZERO(&one);
  CPU_SET(sched_getcpu(), &one);
  struct timespec a, b;
  const int n = 20000;
  clock_gettime(CLOCK_MONOTONIC, &a);
  for (int i = 0; i < n; i++) {
    pthread_setaffinity_np(pthread_self(), sizeof one, &one);
    pthread_setaffinity_np(pthread_self(), sizeof own, &own);
  }
  clock_gettime(CLOCK_MONOTONIC, &b);
  printf("%.2f µs per pin + restore\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / n / 1000.0);
  return 0;
}
