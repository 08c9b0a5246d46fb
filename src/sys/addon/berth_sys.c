/*
 * berth_sys: the few Linux syscalls Node lacks (mount, umount2, mknod, xattrs,
 * AF_UNIX SOCK_SEQPACKET connect, syncfs, posix_spawn, waitpid, malloc_trim), and a seccomp
 * compiler over libseccomp (seccomp.c). Plain C over
 * node_api.h. Every failure
 * throws an Error shaped like Node's system errors: { code: 'ENOENT',
 * errno: -2, syscall: 'mount', path? }.
 */
#include <node_api.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/xattr.h>
#include <sys/wait.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <unistd.h>

#define MAX_ARGS 5

/* errno -> "ENOENT"; a short table of the codes these calls can return. */
static const char *errno_name(int e) {
  switch (e) {
#define E(x) case x: return #x;
    E(EPERM) E(ENOENT) E(ESRCH) E(EINTR) E(EIO) E(ENXIO) E(E2BIG) E(EBADF)
    E(EAGAIN) E(ENOMEM) E(EACCES) E(EFAULT) E(ENOTBLK) E(EBUSY) E(EEXIST)
    E(EXDEV) E(ENODEV) E(ENOTDIR) E(EISDIR) E(EINVAL) E(ENFILE) E(EMFILE)
    E(ENOTTY) E(EFBIG) E(ENOSPC) E(EROFS) E(EMLINK) E(ERANGE) E(ENAMETOOLONG)
    E(ENOSYS) E(ENOTEMPTY) E(ELOOP) E(ENODATA) E(ENOTSUP) E(EDQUOT)
    E(ECONNREFUSED) E(ENOTSOCK) E(EPROTOTYPE) E(EADDRINUSE) E(ETIMEDOUT)
    E(EPROTONOSUPPORT) E(EAFNOSUPPORT) E(EISCONN) E(ENOTCONN) E(ECONNRESET)
#undef E
    default: return "EUNKNOWN";
  }
}

static napi_value throw_errno(napi_env env, int err, const char *syscall, const char *path) {
  char msg[PATH_MAX + 256];
  const char *code = errno_name(err);
  if (path)
    snprintf(msg, sizeof msg, "%s: %s, %s '%s'", code, strerror(err), syscall, path);
  else
    snprintf(msg, sizeof msg, "%s: %s, %s", code, strerror(err), syscall);
  napi_value jmsg, jcode, error, v;
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &jmsg);
  napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &jcode);
  napi_create_error(env, jcode, jmsg, &error);
  napi_create_int32(env, -err, &v);
  napi_set_named_property(env, error, "errno", v);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, error, "syscall", v);
  if (path) {
    napi_create_string_utf8(env, path, NAPI_AUTO_LENGTH, &v);
    napi_set_named_property(env, error, "path", v);
  }
  napi_throw(env, error);
  return NULL;
}

static napi_value throw_type(napi_env env, const char *msg) {
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
  return NULL;
}

/* Copy a JS string argument into a malloc'd C string. With nullable, null and
 * undefined give *out = NULL. Returns 0 on success, -1 after throwing. */
static int get_string(napi_env env, napi_value v, int nullable, char **out, const char *what) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  *out = NULL;
  if (nullable && (t == napi_null || t == napi_undefined)) return 0;
  if (t != napi_string) {
    char msg[128];
    snprintf(msg, sizeof msg, "%s must be a string%s", what, nullable ? " or null" : "");
    throw_type(env, msg);
    return -1;
  }
  size_t len;
  napi_get_value_string_utf8(env, v, NULL, 0, &len);
  char *s = malloc(len + 1);
  if (!s) { throw_errno(env, ENOMEM, "malloc", NULL); return -1; }
  napi_get_value_string_utf8(env, v, s, len + 1, &len);
  if (strlen(s) != len) { /* embedded NUL: refuse rather than truncate a path */
    free(s);
    char msg[128];
    snprintf(msg, sizeof msg, "%s must not contain NUL bytes", what);
    throw_type(env, msg);
    return -1;
  }
  *out = s;
  return 0;
}

static int get_number(napi_env env, napi_value v, double *out, const char *what) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  if (t == napi_undefined) { *out = 0; return 0; }
  if (t != napi_number) {
    char msg[128];
    snprintf(msg, sizeof msg, "%s must be a number", what);
    throw_type(env, msg);
    return -1;
  }
  napi_get_value_double(env, v, out);
  return 0;
}

