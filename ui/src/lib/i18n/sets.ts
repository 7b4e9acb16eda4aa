// Strings of the dashboard, the backup-set wizard and the job history (t.sets).
export const setsStrings = {};
