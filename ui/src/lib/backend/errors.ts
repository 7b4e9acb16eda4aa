import type { ApiError } from './types';

function isApiError(value: unknown): value is ApiError {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Record<string, unknown>).code === 'string' &&
    typeof (value as Record<string, unknown>).message === 'string'
  );
}

/**
 * Normalises anything a command (or our own code) may reject with into an
 * ApiError, so the UI always has a message and a code to show.
 */
export function toApiError(error: unknown): ApiError {
  if (isApiError(error)) return { code: error.code, message: error.message };
  if (typeof error === 'string') {
    // A command may reject with a JSON-encoded ApiError or a bare string.
    try {
      const parsed: unknown = JSON.parse(error);
      if (isApiError(parsed)) return { code: parsed.code, message: parsed.message };
    } catch {
      /* not JSON */
    }
    return { code: 'internal', message: error || 'Unknown error' };
  }
  if (error instanceof Error) return { code: 'internal', message: error.message || error.name };
  return { code: 'internal', message: 'Unknown error' };
}

/** Builds an ApiError that can be thrown/rejected (used by the mock backend). */
export function apiError(code: string, message: string): ApiError {
  return { code, message };
}