static size_t get_args(napi_env env, napi_callback_info info, napi_value *argv) {
  size_t argc = MAX_ARGS;
  napi_value undef;
  napi_get_undefined(env, &undef);
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  for (size_t i = argc; i < MAX_ARGS; i++) argv[i] = undef;
  return argc;
}

static napi_value undefined(napi_env env) {
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

/* mount(source|null, target, fstype|null, flags, data|null) */
static napi_value js_mount(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  get_args(env, info, argv);
  char *source = NULL, *target = NULL, *fstype = NULL, *data = NULL;
  double flags;
  napi_value ret = NULL;
  if (get_string(env, argv[0], 1, &source, "source") ||
      get_string(env, argv[1], 0, &target, "target") ||
      get_string(env, argv[2], 1, &fstype, "fstype") ||
      get_number(env, argv[3], &flags, "flags") ||
      get_string(env, argv[4], 1, &data, "data"))
    goto out;
  if (mount(source, target, fstype, (unsigned long)flags, data) != 0)
    throw_errno(env, errno, "mount", target);
  else
    ret = undefined(env);
out:
  free(source); free(target); free(fstype); free(data);
  return ret;
}

static napi_value js_umount2(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  get_args(env, info, argv);
  char *target = NULL;
  double flags;
  napi_value ret = NULL;
  if (get_string(env, argv[0], 0, &target, "target") || get_number(env, argv[1], &flags, "flags")) goto out;
  if (umount2(target, (int)flags) != 0)
    throw_errno(env, errno, "umount2", target);
  else
    ret = undefined(env);
out:
  free(target);
  return ret;
}

static napi_value js_mknod(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  get_args(env, info, argv);
  char *path = NULL;
  double mode, dev;
  napi_value ret = NULL;
  if (get_string(env, argv[0], 0, &path, "path") || get_number(env, argv[1], &mode, "mode") ||
      get_number(env, argv[2], &dev, "dev"))
    goto out;
  if (mknod(path, (mode_t)mode, (dev_t)dev) != 0)
    throw_errno(env, errno, "mknod", path);
  else
    ret = undefined(env);
out:
  free(path);
  return ret;
}

/* makedev(major, minor): computed in C so the glibc encoding is the one used.
 * Device numbers fit in 44 bits here, exact in a double. */
static napi_value js_makedev(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  get_args(env, info, argv);
  double ma, mi;
  if (get_number(env, argv[0], &ma, "major") || get_number(env, argv[1], &mi, "minor")) return NULL;
  napi_value r;
  napi_create_double(env, (double)makedev((unsigned int)ma, (unsigned int)mi), &r);
  return r;
}

/* lsetxattr(path, name, value: Buffer|string, flags) */
static napi_value js_lsetxattr(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  get_args(env, info, argv);
  char *path = NULL, *name = NULL, *svalue = NULL;
  void *value = NULL;
  size_t vlen = 0;
  double flags;
  napi_value ret = NULL;
  bool isbuf = false;
  if (get_string(env, argv[0], 0, &path, "path") || get_string(env, argv[1], 0, &name, "name")) goto out;
  napi_is_buffer(env, argv[2], &isbuf);
  if (isbuf) {
    napi_get_buffer_info(env, argv[2], &value, &vlen);
  } else {
    napi_valuetype t;
    napi_typeof(env, argv[2], &t);
    if (t != napi_string) { throw_type(env, "value must be a Buffer or a string"); goto out; }
    napi_get_value_string_utf8(env, argv[2], NULL, 0, &vlen);
    svalue = malloc(vlen + 1);
    if (!svalue) { throw_errno(env, ENOMEM, "malloc", NULL); goto out; }
    napi_get_value_string_utf8(env, argv[2], svalue, vlen + 1, &vlen);
    value = svalue;
  }
  if (get_number(env, argv[3], &flags, "flags")) goto out;
  if (lsetxattr(path, name, value, vlen, (int)flags) != 0)
    throw_errno(env, errno, "lsetxattr", path);
  else
    ret = undefined(env);
out:
  free(path); free(name); free(svalue);
  return ret;
}

/* lgetxattr(path, name) -> Buffer | null (null when the attribute is absent) */
static napi_value js_lgetxattr(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  get_args(env, info, argv);
  char *path = NULL, *name = NULL;
  napi_value ret = NULL;
  char *buf = NULL;
  if (get_string(env, argv[0], 0, &path, "path") || get_string(env, argv[1], 0, &name, "name")) goto out;
  for (;;) { /* size, then read; retry if it grew in between */
    ssize_t n = lgetxattr(path, name, NULL, 0);
    if (n < 0) {
      if (errno == ENODATA) napi_get_null(env, &ret);
      else throw_errno(env, errno, "lgetxattr", path);
      goto out;
    }
    buf = malloc(n > 0 ? (size_t)n : 1);
    if (!buf) { throw_errno(env, ENOMEM, "malloc", NULL); goto out; }
    ssize_t m = lgetxattr(path, name, buf, (size_t)n);
    if (m < 0 && errno == ERANGE) { free(buf); buf = NULL; continue; }
    if (m < 0) {
      if (errno == ENODATA) napi_get_null(env, &ret);
      else throw_errno(env, errno, "lgetxattr", path);
      goto out;
    }
    napi_create_buffer_copy(env, (size_t)m, buf, NULL, &ret);
    goto out;
  }
out:
  free(path); free(name); free(buf);
  return ret;
}

/* llistxattr(path) -> string[] */
static napi_value js_llistxattr(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  get_args(env, info, argv);
  char *path = NULL, *buf = NULL;
  napi_value ret = NULL;
  if (get_string(env, argv[0], 0, &path, "path")) goto out;
  ssize_t m;
  for (;;) {
    ssize_t n = llistxattr(path, NULL, 0);
    if (n < 0) { throw_errno(env, errno, "llistxattr", path); goto out; }
    buf = malloc(n > 0 ? (size_t)n : 1);
    if (!buf) { throw_errno(env, ENOMEM, "malloc", NULL); goto out; }
    m = llistxattr(path, buf, (size_t)n);
    if (m < 0 && errno == ERANGE) { free(buf); buf = NULL; continue; }
    if (m < 0) { throw_errno(env, errno, "llistxattr", path); goto out; }
    break;
  }
  napi_create_array(env, &ret);
  uint32_t idx = 0;
  for (ssize_t off = 0; off < m;) {
    size_t len = strnlen(buf + off, (size_t)(m - off));
    if (len > 0) {
      napi_value s;
      napi_create_string_utf8(env, buf + off, len, &s);
      napi_set_element(env, ret, idx++, s);
    }
    off += (ssize_t)len + 1;
  }
out:
  free(path); free(buf);
  return ret;
}

/* connectSeqpacket(path) -> fd. sun_path holds 108 bytes; conmon's attach
 * socket often lives deeper, so connect through /proc/self/fd/<dirfd>/<name>. */
static napi_value js_connect_seqpacket(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  get_args(env, info, argv);
  char *path = NULL;
  napi_value ret = NULL;
  int dirfd = -1, fd = -1;
  if (get_string(env, argv[0], 0, &path, "path")) goto out;
  struct sockaddr_un addr;
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  if (strlen(path) < sizeof addr.sun_path) {
    strcpy(addr.sun_path, path);
  } else {
    char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    if (slash) {
      *slash = '\0';
      dirfd = open(slash == path ? "/" : path, O_PATH | O_DIRECTORY | O_CLOEXEC);
      *slash = '/';
    } else {
      dirfd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
    }
    if (dirfd < 0) { throw_errno(env, errno, "open", path); goto out; }
    int n = snprintf(addr.sun_path, sizeof addr.sun_path, "/proc/self/fd/%d/%s", dirfd, base);
    if (n < 0 || (size_t)n >= sizeof addr.sun_path) { throw_errno(env, ENAMETOOLONG, "connect", path); goto out; }
  }
  fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (fd < 0) { throw_errno(env, errno, "socket", NULL); goto out; }
  int rc;
  do rc = connect(fd, (struct sockaddr *)&addr, sizeof addr); while (rc != 0 && errno == EINTR);
  if (rc != 0) { int e = errno; close(fd); fd = -1; throw_errno(env, e, "connect", path); goto out; }
  napi_create_int32(env, fd, &ret);
out:
  if (dirfd >= 0) close(dirfd);
  free(path);
  return ret;
}

/* mountAsync / umount2Async: the same syscalls on libuv's thread pool, so a
 * slow overlay mount (several ms under load) does not stall the event loop.
 * They resolve with undefined or reject with the same errors as the sync ones. */
typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  int op; /* 0 = mount, 1 = umount2 */
  char *source, *target, *fstype, *data;
  unsigned long flags;
  int err;
} mount_job;

