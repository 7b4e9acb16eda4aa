// The screens of the navigation shell, in sidebar order. Adding a screen (Dashboard,
// Backup sets, Restore, History ...) is one entry here: its component takes `{ app }`.
import type { Component } from 'svelte';
import type { IconName } from '../components/Icon.svelte';
import { t } from '../i18n/en';
import RepoScreen from '../repo/RepoScreen.svelte';
import SearchScreen from '../search/SearchScreen.svelte';
import DashboardScreen from '../sets/DashboardScreen.svelte';
import HistoryScreen from '../sets/HistoryScreen.svelte';
import SettingsScreen from '../settings/SettingsScreen.svelte';
import SnapshotsScreen from '../snapshots/SnapshotsScreen.svelte';
import type { AppContext } from './context';

export type ScreenDef = {
  id: string;
  label: string;
  icon: IconName;
  /** Screens that need an open repository are shown disabled until one is. */
  needsRepo: boolean;
  component: Component<{ app: AppContext }>;
};

export const SCREENS: readonly ScreenDef[] = [
  { id: 'dashboard', label: t.sets.nav.dashboard, icon: 'dashboard', needsRepo: true, component: DashboardScreen },
  { id: 'snapshots', label: t.nav.snapshots, icon: 'history', needsRepo: true, component: SnapshotsScreen },
  { id: 'search', label: t.restore.nav, icon: 'search', needsRepo: true, component: SearchScreen },
  { id: 'history', label: t.sets.nav.history, icon: 'list', needsRepo: true, component: HistoryScreen },
  { id: 'repository', label: t.nav.repository, icon: 'lock', needsRepo: false, component: RepoScreen },
  { id: 'settings', label: t.nav.settings, icon: 'settings', needsRepo: false, component: SettingsScreen },
];

/** The screen to show first: the dashboard when a repository is open, else the repository screen. */
export function startScreen(repoOpen: boolean): string {
  return repoOpen ? 'dashboard' : 'repository';
}

export function screenById(id: string): ScreenDef | undefined {
  return SCREENS.find((s) => s.id === id);
}
