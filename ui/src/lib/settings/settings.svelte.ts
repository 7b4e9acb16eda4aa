import type { Backend } from '../backend';
import { toApiError } from '../backend/errors';
import { DEFAULT_SETTINGS, type ApiError, type Settings } from '../backend/types';
import { normalizeSettings } from './normalize';
import { applyTheme } from './theme';

/**
 * The app's settings: loaded once at start-up (the defaults stand in when the backend
 * cannot give them), saved through the backend, and the theme applied to the document.
 */
export class SettingsStore {
  value = $state<Settings>({ ...DEFAULT_SETTINGS });
  loaded = $state(false);
  /** Why loading failed, if it did (the Settings screen shows it). */
  loadError = $state<ApiError | null>(null);
  #stopTheme: () => void = () => {};

  constructor(private readonly backend: Backend) {}

  async load(): Promise<void> {
    try {
      this.value = normalizeSettings(await this.backend.settingsGet());
      this.loadError = null;
    } catch (error) {
      this.loadError = toApiError(error);
    } finally {
      this.loaded = true;
      this.applyTheme();
    }
  }

  /** Saves `next`; on success the saved values (as the backend returns them) become current. */
  async save(next: Settings): Promise<void> {
    this.value = normalizeSettings(await this.backend.settingsSet({ ...next }));
    this.loadError = null;
    this.applyTheme();
  }

  applyTheme(): void {
    this.#stopTheme();
    this.#stopTheme = applyTheme(this.value.theme);
  }

  dispose(): void {
    this.#stopTheme();
  }
}