static void mount_job_execute(napi_env env, void *p) {
  (void)env;
  mount_job *j = p;
  int rc;
  if (j->op == 0) {
    rc = mount(j->source, j->target, j->fstype, j->flags, j->data);
  } else if (j->op == 1) {
    rc = umount2(j->target, (int)j->flags);
  } else {
    int fd = open(j->target, O_RDONLY | O_CLOEXEC);
    rc = fd < 0 ? -1 : syncfs(fd);
    if (fd >= 0) { int e = errno; close(fd); errno = e; }
  }
  j->err = rc != 0 ? errno : 0;
}

static void mount_job_complete(napi_env env, napi_status status, void *p) {
  mount_job *j = p;
  if (status == napi_ok && j->err == 0) {
    napi_resolve_deferred(env, j->deferred, undefined(env));
  } else {
    /* Build the error the sync call would throw, then take it back as a value. */
    throw_errno(env, status == napi_ok ? j->err : ECANCELED, j->op == 0 ? "mount" : j->op == 1 ? "umount2" : "syncfs", j->target);
    napi_value e;
    napi_get_and_clear_last_exception(env, &e);
    napi_reject_deferred(env, j->deferred, e);
  }
  napi_delete_async_work(env, j->work);
  free(j->source); free(j->target); free(j->fstype); free(j->data);
  free(j);
}

