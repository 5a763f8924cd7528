/*
 * shared_fd: threads writing through one descriptor lose nothing.
 *
 * Target: wasm32-wasip1-threads
 *
 * argv[1] is the guest path of a preopened, writable directory. Four threads write 2000
 * records of 32 bytes each with write(2) to one descriptor of `records.bin`, opened once by
 * main, at the descriptor's position (no O_APPEND): every write must land after the others,
 * none on top of another. Main then reads the file back and checks that it is exactly
 * 4 x 2000 records long and that every record is there exactly once and whole. Expected
 * output, exit status 0:
 *
 *     8000 records of 32 bytes, each exactly once
 *
 * Status 1: bad arguments or a thread could not be created; 2: a write or read failed;
 * 3: the file has the wrong size; 4: a record is torn, missing or repeated.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define THREADS 4
#define RECORDS 2000
#define RECORD 32

static int fd;

static void *writer(void *arg) {
    int thread = (int)(long)arg;
    char record[RECORD + 1];
    for (int i = 0; i < RECORDS; i++) {
        /* 31 visible bytes and a newline: "t<thread> r<index>" padded with dots. */
        int n = snprintf(record, sizeof record, "t%d r%05d", thread, i);
        memset(record + n, '.', RECORD - 1 - n);
        record[RECORD - 1] = '\n';
        if (write(fd, record, RECORD) != RECORD) {
            exit(2);
        }
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 2 || chdir(argv[1]) != 0) {
        return 1;
    }
    fd = open("records.bin", O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        return 2;
    }
    pthread_t threads[THREADS];
    for (long t = 0; t < THREADS; t++) {
        if (pthread_create(&threads[t], NULL, writer, (void *)t) != 0) {
            return 1;
        }
    }
    for (int t = 0; t < THREADS; t++) {
        pthread_join(threads[t], NULL);
    }
    static char contents[THREADS * RECORDS * RECORD + 1];
    if (lseek(fd, 0, SEEK_SET) != 0) {
        return 2;
    }
    ssize_t total = 0, got;
    while ((got = read(fd, contents + total, sizeof contents - total)) > 0) {
        total += got;
    }
    if (got < 0) {
        return 2;
    }
    if (total != THREADS * RECORDS * RECORD) {
        fprintf(stderr, "the file holds %ld bytes\n", (long)total);
        return 3;
    }
    static unsigned char seen[THREADS][RECORDS];
    for (ssize_t at = 0; at < total; at += RECORD) {
        int thread, index;
        char *record = contents + at;
        if (sscanf(record, "t%d r%05d", &thread, &index) != 2 || thread < 0 ||
            thread >= THREADS || index < 0 || index >= RECORDS || record[RECORD - 1] != '\n' ||
            seen[thread][index]++) {
            fprintf(stderr, "bad record at %ld: %.32s\n", (long)at, record);
            return 4;
        }
    }
    printf("%d records of %d bytes, each exactly once\n", THREADS * RECORDS, RECORD);
    return 0;
}
