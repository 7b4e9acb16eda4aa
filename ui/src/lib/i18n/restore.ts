// Strings of search, the restore wizard and export (t.restore).
export const restoreStrings = {};