static napi_value queue_mount_job(napi_env env, mount_job *j) {
  napi_value promise, name;
  napi_create_promise(env, &j->deferred, &promise);
  napi_create_string_utf8(env, j->op == 0 ? "berth.mount" : j->op == 1 ? "berth.umount2" : "berth.syncfs", NAPI_AUTO_LENGTH, &name);
  napi_create_async_work(env, NULL, name, mount_job_execute, mount_job_complete, j, &j->work);
  napi_queue_async_work(env, j->work);
  return promise;
}

static napi_value js_mount_async(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  get_args(env, info, argv);
  mount_job *j = calloc(1, sizeof *j);
  if (!j) return throw_errno(env, ENOMEM, "malloc", NULL);
  double flags;
  if (get_string(env, argv[0], 1, &j->source, "source") ||
      get_string(env, argv[1], 0, &j->target, "target") ||
      get_string(env, argv[2], 1, &j->fstype, "fstype") ||
      get_number(env, argv[3], &flags, "flags") ||
      get_string(env, argv[4], 1, &j->data, "data")) {
    free(j->source); free(j->target); free(j->fstype); free(j->data); free(j);
    return NULL;
  }
  j->op = 0;
  j->flags = (unsigned long)flags;
  return queue_mount_job(env, j);
}

static napi_value js_umount2_async(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  get_args(env, info, argv);
  mount_job *j = calloc(1, sizeof *j);
  if (!j) return throw_errno(env, ENOMEM, "malloc", NULL);
  double flags;
  if (get_string(env, argv[0], 0, &j->target, "target") || get_number(env, argv[1], &flags, "flags")) {
    free(j->target); free(j);
    return NULL;
  }
  j->op = 1;
  j->flags = (unsigned long)flags;
  return queue_mount_job(env, j);
}

/* syncfsAsync(path): syncfs on the thread pool (flushing a fresh layer can
 * take a good part of a second; the event loop keeps serving meanwhile). */
static napi_value js_syncfs_async(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  get_args(env, info, argv);
  mount_job *j = calloc(1, sizeof *j);
  if (!j) return throw_errno(env, ENOMEM, "malloc", NULL);
  if (get_string(env, argv[0], 0, &j->target, "path")) { free(j); return NULL; }
  j->op = 2;
  return queue_mount_job(env, j);
}

/* spawnDetached(file, argv, env, cwd, npipes) -> Promise<{ pid, fds, stderr }>
 *
 * Start a program in a new session with stdin/stdout on /dev/null, stderr on
 * a pipe and `npipes` socketpairs as fds 3, 4, … — what berthd needs to start
 * conmon. Node's child_process forks the whole daemon (page tables and all)
 * and waits for the exec on the event loop: 8–30 ms per container here under
 * load. posix_spawn in glibc uses clone(CLONE_VM|CLONE_VFORK), which copies
 * nothing. Signal dispositions and the mask are reset to defaults in the child
 * (Node ignores SIGPIPE; conmon must not inherit that). The child is not
 * Node's: reap it with waitPid(). */
