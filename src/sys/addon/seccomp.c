/*
 * seccompCompile: an OCI seccomp section compiled to the raw BPF program that
 * seccomp(SECCOMP_SET_MODE_FILTER) loads, with the system's libseccomp.
 *
 * Why: crun 1.8 compiles Docker's default profile (≈ 400 syscalls) on every
 * create and exec, ≈ 10–20 ms of CPU each time here. It also accepts a
 * precompiled program in the `run.oci.seccomp_bpf_data` annotation, so berthd
 * compiles each distinct profile once and hands crun the result.
 *
 * The translation follows crun's own (libcrun/seccomp.c), so the program is the
 * one crun would have built from the same section with the same libseccomp:
 * errno defaults to EPERM, rules whose action equals the default are skipped,
 * unknown syscall names are ignored, and several conditions on one argument
 * become separate rules (libseccomp refuses them in one rule).
 *
 * JS signature:
 *   seccompCompile(defaultAction, defaultErrno, architectures, rules) -> Buffer
 *     defaultErrno: number, or -1 when the profile sets none
 *     rules: [action, errno (-1: none), names[], args[[index, op, valueBigInt, valueTwoBigInt]]][]
 */
#include <node_api.h>

#include <ctype.h>
#include <errno.h>
#include <seccomp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static napi_value fail(napi_env env, const char *fmt, const char *arg) {
  char msg[256];
  snprintf(msg, sizeof msg, fmt, arg ? arg : "");
  napi_throw_error(env, NULL, msg);
  return NULL;
}

/* A JS string into a fixed buffer; false (with an exception) when it is not one or is too long. */
static bool str_arg(napi_env env, napi_value v, char *buf, size_t len) {
  size_t n = 0;
  if (napi_get_value_string_utf8(env, v, buf, len, &n) != napi_ok) {
    napi_throw_type_error(env, NULL, "seccomp: expected a string");
    return false;
  }
  if (n >= len - 1) {
    napi_throw_error(env, NULL, "seccomp: string too long");
    return false;
  }
  return true;
}

static bool u64_arg(napi_env env, napi_value v, uint64_t *out) {
  bool lossless = true;
  if (napi_get_value_bigint_uint64(env, v, out, &lossless) == napi_ok) return true;
  double d;
  if (napi_get_value_double(env, v, &d) == napi_ok && d >= 0) { *out = (uint64_t)d; return true; }
  napi_throw_type_error(env, NULL, "seccomp: argument values must be bigint or number");
  return false;
}

static bool supports_errno(const char *action) {
  return strcmp(action, "SCMP_ACT_ERRNO") == 0 || strcmp(action, "SCMP_ACT_TRACE") == 0;
}

/* "SCMP_ACT_ERRNO" + errno -> libseccomp's action value; false when unknown. */
static bool action_value(const char *name, int errno_ret, uint32_t *out) {
  if (strncmp(name, "SCMP_ACT_", 9) != 0) return false;
  const char *p = name + 9;
  if (strcmp(p, "ERRNO") == 0) { *out = SCMP_ACT_ERRNO(errno_ret); return true; }
  if (strcmp(p, "TRACE") == 0) { *out = SCMP_ACT_TRACE(errno_ret); return true; }
  if (strcmp(p, "ALLOW") == 0) { *out = SCMP_ACT_ALLOW; return true; }
  if (strcmp(p, "KILL") == 0) { *out = SCMP_ACT_KILL; return true; }
  if (strcmp(p, "TRAP") == 0) { *out = SCMP_ACT_TRAP; return true; }
  if (strcmp(p, "LOG") == 0) { *out = SCMP_ACT_LOG; return true; }
  if (strcmp(p, "KILL_PROCESS") == 0) { *out = SCMP_ACT_KILL_PROCESS; return true; }
  if (strcmp(p, "KILL_THREAD") == 0) { *out = SCMP_ACT_KILL_THREAD; return true; }
  /* NOTIFY needs a listener fd that only the runtime can hand out. */
  return false;
}

static bool operator_value(const char *name, enum scmp_compare *out) {
  static const struct { const char *name; enum scmp_compare op; } ops[] = {
    { "SCMP_CMP_NE", SCMP_CMP_NE }, { "SCMP_CMP_LT", SCMP_CMP_LT }, { "SCMP_CMP_LE", SCMP_CMP_LE },
    { "SCMP_CMP_EQ", SCMP_CMP_EQ }, { "SCMP_CMP_GE", SCMP_CMP_GE }, { "SCMP_CMP_GT", SCMP_CMP_GT },
    { "SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ },
  };
  for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
    if (strcmp(name, ops[i].name) == 0) { *out = ops[i].op; return true; }
  }
  return false;
}

static uint32_t array_len(napi_env env, napi_value v) {
  uint32_t n = 0;
  bool is_array = false;
  if (napi_is_array(env, v, &is_array) != napi_ok || !is_array) return 0;
  napi_get_array_length(env, v, &n);
  return n;
}

static napi_value elem(napi_env env, napi_value arr, uint32_t i) {
  napi_value v;
  napi_get_element(env, arr, i, &v);
  return v;
}

static int32_t int_arg(napi_env env, napi_value v) {
  int32_t n = -1;
  napi_get_value_int32(env, v, &n);
  return n;
}

