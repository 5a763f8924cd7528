/*
 * files: file I/O inside a preopened directory, and the sandbox around it.
 *
 * Target: wasm32-wasip1
 *
 * argv[1] is the guest path of a preopened, empty, writable directory. The program changes
 * into it and then creates, writes, syncs, seeks, reads, appends to, stats, renames and
 * lists files, makes and removes a directory, unlinks a file, and allocates space in a
 * file and truncates it again, printing one line per step. Last it tries to create `../outside.txt` and `../outside-dir` and to open
 * `/etc/passwd`, which must all fail, and prints the errno name of each failure.
 *
 * Expected output (argv[1] = /sandbox), exit status 0:
 *
 *     chdir /sandbox: ok
 *     create notes.txt: ok
 *     write "hello\n": 6
 *     fsync: ok
 *     lseek 0 SEEK_SET: 0
 *     read 64: "hello\n"
 *     lseek 1 SEEK_SET: 1
 *     read 3: "ell"
 *     lseek 0 SEEK_END: 6
 *     close: ok
 *     open O_APPEND, write "world\n": 6
 *     stat notes.txt: size 12, regular file
 *     read notes.txt: "hello\nworld\n"
 *     rename notes.txt renamed.txt: ok
 *     stat notes.txt: ENOENT
 *     mkdir sub: ok
 *     mkdir sub again: EEXIST
 *     create sub/inner.txt, a.txt, b.txt: ok
 *     list .: a.txt b.txt renamed.txt sub/
 *     list sub: inner.txt
 *     rmdir sub: ENOTEMPTY
 *     unlink sub/inner.txt: ok
 *     rmdir sub: ok
 *     unlink b.txt: ok
 *     list .: a.txt renamed.txt
 *     posix_fallocate a.txt 4096, ftruncate 2: ok
 *     open ../outside.txt: EPERM
 *     mkdir ../outside-dir: EPERM
 *     open /etc/passwd: ENOENT
 *     done
 *
 * `../outside.txt` reaches the runtime as a path climbing out of the preopened directory,
 * which it must refuse: EPERM, as Wasmtime answers. `/etc/passwd` matches no preopened
 * directory, so wasi-libc itself answers ENOENT without asking the runtime.
 *
 * The directory is left holding exactly `a.txt` ("a\n") and `renamed.txt`
 * ("hello\nworld\n"). A failed step prints what went wrong on stderr and exits with a status
 * of 10 or more that tells the step apart.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The errno names this program can meet; any other is printed as a number. */
static const char *errno_name(int error) {
    switch (error) {
    case 0: return "0";
    case EACCES: return "EACCES";
    case EBADF: return "EBADF";
    case EEXIST: return "EEXIST";
    case EINVAL: return "EINVAL";
    case EISDIR: return "EISDIR";
    case ENOENT: return "ENOENT";
    case ENOSYS: return "ENOSYS";
    case ENOTCAPABLE: return "ENOTCAPABLE";
    case ENOTDIR: return "ENOTDIR";
    case ENOTEMPTY: return "ENOTEMPTY";
    case EPERM: return "EPERM";
    case EROFS: return "EROFS";
    default: {
        static char number[16];
        snprintf(number, sizeof number, "errno %d", error);
        return number;
    }
    }
}