#define SPAWN_MAX_PIPES 8
static char **get_string_array(napi_env env, napi_value arr, const char *what) {
  bool is_array = false;
  napi_is_array(env, arr, &is_array);
  if (!is_array) {
    char msg[128];
    snprintf(msg, sizeof msg, "%s must be an array of strings", what);
    throw_type(env, msg);
    return NULL;
  }
  uint32_t n = 0;
  napi_get_array_length(env, arr, &n);
  char **out = calloc(n + 1, sizeof *out);
  if (!out) { throw_errno(env, ENOMEM, "malloc", NULL); return NULL; }
  for (uint32_t i = 0; i < n; i++) {
    napi_value v;
    napi_get_element(env, arr, i, &v);
    if (get_string(env, v, 0, &out[i], what)) {
      for (uint32_t k = 0; k < i; k++) free(out[k]);
      free(out);
      return NULL;
    }
  }
  return out;
}

static void free_string_array(char **a) {
  if (!a) return;
  for (char **p = a; *p; p++) free(*p);
  free(a);
}

/* The spawn itself runs on the thread pool: posix_spawn returns only once the
 * child has exec'd, and on a loaded machine the child may wait a while for a
 * CPU; the event loop must not wait with it. Pipes are made on the calling
 * thread (all close-on-exec, so a concurrent fork elsewhere inherits none). */
typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  char *file, *cwd;
  char **args, **envp;
  int npipes, made;
  int parent_ends[SPAWN_MAX_PIPES], child_ends[SPAWN_MAX_PIPES];
  int errp[2];
  pid_t pid;
  int rc;
} spawn_job;

static void spawn_job_free(spawn_job *j) {
  for (int i = 0; i < j->made; i++) {
    if (j->parent_ends[i] >= 0) close(j->parent_ends[i]);
    if (j->child_ends[i] >= 0) close(j->child_ends[i]);
  }
  if (j->errp[0] >= 0) close(j->errp[0]);
  if (j->errp[1] >= 0) close(j->errp[1]);
  free(j->file); free(j->cwd);
  free_string_array(j->args); free_string_array(j->envp);
  free(j);
}

static void spawn_job_execute(napi_env env, void *p) {
  (void)env;
  spawn_job *j = p;
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&fa);
  posix_spawnattr_init(&attr);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, j->errp[1], 2);
  for (int i = 0; i < j->npipes; i++) posix_spawn_file_actions_adddup2(&fa, j->child_ends[i], 3 + i);
  if (j->cwd) posix_spawn_file_actions_addchdir_np(&fa, j->cwd);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  j->rc = posix_spawnp(&j->pid, j->file, &fa, &attr, j->args, j->envp);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
}

static void spawn_job_complete(napi_env env, napi_status status, void *p) {
  spawn_job *j = p;
  /* The child holds its ends now (or never will): ours go. */
  for (int i = 0; i < j->made; i++) { close(j->child_ends[i]); j->child_ends[i] = -1; }
  close(j->errp[1]); j->errp[1] = -1;
  if (status != napi_ok || j->rc != 0) {
    throw_errno(env, status == napi_ok ? j->rc : ECANCELED, "posix_spawn", j->file);
    napi_value e;
    napi_get_and_clear_last_exception(env, &e);
    napi_reject_deferred(env, j->deferred, e);
  } else {
    napi_value obj, v, fds;
    napi_create_object(env, &obj);
    napi_create_int32(env, j->pid, &v);
    napi_set_named_property(env, obj, "pid", v);
    napi_create_array_with_length(env, (size_t)j->npipes, &fds);
    for (int i = 0; i < j->npipes; i++) {
      napi_create_int32(env, j->parent_ends[i], &v);
      napi_set_element(env, fds, (uint32_t)i, v);
      j->parent_ends[i] = -1; /* handed over */
    }
    napi_set_named_property(env, obj, "fds", fds);
    napi_create_int32(env, j->errp[0], &v);
    napi_set_named_property(env, obj, "stderr", v);
    j->errp[0] = -1;
    napi_resolve_deferred(env, j->deferred, obj);
  }
  napi_delete_async_work(env, j->work);
  spawn_job_free(j);
}

