/* tests/lang/test_files.c — the files a cell writes and reads: save() and
 * save_html() replace their target through an exclusive temporary file, never
 * write through a planted symbolic link, never replace a fifo, device or
 * directory, leave no predictable or stray temporary file, and readers' errors
 * never show the bytes of the file they refused. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../harness.h"
#include "lang_test_util.h"

static char dir[256];

static void path_in(char *out, size_t size, const char *name) { snprintf(out, size, "%s/%s", dir, name); }

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f) { perror(path); exit(2); }
    fputs(text, f);
    fclose(f);
}

static bool file_has(const char *path, const char *text)
{
    char buf[256] = {0};
    FILE *f = fopen(path, "r");
    if (!f) return false;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    return n == strlen(text) && !memcmp(buf, text, n);
}

/* Names in dir other than those listed (a stray temporary file shows up here). */
static int count_entries(void)
{
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    if (d) closedir(d);
    return n;
}

static const char *run(lang_session *s, const char *fmt, const char *path, lang_error *err)
{
    char code[1024];
    snprintf(code, sizeof code, fmt, path);
    capture c;
    lang_error_clear(err);
    return cell(s, code, &c, err);
}

static const char *const writers[] = {
    "save('%s', x=arange(3))",
    "line([1, 2, 3]).write_html('%s')",
    "save_html(line([1, 2, 3], show=False), '%s')",
};

static void test_writers_replace_regular_files_through_a_fresh_temporary(void)
{
    lang_session *s = lang_session_new();
    lang_error err = {0};
    char target[512], stale[600];
    for (size_t w = 0; w < sizeof writers / sizeof *writers; w++) {
        path_in(target, sizeof target, "out");
        /* A planted "<target>.tmp" (the old predictable name) pointing at a victim. */
        char victim[512];
        path_in(victim, sizeof victim, "victim");
        write_text(victim, "precious");
        snprintf(stale, sizeof stale, "%s.tmp", target);
        CHECK(symlink(victim, stale) == 0);
        int before = count_entries();
        const char *got = run(s, writers[w], target, &err);
        CHECK(!err.ename[0], "%s: %s", writers[w], got);
        struct stat st;
        CHECK(lstat(target, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0777) == 0644,
              "%s: a regular 0644 file (mode %o)", writers[w], (unsigned)st.st_mode);
        CHECK(st.st_size > 10);
        CHECK(file_has(victim, "precious"), "%s wrote through %s.tmp", writers[w], target);
        CHECK(count_entries() == before + 1, "%s: only the target is new (%d -> %d)", writers[w], before, count_entries());
        /* Replacing an existing regular file works too. */
        got = run(s, writers[w], target, &err);
        CHECK(!err.ename[0], "%s again: %s", writers[w], got);
        CHECK(count_entries() == before + 1);
        unlink(stale);
        unlink(target);
        unlink(victim);
    }
    lang_error_clear(&err);
    lang_session_free(s);
}

static void test_writers_refuse_links_fifos_devices_and_directories(void)
{
    lang_session *s = lang_session_new();
    lang_error err = {0};
    char link[512], victim[512], fifo[512], sub[512];
    path_in(link, sizeof link, "link");
    path_in(victim, sizeof victim, "victim");
    path_in(fifo, sizeof fifo, "fifo");
    path_in(sub, sizeof sub, "sub");
    write_text(victim, "precious");
    CHECK(symlink(victim, link) == 0);
    CHECK(mkfifo(fifo, 0600) == 0);
    CHECK(mkdir(sub, 0700) == 0);
    for (size_t w = 0; w < sizeof writers / sizeof *writers; w++) {
        int before = count_entries();
        run(s, writers[w], link, &err);
        CHECK(!strcmp(err.ename, "OSError") && strstr(err.evalue, "it is a symbolic link; lens only replaces regular files"),
              "%s on a link: %s: %s", writers[w], err.ename, err.evalue);
        struct stat st;
        CHECK(lstat(link, &st) == 0 && S_ISLNK(st.st_mode), "the link itself stays");
        CHECK(file_has(victim, "precious"), "the link's target stays untouched");
        run(s, writers[w], fifo, &err);
        CHECK(!strcmp(err.ename, "OSError") && strstr(err.evalue, "it is a fifo"), "%s: %s", writers[w], err.evalue);
        CHECK(lstat(fifo, &st) == 0 && S_ISFIFO(st.st_mode));
        run(s, writers[w], sub, &err);
        CHECK(!strcmp(err.ename, "OSError") && strstr(err.evalue, "it is a directory"), "%s: %s", writers[w], err.evalue);
        run(s, writers[w], "/dev/null", &err);
        CHECK(!strcmp(err.ename, "OSError") && strstr(err.evalue, "it is a device"), "%s: %s", writers[w], err.evalue);
        char missing[600];
        snprintf(missing, sizeof missing, "%s/no-such-dir/x", dir);
        run(s, writers[w], missing, &err);
        CHECK(!strcmp(err.ename, "OSError") && strstr(err.evalue, "cannot create a file in its directory"), "%s: %s", writers[w], err.evalue);
        CHECK(count_entries() == before, "%s: nothing left behind", writers[w]);
    }
    unlink(link);
    unlink(victim);
    unlink(fifo);
    rmdir(sub);
    lang_error_clear(&err);
    lang_session_free(s);
}

/* load_tensors() on any readable file says why it is not safetensors, never what is in it. */
static void test_reader_errors_never_echo_file_contents(void)
{
    lang_session *s = lang_session_new();
    lang_error err = {0};
    char secret[512];
    path_in(secret, sizeof secret, "secret.txt");
    static const char *const contents[] = {
        "root:x:0:0:hunter2:/root:/bin/bash\n",
        "\x10\0\0\0\0\0\0\0hunter2 password",
        "\x02\0\0\0\0\0\0\0{\"hunter2\": 1}",
    };
    static const size_t lens[] = {36, 24, 22};
    for (size_t i = 0; i < 3; i++) {
        FILE *f = fopen(secret, "wb");
        fwrite(contents[i], 1, lens[i], f);
        fclose(f);
        run(s, "load_tensors('%s')", secret, &err);
        CHECK(!strcmp(err.ename, "OSError") && !strstr(err.evalue, "hunter2") && !strstr(err.evalue, "root"),
              "case %zu: %s", i, err.evalue);
        CHECK(strstr(err.evalue, secret), "names the file: %s", err.evalue);
    }
    run(s, "load_tensors('%s')", dir, &err);
    CHECK(!strcmp(err.ename, "OSError") && strstr(err.evalue, "not a regular file"), "%s", err.evalue);
    unlink(secret);
    lang_error_clear(&err);
    lang_session_free(s);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/lens-files-XXXXXX");
    if (!mkdtemp(dir)) { perror("mkdtemp"); return 2; }
    RUN(test_writers_replace_regular_files_through_a_fresh_temporary);
    RUN(test_writers_refuse_links_fifos_devices_and_directories);
    RUN(test_reader_errors_never_echo_file_contents);
    rmdir(dir);
    return harness_summary();
}
