{
  "targets": [
    {
      "target_name": "rot_track_native",
      "sources": ["src/kernels.cc", "src/fused.cc", "src/frame.cc", "src/xcorr.cc", "src/net.cc"],
      "cflags_cc": ["-O3", "-std=c++17", "-fexceptions", "<!@(node scripts/arch-flags.cjs)"],
      "cflags_cc!": ["-fno-exceptions"],
      "conditions": [
        ["OS=='mac'", {
          "defines": ["ROT_TRACK_ACCELERATE"],
          "libraries": ["-framework Accelerate"],
          "xcode_settings": { "GCC_ENABLE_CPP_EXCEPTIONS": "YES", "OTHER_CPLUSPLUSFLAGS": ["-O3", "-std=c++17"] }
        }, {
          "libraries": ["-lopenblas"]
        }],
        ["OS!='mac' and '<!(node scripts/dnnl-flags.cjs)'=='1'", {
          "defines": ["ROT_TRACK_DNNL"],
          "libraries": ["-ldnnl", "-lgomp"]
        }]
      ]
    }
  ]
}