static napi_value js_spawn_detached(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  get_args(env, info, argv);
  double npipes_d = 0;
  spawn_job *j = calloc(1, sizeof *j);
  if (!j) return throw_errno(env, ENOMEM, "malloc", NULL);
  j->errp[0] = j->errp[1] = -1;
  if (get_string(env, argv[0], 0, &j->file, "file")) goto fail;
  if (!(j->args = get_string_array(env, argv[1], "argv"))) goto fail;
  if (!(j->envp = get_string_array(env, argv[2], "env"))) goto fail;
  if (get_string(env, argv[3], 1, &j->cwd, "cwd")) goto fail;
  if (get_number(env, argv[4], &npipes_d, "npipes")) goto fail;
  j->npipes = (int)npipes_d;
  if (j->npipes < 0 || j->npipes > SPAWN_MAX_PIPES) { throw_type(env, "npipes must be 0..8"); goto fail; }
  for (; j->made < j->npipes; j->made++) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) { throw_errno(env, errno, "socketpair", NULL); goto fail; }
    /* Move the child's end out of the way of the target numbers 0..2+npipes. */
    int high = fcntl(sv[1], F_DUPFD_CLOEXEC, 64);
    if (high < 0) { int e = errno; close(sv[0]); close(sv[1]); throw_errno(env, e, "fcntl", NULL); goto fail; }
    close(sv[1]);
    j->parent_ends[j->made] = sv[0];
    j->child_ends[j->made] = high;
  }
  if (pipe2(j->errp, O_CLOEXEC) != 0) { j->errp[0] = j->errp[1] = -1; throw_errno(env, errno, "pipe2", NULL); goto fail; }
  int errw = fcntl(j->errp[1], F_DUPFD_CLOEXEC, 64);
  if (errw < 0) { throw_errno(env, errno, "fcntl", NULL); goto fail; }
  close(j->errp[1]);
  j->errp[1] = errw;

  napi_value promise, name;
  napi_create_promise(env, &j->deferred, &promise);
  napi_create_string_utf8(env, "berth.spawn", NAPI_AUTO_LENGTH, &name);
  napi_create_async_work(env, NULL, name, spawn_job_execute, spawn_job_complete, j, &j->work);
  napi_queue_async_work(env, j->work);
  return promise;
fail:
  spawn_job_free(j);
  return NULL;
}

/* waitPid(pid) -> Promise<{ code, signal }>: waitpid(2) on the thread pool, for
 * children started by spawnDetached (code -1 with the signal number when killed). */
typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  pid_t pid;
  int status, err;
} wait_job;

static void wait_job_execute(napi_env env, void *p) {
  (void)env;
  wait_job *j = p;
  int rc;
  do rc = waitpid(j->pid, &j->status, 0); while (rc < 0 && errno == EINTR);
  j->err = rc < 0 ? errno : 0;
}

static void wait_job_complete(napi_env env, napi_status status, void *p) {
  wait_job *j = p;
  if (status != napi_ok || j->err) {
    throw_errno(env, status == napi_ok ? j->err : ECANCELED, "waitpid", NULL);
    napi_value e;
    napi_get_and_clear_last_exception(env, &e);
    napi_reject_deferred(env, j->deferred, e);
  } else {
    napi_value obj, v;
    napi_create_object(env, &obj);
    napi_create_int32(env, WIFEXITED(j->status) ? WEXITSTATUS(j->status) : -1, &v);
    napi_set_named_property(env, obj, "code", v);
    napi_create_int32(env, WIFSIGNALED(j->status) ? WTERMSIG(j->status) : 0, &v);
    napi_set_named_property(env, obj, "signal", v);
    napi_resolve_deferred(env, j->deferred, obj);
  }
  napi_delete_async_work(env, j->work);
  free(j);
}

static napi_value js_wait_pid(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  get_args(env, info, argv);
  double pid_d;
  if (get_number(env, argv[0], &pid_d, "pid")) return NULL;
  if (!(pid_d > 0)) return throw_type(env, "pid must be positive");
  wait_job *j = calloc(1, sizeof *j);
  if (!j) return throw_errno(env, ENOMEM, "malloc", NULL);
  j->pid = (pid_t)pid_d;
  napi_value promise, name;
  napi_create_promise(env, &j->deferred, &promise);
  napi_create_string_utf8(env, "berth.waitpid", NAPI_AUTO_LENGTH, &name);
  napi_create_async_work(env, NULL, name, wait_job_execute, wait_job_complete, j, &j->work);
  napi_queue_async_work(env, j->work);
  return promise;
}

