// Declares to emcc's linker the host functions the standalone module imports (module "env"):
// they are provided by our own JavaScript loader, not by emscripten's JS glue (which is not used).
//   ifc_now_ms() -> f64   wall clock in milliseconds (performance.now), for ifc_stat_ms
mergeInto(LibraryManager.library, {
  ifc_now_ms: function () { return 0; },
});
