{
  "targets": [
    {
      "target_name": "record_walk",
      "sources": ["native/record-walk.c"],
      "cflags": ["-O3", "-std=c11", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "xcode_settings": { "OTHER_CFLAGS": ["-O3", "-std=c11"] },
      "conditions": [["OS!='win'", { "defines": ["WALK_GUNZIP"] }]]
    }
  ]
}
