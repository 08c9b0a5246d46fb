{
  "targets": [
    {
      "target_name": "berth_sys",
      "sources": ["berth_sys.c", "seccomp.c"],
      "libraries": ["-lseccomp"],
      "cflags": ["-Wall", "-Wextra", "-Wno-unused-parameter", "-O2"],
      "defines": ["NAPI_VERSION=8", "_GNU_SOURCE"]
    }
  ]
}
