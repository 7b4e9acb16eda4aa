import { describe, expect, it, vi } from 'vitest';
import { fireEvent, waitFor } from '@testing-library/svelte';
import { DEMO_PASSWORD, DEMO_REPO_PATH, MockBackend } from '../src/lib/backend/mock';
import { $, renderApp, type } from './helpers';

describe('repository screen', () => {
  it('prefills the default path and shows the demo tenant and Graph URL in the header', async () => {
    const { container } = await renderApp(new MockBackend());
    expect(($(container, '#repo-path') as HTMLInputElement).value).toBe(DEMO_REPO_PATH);
    expect(($(container, '#repo-password') as HTMLInputElement).type).toBe('password');
    const tenant = $(container, 'header #tenant-info');
    expect(tenant.textContent).toContain('Demo tenant');
    expect(tenant.textContent).toContain('http://127.0.0.1:8765/v1.0');
  });

  it('blocks submit while the confirmation does not match, then creates the repository', async () => {
    const backend = new MockBackend();
    const repoOpen = vi.spyOn(backend, 'repoOpen');
    const { container } = await renderApp(backend);

    await fireEvent.click($(container, '#mode-create'));
    expect(($(container, '#mode-create') as HTMLInputElement).checked).toBe(true);
    // Creating warns that a lost password means lost backups.
    expect($(container, '#password-warning').textContent).toMatch(/password is lost/i);

    await type($(container, '#repo-path'), '/srv/backups/new-repo');
    await type($(container, '#repo-password'), 'Correct-Horse-42!');
    await type($(container, '#repo-password-confirm'), 'Correct-Horse-43!');
    expect($(container, '#repo-password-confirm-error').textContent).toContain('do not match');

    await fireEvent.click($(container, '#repo-submit'));
    expect(repoOpen).not.toHaveBeenCalled();
    expect(container.querySelector('#repo-form')).not.toBeNull();
    expect($(container, '#repo-password-confirm').getAttribute('aria-invalid')).toBe('true');

    await type($(container, '#repo-password-confirm'), 'Correct-Horse-42!');
    expect(container.querySelector('#repo-password-confirm-error')).toBeNull();
    await fireEvent.click($(container, '#repo-submit'));

    expect(repoOpen).toHaveBeenCalledTimes(1);
    expect(repoOpen).toHaveBeenCalledWith({
      location: { kind: 'local', path: '/srv/backups/new-repo' },
      password: 'Correct-Horse-42!',
      create: true,
      remember: true,
      s3SecretAccessKey: null,
    });
    // The new, empty repository opens on the dashboard, which invites to create a backup set.
    await waitFor(() => expect(container.querySelector('#sets-empty')).not.toBeNull());
    expect(container.querySelector('#repo-form')).toBeNull();
    expect($(container, 'header #repo-info').textContent).toContain('/srv/backups/new-repo');
    await fireEvent.click($(container, '#nav-snapshots'));
    await waitFor(() => expect(container.textContent).toContain('No snapshots yet'));
  });

  it('says so when the repository opened but the keychain refused its password', async () => {
    const backend = new MockBackend();
    const real = backend.repoOpen.bind(backend);
    vi.spyOn(backend, 'repoOpen').mockImplementation(async (args) => ({
      ...(await real(args)),
      keychainWarning: 'no Secret Service on the session bus',
    }));
    const { container } = await renderApp(backend);
    await fireEvent.click($(container, '#mode-open'));
    await type($(container, '#repo-password'), 'demo');
    await fireEvent.click($(container, '#repo-submit'));
    await waitFor(() => expect(container.querySelector('#dashboard')).not.toBeNull());
    const banner = $(container, '#error').textContent ?? '';
    expect(banner).toContain('could not be kept in the system keychain');
    expect(banner).toContain('no Secret Service on the session bus');
  });

  it('blocks submit with an empty password', async () => {
    const backend = new MockBackend();
    const repoOpen = vi.spyOn(backend, 'repoOpen');
    const { container } = await renderApp(backend);
    await fireEvent.click($(container, '#mode-open'));
    await fireEvent.click($(container, '#repo-submit'));
    expect(repoOpen).not.toHaveBeenCalled();
    expect($(container, '#repo-password-error').textContent).toContain('Enter the repository password');
  });

  it('only asks for a confirmation and shows the warning when creating', async () => {
    const { container } = await renderApp(new MockBackend());
    await fireEvent.click($(container, '#mode-open'));
    expect(($(container, '#mode-open') as HTMLInputElement).checked).toBe(true);
    expect(container.querySelector('#repo-password-confirm')).toBeNull();
    expect(container.querySelector('#password-warning')).toBeNull();
    expect($(container, '#repo-submit').textContent).toContain('Open repository');
    await fireEvent.click($(container, '#mode-create'));
    expect(container.querySelector('#repo-password-confirm')).not.toBeNull();
    expect($(container, '#repo-submit').textContent).toContain('Create repository');
  });

  it('shows a strength hint that follows the password', async () => {
    const { container } = await renderApp(new MockBackend());
    await fireEvent.click($(container, '#mode-create'));
    const strength = () => $(container, '#password-strength');
    await type($(container, '#repo-password'), 'abc');
    expect(strength().dataset.level).toBe('weak');
    expect(strength().textContent).toMatch(/weak/i);
    await type($(container, '#repo-password'), 'Tr0ub4dor&3-horse-staple');
    expect(strength().dataset.level).toBe('strong');
    expect(strength().textContent).toMatch(/strong/i);
  });

  it("shows an ApiError's message and code in the error banner", async () => {
    const { container } = await renderApp(new MockBackend());
    expect(container.querySelector('#error')).toBeNull();
    await fireEvent.click($(container, '#mode-open'));
    await type($(container, '#repo-password'), 'not-the-password');
    await fireEvent.click($(container, '#repo-submit'));

    await waitFor(() => expect(container.querySelector('#error')).not.toBeNull());
    const banner = $(container, '#error');
    expect(banner.getAttribute('role')).toBe('alert');
    expect(banner.textContent).toContain('Wrong password: the repository key could not be decrypted.');
    expect($(banner, '.error-code').textContent).toBe('wrong_password');
    // Still on the form, and the user can retry with the right password.
    expect(container.querySelector('#repo-form')).not.toBeNull();
    await type($(container, '#repo-password'), DEMO_PASSWORD);
    await fireEvent.click($(container, '#repo-submit'));
    await waitFor(() => expect(container.querySelector('#dashboard')).not.toBeNull());
    expect(container.querySelector('#error')).toBeNull();
  });

  it('the error banner can be dismissed', async () => {
    const { container } = await renderApp(new MockBackend());
    await fireEvent.click($(container, '#mode-open'));
    await type($(container, '#repo-path'), '/nowhere');
    await type($(container, '#repo-password'), 'x');
    await fireEvent.click($(container, '#repo-submit'));
    await waitFor(() => expect($(container, '#error .error-code').textContent).toBe('not_found'));
    await fireEvent.click($(container, '#error button'));
    expect(container.querySelector('#error')).toBeNull();
  });

  it('creates a repository on S3-compatible storage, with the secret passed apart from the location', async () => {
    const backend = new MockBackend();
    const repoOpen = vi.spyOn(backend, 'repoOpen');
    const { container } = await renderApp(backend);
    await fireEvent.click($(container, '#storage-s3'));
    expect(container.querySelector('#repo-path')).toBeNull();
    await type($(container, '#repo-password'), 'correct horse battery staple');
    await type($(container, '#repo-password-confirm'), 'correct horse battery staple');
    await fireEvent.click($(container, '#repo-submit'));
    expect(repoOpen).not.toHaveBeenCalled();
    expect($(container, '#s3-endpoint-error').textContent).toContain('http:// or https://');
    expect($(container, '#s3-bucket-error').textContent).toContain('bucket');
    expect($(container, '#s3-access-key-id-error').textContent).toContain('access key ID');
    expect($(container, '#s3-secret-access-key-error').textContent).toContain('secret access key');
    expect(document.activeElement?.id).toBe('s3-endpoint');

    await type($(container, '#s3-endpoint'), ' https://s3.eu-central-1.example ');
    await type($(container, '#s3-bucket'), 'backups');
    await type($(container, '#s3-prefix'), '/contoso/mail/');
    await type($(container, '#s3-access-key-id'), 'AKIDEXAMPLE');
    await type($(container, '#s3-secret-access-key'), 's3cr3t/key');
    await fireEvent.click($(container, '#repo-remember'));
    await fireEvent.click($(container, '#repo-submit'));
    expect(repoOpen).toHaveBeenCalledWith({
      location: {
        kind: 's3',
        endpoint: 'https://s3.eu-central-1.example',
        bucket: 'backups',
        region: 'us-east-1',
        prefix: 'contoso/mail',
        accessKeyId: 'AKIDEXAMPLE',
      },
      password: 'correct horse battery staple',
      create: true,
      remember: false,
      s3SecretAccessKey: 's3cr3t/key',
    });
    await waitFor(() => expect(container.querySelector('#dashboard')).not.toBeNull());
    expect($(container, 'header #repo-info').textContent).toContain('s3://backups/contoso/mail');
    expect(backend.keychain.size).toBe(0);
  });

  it('stores the password in the (mock) keychain only when asked to', async () => {
    const backend = new MockBackend();
    const { container } = await renderApp(backend);
    expect(($(container, '#repo-remember') as HTMLInputElement).checked).toBe(true);
    expect($(container, '#repo-remember-hint').textContent).toContain('never stored anywhere else');
    await fireEvent.click($(container, '#mode-open'));
    await type($(container, '#repo-password'), DEMO_PASSWORD);
    await fireEvent.click($(container, '#repo-submit'));
    await waitFor(() => expect(container.querySelector('#dashboard')).not.toBeNull());
    expect(backend.keychain.get(DEMO_REPO_PATH)).toBe(DEMO_PASSWORD);
  });

  it('rates well-known, repeated and sequential passwords as weak', async () => {
    const { container } = await renderApp(new MockBackend());
    for (const weak of ['password123', 'aaaaaaaaaaaaaaaaaaaa', 'abcdefghijklmnop', 'qwerty2024!']) {
      await type($(container, '#repo-password'), weak);
      expect($(container, '#password-strength').dataset.level, weak).toBe('weak');
    }
    const meter = $(container, '#password-strength meter');
    expect(meter.getAttribute('aria-label')).toBe('Password strength');
    expect($(container, '#repo-password').getAttribute('aria-describedby')).toContain('password-warning');
  });
});