/* Adds one entry of `rules` to ctx; false means a JS exception is pending. */
static bool add_rule(napi_env env, scmp_filter_ctx ctx, uint32_t default_action, napi_value rule) {
  char action_name[64], name[128], op[64];
  if (!str_arg(env, elem(env, rule, 0), action_name, sizeof action_name)) return false;
  int32_t errno_arg = int_arg(env, elem(env, rule, 1));
  int errno_ret = EPERM;
  if (errno_arg >= 0) {
    if (!supports_errno(action_name)) { fail(env, "seccomp: errno value specified for action `%s`", action_name); return false; }
    errno_ret = errno_arg;
  }
  uint32_t action;
  if (!action_value(action_name, errno_ret, &action)) { fail(env, "seccomp: unsupported action `%s`", action_name); return false; }
  if (action == default_action) return true;

  napi_value names = elem(env, rule, 2), args = elem(env, rule, 3);
  uint32_t nnames = array_len(env, names), nargs = array_len(env, args);
  struct scmp_arg_cmp cmp[6];
  unsigned int k = 0;
  bool separate = false;
  unsigned int count[6] = { 0 };
  for (uint32_t a = 0; a < nargs && k < 6; a++, k++) {
    napi_value arg = elem(env, args, a);
    int32_t index = int_arg(env, elem(env, arg, 0));
    if (index < 0 || index >= 6) { fail(env, "seccomp: invalid argument index%s", NULL); return false; }
    if (++count[index] > 1) separate = true;
    if (!str_arg(env, elem(env, arg, 1), op, sizeof op)) return false;
    cmp[k].arg = (unsigned int)index;
    if (!operator_value(op, &cmp[k].op)) { fail(env, "seccomp: unknown operator `%s`", op); return false; }
    if (!u64_arg(env, elem(env, arg, 2), &cmp[k].datum_a) || !u64_arg(env, elem(env, arg, 3), &cmp[k].datum_b)) return false;
  }
  for (uint32_t i = 0; i < nnames; i++) {
    if (!str_arg(env, elem(env, names, i), name, sizeof name)) return false;
    int nr = seccomp_syscall_resolve_name(name);
    if (nr == __NR_SCMP_ERROR) continue; /* unknown to this libseccomp: ignored, as crun does */
    int ret;
    if (k == 0) {
      ret = seccomp_rule_add(ctx, action, nr, 0);
    } else if (!separate) {
      ret = seccomp_rule_add_array(ctx, action, nr, k, cmp);
    } else {
      ret = 0;
      for (unsigned int r = 0; r < k && ret >= 0; r++) ret = seccomp_rule_add_array(ctx, action, nr, 1, &cmp[r]);
    }
    if (ret < 0) { fail(env, "seccomp: adding a rule for `%s` failed", name); return false; }
  }
  return true;
}

napi_value berth_seccomp_compile(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 4) return fail(env, "seccompCompile: expected 4 arguments%s", NULL);

  char def_name[64], arch[64];
  if (!str_arg(env, argv[0], def_name, sizeof def_name)) return NULL;
  int32_t def_errno_arg = int_arg(env, argv[1]);
  int def_errno = EPERM;
  if (def_errno_arg >= 0) {
    if (!supports_errno(def_name)) return fail(env, "seccomp: errno value specified for action `%s`", def_name);
    def_errno = def_errno_arg;
  }
  uint32_t default_action;
  if (!action_value(def_name, def_errno, &default_action)) return fail(env, "seccomp: unsupported default action `%s`", def_name);

  scmp_filter_ctx ctx = seccomp_init(default_action);
  if (ctx == NULL) return fail(env, "seccomp_init failed%s", NULL);
  napi_value result = NULL;
  int fd = -1;

  uint32_t narch = array_len(env, argv[2]);
  for (uint32_t i = 0; i < narch; i++) {
    if (!str_arg(env, elem(env, argv[2], i), arch, sizeof arch)) goto out;
    char *a = arch;
    if (strncmp(a, "SCMP_ARCH_", 10) == 0) a += 10;
    for (char *c = a; *c; c++) *c = (char)tolower((unsigned char)*c);
    uint32_t token = seccomp_arch_resolve_name(a);
    if (token == 0) { fail(env, "seccomp: unknown architecture `%s`", a); goto out; }
    int ret = seccomp_arch_add(ctx, token);
    if (ret < 0 && ret != -EEXIST) { fail(env, "seccomp: adding architecture `%s` failed", a); goto out; }
  }

  uint32_t nrules = array_len(env, argv[3]);
  for (uint32_t i = 0; i < nrules; i++) {
    if (!add_rule(env, ctx, default_action, elem(env, argv[3], i))) goto out;
  }

  fd = memfd_create("berth-seccomp", MFD_CLOEXEC);
  if (fd < 0) { fail(env, "seccomp: memfd_create: %s", strerror(errno)); goto out; }
  if (seccomp_export_bpf(ctx, fd) < 0) { fail(env, "seccomp_export_bpf failed%s", NULL); goto out; }
  struct stat st;
  if (fstat(fd, &st) != 0 || st.st_size <= 0) { fail(env, "seccomp: empty program%s", NULL); goto out; }
  void *data = NULL;
  napi_value buf;
  if (napi_create_buffer(env, (size_t)st.st_size, &data, &buf) != napi_ok) goto out;
  if (pread(fd, data, (size_t)st.st_size, 0) != st.st_size) { fail(env, "seccomp: reading the program: %s", strerror(errno)); goto out; }
  result = buf;
out:
  if (fd >= 0) close(fd);
  seccomp_release(ctx);
  return result;
}
