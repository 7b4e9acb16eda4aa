// Browser tests of search, the restore wizard and export (registered with the harness; run by
// run.mjs).