/* dupCloexec(fd) -> a second close-on-exec fd for the same open file. */
static napi_value js_dup_cloexec(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  get_args(env, info, argv);
  int32_t fd = -1;
  if (napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0) {
    napi_throw_type_error(env, NULL, "fd must be a non-negative integer");
    return NULL;
  }
  int nfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
  if (nfd < 0) { throw_errno(env, errno, "fcntl", NULL); return NULL; }
  napi_value ret;
  napi_create_int32(env, nfd, &ret);
  return ret;
}

/* syncfs(path): flush the whole filesystem holding `path`. Used once per
 * extracted layer, so its files are on disk before its row is committed. */
static napi_value js_syncfs(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  get_args(env, info, argv);
  char *path = NULL;
  napi_value ret = NULL;
  if (get_string(env, argv[0], 0, &path, "path")) goto out;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) { throw_errno(env, errno, "open", path); goto out; }
  if (syncfs(fd) != 0) { int e = errno; close(fd); throw_errno(env, e, "syncfs", path); goto out; }
  close(fd);
  ret = undefined(env);
out:
  free(path);
  return ret;
}

/* mallocTrim(): give glibc's free heap pages back to the system. After a
 * burst of work the arenas of the main and the thread-pool threads keep tens
 * of freed chunks that no later allocation of an idle daemon reuses; glibc
 * only trims the top of the main heap by itself. Returns whether any memory
 * was released. */
static napi_value js_malloc_trim(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value ret;
  napi_get_boolean(env, malloc_trim(0) == 1, &ret);
  return ret;
}

/* seccomp.c */
napi_value berth_seccomp_compile(napi_env env, napi_callback_info info);

static void set_fn(napi_env env, napi_value exports, const char *name, napi_callback cb) {
  napi_value fn;
  napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, NULL, &fn);
  napi_set_named_property(env, exports, name, fn);
}

static void set_const(napi_env env, napi_value obj, const char *name, double v) {
  napi_value n;
  napi_create_double(env, v, &n);
  napi_set_named_property(env, obj, name, n);
}

static napi_value init(napi_env env, napi_value exports) {
  set_fn(env, exports, "mount", js_mount);
  set_fn(env, exports, "umount2", js_umount2);
  set_fn(env, exports, "mknod", js_mknod);
  set_fn(env, exports, "makedev", js_makedev);
  set_fn(env, exports, "lsetxattr", js_lsetxattr);
  set_fn(env, exports, "lgetxattr", js_lgetxattr);
  set_fn(env, exports, "llistxattr", js_llistxattr);
  set_fn(env, exports, "connectSeqpacket", js_connect_seqpacket);
  set_fn(env, exports, "syncfs", js_syncfs);
  set_fn(env, exports, "dupCloexec", js_dup_cloexec);
  set_fn(env, exports, "mountAsync", js_mount_async);
  set_fn(env, exports, "umount2Async", js_umount2_async);
  set_fn(env, exports, "spawnDetached", js_spawn_detached);
  set_fn(env, exports, "waitPid", js_wait_pid);
  set_fn(env, exports, "syncfsAsync", js_syncfs_async);
  set_fn(env, exports, "seccompCompile", berth_seccomp_compile);
  set_fn(env, exports, "mallocTrim", js_malloc_trim);

  napi_value c;
  napi_create_object(env, &c);
#define C(x) set_const(env, c, #x, (double)(x));
  C(MS_RDONLY) C(MS_NOSUID) C(MS_NODEV) C(MS_NOEXEC) C(MS_SYNCHRONOUS) C(MS_REMOUNT)
  C(MS_MANDLOCK) C(MS_DIRSYNC) C(MS_NOATIME) C(MS_NODIRATIME) C(MS_BIND) C(MS_MOVE)
  C(MS_REC) C(MS_SILENT) C(MS_UNBINDABLE) C(MS_PRIVATE) C(MS_SLAVE) C(MS_SHARED)
  C(MS_RELATIME) C(MS_STRICTATIME) C(MS_LAZYTIME)
  C(MNT_FORCE) C(MNT_DETACH) C(MNT_EXPIRE) C(UMOUNT_NOFOLLOW)
  C(XATTR_CREATE) C(XATTR_REPLACE)
  C(S_IFCHR) C(S_IFBLK) C(S_IFIFO) C(S_IFREG) C(S_IFSOCK)
#undef C
  napi_set_named_property(env, exports, "constants", c);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