/* Fails the program with `status` when `ok` is false, naming the step and errno. */
#define CHECK(ok, status)                                                               \
    do {                                                                                \
        if (!(ok)) {                                                                    \
            fprintf(stderr, "files: check failed on line %d: %s (errno: %s)\n",         \
                    __LINE__, #ok, errno_name(errno));                                  \
            return (status);                                                            \
        }                                                                               \
    } while (0)

/* Prints `data` in double quotes with newlines as \n. */
static void print_quoted(const char *data, size_t len) {
    putchar('"');
    for (size_t i = 0; i < len; i++) {
        if (data[i] == '\n') {
            fputs("\\n", stdout);
        } else {
            putchar(data[i]);
        }
    }
    putchar('"');
}

static int compare_names(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Prints `list DIR:` and its entries sorted, directories with a trailing slash. Returns the
 * number of entries, or -1. */
static int list(const char *dir) {
    char *names[32];
    int count = 0;
    DIR *stream = opendir(dir);
    if (!stream) {
        return -1;
    }
    struct dirent *entry;
    errno = 0;
    while ((entry = readdir(stream)) != NULL) {
        if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0) {
            continue;
        }
        if (count == 32) {
            closedir(stream);
            return -1;
        }
        size_t len = strlen(entry->d_name);
        names[count] = malloc(len + 2);
        memcpy(names[count], entry->d_name, len + 1);
        if (entry->d_type == DT_DIR) {
            strcat(names[count], "/");
        }
        count++;
    }
    int error = errno;
    closedir(stream);
    if (error != 0) {
        return -1;
    }
    qsort(names, count, sizeof names[0], compare_names);
    printf("list %s:", dir);
    for (int i = 0; i < count; i++) {
        printf(" %s", names[i]);
        free(names[i]);
    }
    printf("\n");
    return count;
}

/* Creates `path` holding `contents` through stdio. */
static int create_with(const char *path, const char *contents) {
    FILE *file = fopen(path, "wx");
    if (!file) {
        return -1;
    }
    int ok = fputs(contents, file) >= 0;
    return fclose(file) == 0 && ok ? 0 : -1;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: files.wasm DIR (a preopened, empty, writable directory)\n");
        return 2;
    }
    const char *dir = argv[1];
    char buffer[64];
    struct stat info;

    CHECK(chdir(dir) == 0, 10);
    printf("chdir %s: ok\n", dir);

    int fd = open("notes.txt", O_RDWR | O_CREAT | O_EXCL, 0644);
    CHECK(fd >= 0, 11);
    printf("create notes.txt: ok\n");

    CHECK(write(fd, "hello\n", 6) == 6, 12);
    printf("write \"hello\\n\": 6\n");

    CHECK(fsync(fd) == 0, 13);
    printf("fsync: ok\n");

    CHECK(lseek(fd, 0, SEEK_SET) == 0, 14);
    printf("lseek 0 SEEK_SET: 0\n");

    ssize_t got = read(fd, buffer, sizeof buffer);
    CHECK(got == 6 && memcmp(buffer, "hello\n", 6) == 0, 15);
    printf("read 64: ");
    print_quoted(buffer, (size_t)got);
    printf("\n");

    CHECK(lseek(fd, 1, SEEK_SET) == 1, 16);
    printf("lseek 1 SEEK_SET: 1\n");

    got = read(fd, buffer, 3);
    CHECK(got == 3 && memcmp(buffer, "ell", 3) == 0, 17);
    printf("read 3: ");
    print_quoted(buffer, (size_t)got);
    printf("\n");

    CHECK(lseek(fd, 0, SEEK_END) == 6, 18);
    printf("lseek 0 SEEK_END: 6\n");

    CHECK(close(fd) == 0, 19);
    printf("close: ok\n");

    fd = open("notes.txt", O_WRONLY | O_APPEND);
    CHECK(fd >= 0, 20);
    CHECK(write(fd, "world\n", 6) == 6, 21);
    CHECK(close(fd) == 0, 22);
    printf("open O_APPEND, write \"world\\n\": 6\n");

    CHECK(stat("notes.txt", &info) == 0, 23);
    CHECK(info.st_size == 12 && S_ISREG(info.st_mode), 24);
    printf("stat notes.txt: size %lld, regular file\n", (long long)info.st_size);

    fd = open("notes.txt", O_RDONLY);
    CHECK(fd >= 0, 25);
    got = read(fd, buffer, sizeof buffer);
    CHECK(got == 12 && memcmp(buffer, "hello\nworld\n", 12) == 0, 26);
    CHECK(close(fd) == 0, 27);
    printf("read notes.txt: ");
    print_quoted(buffer, (size_t)got);
    printf("\n");

    CHECK(rename("notes.txt", "renamed.txt") == 0, 28);
    printf("rename notes.txt renamed.txt: ok\n");

    CHECK(stat("notes.txt", &info) == -1 && errno == ENOENT, 29);
    printf("stat notes.txt: %s\n", errno_name(errno));

    CHECK(mkdir("sub", 0755) == 0, 30);
    printf("mkdir sub: ok\n");

    CHECK(mkdir("sub", 0755) == -1 && errno == EEXIST, 31);
    printf("mkdir sub again: %s\n", errno_name(errno));

    CHECK(create_with("sub/inner.txt", "inner\n") == 0, 32);
    CHECK(create_with("a.txt", "a\n") == 0, 33);
    CHECK(create_with("b.txt", "b\n") == 0, 34);
    printf("create sub/inner.txt, a.txt, b.txt: ok\n");

    CHECK(list(".") == 4, 35);
    CHECK(list("sub") == 1, 36);

    CHECK(rmdir("sub") == -1 && errno == ENOTEMPTY, 37);
    printf("rmdir sub: %s\n", errno_name(errno));

    CHECK(unlink("sub/inner.txt") == 0, 38);
    printf("unlink sub/inner.txt: ok\n");

    CHECK(rmdir("sub") == 0, 39);
    printf("rmdir sub: ok\n");

    CHECK(unlink("b.txt") == 0, 40);
    printf("unlink b.txt: ok\n");

    CHECK(list(".") == 2, 41);

    fd = open("a.txt", O_RDWR);
    CHECK(fd >= 0, 45);
    CHECK(posix_fallocate(fd, 0, 4096) == 0, 46);
    CHECK(fstat(fd, &info) == 0 && info.st_size == 4096, 47);
    CHECK(ftruncate(fd, 2) == 0, 48);
    CHECK(fstat(fd, &info) == 0 && info.st_size == 2, 49);
    CHECK(close(fd) == 0, 50);
    printf("posix_fallocate a.txt 4096, ftruncate 2: ok\n");

    /* The sandbox: neither a path climbing out of the directory nor one outside every
     * preopened directory can be opened. */
    fd = open("../outside.txt", O_WRONLY | O_CREAT, 0644);
    CHECK(fd == -1, 42);
    printf("open ../outside.txt: %s\n", errno_name(errno));

    CHECK(mkdir("../outside-dir", 0755) == -1, 44);
    printf("mkdir ../outside-dir: %s\n", errno_name(errno));

    fd = open("/etc/passwd", O_RDONLY);
    CHECK(fd == -1, 43);
    printf("open /etc/passwd: %s\n", errno_name(errno));

    printf("done\n");
    return 0;
}
