/** How screens report failures to the app-wide error banner. */
export type ErrorSink = {
  /** Show an error (anything: normalised to an ApiError). */
  show(error: unknown): void;
  /** Hide the current error. */
  clear(): void;
};
