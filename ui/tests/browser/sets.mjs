// Browser tests of the dashboard, the backup-set wizard and the job history (registered with
// the harness; run by run.mjs).
