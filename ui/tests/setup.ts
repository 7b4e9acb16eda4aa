import { afterEach } from 'vitest';
import { clearMocks } from '@tauri-apps/api/mocks';

// @testing-library/svelte's vite plugin already unmounts components after each test.
afterEach(() => {
  clearMocks();
  delete (window as { __TAURI_INTERNALS__?: unknown }).__TAURI_INTERNALS__;
});
