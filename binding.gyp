{
  "targets": [
    {
      "target_name": "record_walk",
      "sources": ["native/record-walk.c"],
      "cflags": ["-O3", "-std=c11", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "xcode_settings": { "OTHER_CFLAGS": ["-O3", "-std=c11"] },
      "conditions": [
        [
          "OS!='win'",
          {
            "defines": ["WALK_GUNZIP"],
            "dependencies": ["libdeflate"],
            "conditions": [["OS=='linux'", { "ldflags": ["-Wl,--exclude-libs,ALL"] }]]
          }
        ]
      ]
    },
    {
      "target_name": "libdeflate",
      "type": "static_library",
      "sources": [
        "native/libdeflate/lib/deflate_decompress.c",
        "native/libdeflate/lib/gzip_decompress.c",
        "native/libdeflate/lib/crc32.c",
        "native/libdeflate/lib/utils.c",
        "native/libdeflate/lib/x86/cpu_features.c",
        "native/libdeflate/lib/arm/cpu_features.c"
      ],
      "cflags": ["-O2", "-fPIC", "-fvisibility=hidden", "-Wno-sign-compare"],
      "xcode_settings": { "OTHER_CFLAGS": ["-O2", "-fvisibility=hidden"] }
    }
  ]
}
