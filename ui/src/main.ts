import { mount } from 'svelte';
import App from './App.svelte';
import './app.css';
import { applyTheme } from './lib/settings/theme';

// The OS theme from the first frame; SettingsStore takes over (and follows OS changes) once
// the saved settings are loaded, so this one does not keep listening.
applyTheme('system')();

const target = document.getElementById('app');
if (!target) throw new Error('#app element missing from index.html');

export default mount(App, { target });
